"""What every peer runner shares: a stage clock, the command line, the output files."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from benchmarks.peers.preprocess import clusters_to_persons, preprocess, read_exports


@dataclass
class StageClock:
    """Wall seconds per named stage, in order."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


@dataclass
class PeerResult:
    """A peer's clustering of the preprocessed records plus what it cost."""

    cluster: np.ndarray  # cluster label per record, aligned with the records frame
    candidate_pairs: int
    stages: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label per record from accepted pairs."""
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_cli(tool: str, link: Callable[[pd.DataFrame, StageClock], PeerResult]) -> int:
    """``python -m benchmarks.peers.<tool>_runner DATA_DIR --out OUT``.

    Reads the exports, preprocesses (timed as the peers' own stages), links, and writes
    ``OUT/persons.csv`` (source, person_ref, person_id) and ``OUT/summary.json``.
    """
    parser = argparse.ArgumentParser(prog=f"benchmarks.peers.{tool}_runner")
    parser.add_argument("data_dir", type=Path, help="folder of provincial exports <code>.csv")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args()
    total_start = time.perf_counter()
    clock = StageClock()
    with clock.stage("read"):
        doses = read_exports(args.data_dir)
    pre_steps: dict[str, float] = {}
    with clock.stage("preprocess"):
        records = preprocess(doses, pre_steps)
    n_doses = len(doses)
    del doses
    result = link(records, clock)
    with clock.stage("write"):
        args.out.mkdir(parents=True, exist_ok=True)
        clusters_to_persons(records, result.cluster).to_csv(args.out / "persons.csv", index=False)
    summary = {
        "tool": tool,
        "dose_rows": n_doses,
        "records": len(records),
        "candidate_pairs": result.candidate_pairs,
        "stages": clock.stages,
        "preprocess_steps": pre_steps,
        "in_process_seconds": time.perf_counter() - total_start,
        "peak_rss_mb_self": peak_rss_mb(),
        **result.extra,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({"tool": tool, "stages": clock.stages}), file=sys.stderr)
    return 0
