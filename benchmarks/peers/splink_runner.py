"""Splink 5 (DuckDB) deduplication across all provinces, configured as in PEERS.md.

Blocking for prediction: ID; birth date + surname; pinyin name + birth year; phone.
Comparisons: ID Levenshtein ≤ 1, ≤ 2; name exact simplified (term-frequency adjusted) / exact
pinyin / Jaro–Winkler(name) ≥ 0.8 / Jaro–Winkler(pinyin) ≥ 0.9 / else; DateOfBirthComparison on
the ISO string; exact sex; exact phone. Training as in Splink's docs; predict at 0.5, cluster at
0.95 (fixed in advance).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peers.common import PeerResult, StageClock, run_cli
from benchmarks.peers.preprocess import BIRTH_YEAR
from matcher.columns import (
    BIRTH_DATE,
    ID_KEY,
    NAME_PINYIN,
    NAME_SIMPLIFIED,
    PHONE,
    RECORD_ID,
    SEX,
    SURNAME,
)

PREDICT_THRESHOLD = 0.5
CLUSTER_THRESHOLD = 0.95
U_MAX_PAIRS = 1e7
U_SEED = 1


def settings() -> Any:
    """The SettingsCreator of PEERS.md."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel(NAME_SIMPLIFIED),
            cll.ExactMatchLevel(NAME_SIMPLIFIED, term_frequency_adjustments=True),
            cll.ExactMatchLevel(NAME_PINYIN),
            cll.JaroWinklerLevel(NAME_SIMPLIFIED, 0.8),
            cll.JaroWinklerLevel(NAME_PINYIN, 0.9),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=RECORD_ID,
        blocking_rules_to_generate_predictions=[
            block_on(ID_KEY),
            block_on(BIRTH_DATE, SURNAME),
            block_on(NAME_PINYIN, BIRTH_YEAR),
            block_on(PHONE),
        ],
        comparisons=[
            cl.LevenshteinAtThresholds(ID_KEY, [1, 2]),
            name,
            cl.DateOfBirthComparison(BIRTH_DATE, input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch(SEX),
            cl.ExactMatch(PHONE),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def link(records: pd.DataFrame, clock: StageClock) -> PeerResult:
    """Train, predict and cluster with Splink; cluster labels aligned with ``records``."""
    logging.getLogger("splink").setLevel(logging.WARNING)
    with clock.stage("import"):
        from splink import DuckDBAPI, Linker, block_on
    with clock.stage("setup"):
        db_api = DuckDBAPI()
        table = db_api.register(records, dataset_display_name="records")
        linker = Linker(table, settings())
    with clock.stage("train_lambda"):
        linker.training.estimate_probability_two_random_records_match(
            [block_on(ID_KEY, BIRTH_DATE), block_on(NAME_SIMPLIFIED, BIRTH_DATE, PHONE)],
            recall=0.8,
        )
    with clock.stage("train_u"):
        linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=U_SEED)
    with clock.stage("train_em"):
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(ID_KEY), estimate_without_term_frequencies=True
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(BIRTH_DATE, SURNAME), estimate_without_term_frequencies=True
        )
    with clock.stage("block"):
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        candidate_pairs = int(blocked.as_duckdbpyrelation().aggregate("count(*)").fetchall()[0][0])
    with clock.stage("predict"):
        predictions = linker.inference.predict(
            threshold_match_probability=PREDICT_THRESHOLD, warning_mode="never"
        )
    with clock.stage("cluster"):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=CLUSTER_THRESHOLD
        )
        rel = clusters.as_duckdbpyrelation().select(f"{RECORD_ID}, cluster_id")
        arrays = rel.fetchnumpy()
        ids, labels = arrays[RECORD_ID], arrays["cluster_id"]
        cluster = np.empty(len(records), dtype=np.int64)
        cluster[np.asarray(ids, dtype=np.int64)] = pd.factorize(np.asarray(labels))[0]
        predicted_pairs = int(
            predictions.as_duckdbpyrelation().aggregate("count(*)").fetchall()[0][0]
        )
    return PeerResult(
        cluster=cluster,
        candidate_pairs=candidate_pairs,
        stages=clock.stages,
        extra={"pairs_above_predict_threshold": predicted_pairs},
    )


def main() -> int:
    return run_cli("splink", link)


if __name__ == "__main__":
    sys.exit(main())
