"""recordlinkage 0.16 deduplication, configured as in PEERS.md.

Index: block on ID; block on birth date + surname; sorted neighbourhood on pinyin (window 3)
within birth year; block on phone; union. Compare: 8 binary features. Unsupervised
``ECMClassifier``; clusters by connected components.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from benchmarks.peers.common import PeerResult, StageClock, components, run_cli
from benchmarks.peers.preprocess import BIRTH_YEAR
from matcher.columns import (
    BIRTH_DATE,
    ID_KEY,
    NAME_PINYIN,
    NAME_SIMPLIFIED,
    PHONE,
    SEX,
    SURNAME,
)

FEATURES = (
    "id_exact",
    "id_lev",
    "name_jw",
    "pinyin_exact",
    "birth_exact",
    "birth_lev",
    "sex_exact",
    "phone_exact",
)


def link(records: pd.DataFrame, clock: StageClock) -> PeerResult:
    """Index, compare, classify (ECM) and cluster; cluster labels aligned with ``records``."""
    with clock.stage("import"):
        import recordlinkage as rl
        from recordlinkage.index import Block, SortedNeighbourhood
    frame = records.set_index(np.arange(len(records)))
    with clock.stage("index"):
        indexer = rl.Index()
        indexer.add(Block(ID_KEY))
        indexer.add(Block([BIRTH_DATE, SURNAME]))
        indexer.add(SortedNeighbourhood(NAME_PINYIN, window=3, block_on=[BIRTH_YEAR]))
        indexer.add(Block(PHONE))
        pairs = indexer.index(frame)
    with clock.stage("compare"):
        compare = rl.Compare(n_jobs=1)
        compare.exact(ID_KEY, ID_KEY, label="id_exact")
        compare.string(ID_KEY, ID_KEY, method="levenshtein", threshold=0.85, label="id_lev")
        compare.string(
            NAME_SIMPLIFIED, NAME_SIMPLIFIED, method="jarowinkler", threshold=0.8, label="name_jw"
        )
        compare.exact(NAME_PINYIN, NAME_PINYIN, label="pinyin_exact")
        compare.exact(BIRTH_DATE, BIRTH_DATE, label="birth_exact")
        compare.string(
            BIRTH_DATE, BIRTH_DATE, method="levenshtein", threshold=0.85, label="birth_lev"
        )
        compare.exact(SEX, SEX, label="sex_exact")
        compare.exact(PHONE, PHONE, label="phone_exact")
        features = compare.compute(pairs, frame)
    with clock.stage("classify"):
        ecm = rl.ECMClassifier()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matches = ecm.fit_predict(features)
    with clock.stage("cluster"):
        left = matches.get_level_values(0).to_numpy(dtype=np.int64)
        right = matches.get_level_values(1).to_numpy(dtype=np.int64)
        cluster = components(len(records), left, right)
    return PeerResult(
        cluster=cluster,
        candidate_pairs=len(pairs),
        stages=clock.stages,
        extra={"pairs_classified_match": len(matches)},
    )


def main() -> int:
    return run_cli("recordlinkage", link)


if __name__ == "__main__":
    sys.exit(main())
