"""The ceiling of the comparison step: rapidfuzz's raw pairwise Jaro–Winkler throughput.

Takes the simplified names of a synthetic dataset (the strings every tool compares), draws
random pairs (weighted by frequency), and times ``process.cpdist(..., scorer=JaroWinkler.normalized_similarity)`` with
one worker and with all workers. Best of ``--repeat`` runs.

Run: ``python -m benchmarks.rapidfuzz_ceiling DATA_DIR --pairs 2000000 [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peers.preprocess import normalise_names, read_exports
from matcher.columns import NAME, NAME_SIMPLIFIED


def throughput(left: list[str], right: list[str], workers: int, repeat: int) -> float:
    """Best pairs per second of one batch ``cpdist`` call."""
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler

    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        process.cpdist(left, right, scorer=JaroWinkler.normalized_similarity, workers=workers)
        best = min(best, time.perf_counter() - start)
    return len(left) / best


def measure(names: list[str], n_pairs: int, seed: int = 1, repeat: int = 3) -> dict[str, Any]:
    """Pairs per second on random pairs of ``names``, 1 worker and all workers.

    Pairs are drawn from the distinct strings with their frequency in ``names``, so equal
    names are one object (as after a factorise) and the figure measures the scorer rather
    than cache misses over millions of duplicate string objects.
    """
    rng = np.random.default_rng(seed)
    counts = pd.Series(names).value_counts()
    pool = np.asarray(counts.index.tolist(), dtype=object)
    weights = (counts / counts.sum()).to_numpy()
    left = pool[rng.choice(len(pool), n_pairs, p=weights)].tolist()
    right = pool[rng.choice(len(pool), n_pairs, p=weights)].tolist()
    cpus = os.cpu_count() or 1
    return {
        "scorer": "JaroWinkler.normalized_similarity",
        "pairs": n_pairs,
        "distinct_strings": len(set(names)),
        "mean_length": float(np.mean([len(s) for s in names])),
        "workers_all": cpus,
        "pairs_per_s": {
            "1": throughput(left, right, 1, repeat),
            "all": throughput(left, right, -1, repeat),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.rapidfuzz_ceiling")
    parser.add_argument("data_dir", type=Path, help="folder of provincial exports")
    parser.add_argument("--pairs", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    raw = read_exports(args.data_dir)[NAME].dropna()
    # one string per dose row: names are sampled with their frequency in the data
    names = normalise_names(raw)[NAME_SIMPLIFIED].dropna().tolist()
    result = measure(names, args.pairs, repeat=args.repeat)
    result["strings"] = f"simplified names of {args.data_dir.name}"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
