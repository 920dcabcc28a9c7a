"""Measurements behind docs/decisions/001-recordlinkage-bench-extra.md.

(a) import cost of recordlinkage and what it pins; (b) ``recordlinkage.Index().block()`` against
a plain pandas self-merge on the same key for N records (time, peak memory, pair count), each
in its own subprocess; (c) where the repository imports recordlinkage.

Run: ``python -m benchmarks.recordlinkage_decision --n 1000000 [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.run import run_child

ROOT = Path(__file__).resolve().parents[1]
KEY = "block_key"
METHODS = ["baseline", "recordlinkage", "pandas", "pandas_codes"]


def make_records(n: int, seed: int = 1) -> pd.DataFrame:
    """n records with a birth-date-like key: 40 years of days × sex (~29k keys, ~34 per key)."""
    rng = np.random.default_rng(seed)
    day = rng.integers(0, 365 * 40, n)
    sex = rng.integers(0, 2, n)
    dates = (np.datetime64("1960-01-01") + day.astype("timedelta64[D]")).astype(str)
    key = pd.Series(dates, dtype=object) + np.where(sex == 1, "M", "F")
    return pd.DataFrame({KEY: key.to_numpy()}, index=pd.RangeIndex(n, name="record_id"))


def block_recordlinkage(records: pd.DataFrame) -> int:
    import recordlinkage as rl

    indexer = rl.Index()
    indexer.block(KEY)
    return len(indexer.index(records))


def block_pandas(records: pd.DataFrame) -> int:
    frame = records.reset_index()
    pairs = frame.merge(frame, on=KEY, suffixes=("_l", "_r"))
    pairs = pairs[pairs["record_id_l"] < pairs["record_id_r"]]
    return len(pairs)


def block_pandas_codes(records: pd.DataFrame) -> int:
    """The same merge on the key factorised to int32 codes first (what a core blocker does)."""
    codes = pd.factorize(records[KEY])[0].astype(np.int32)
    frame = pd.DataFrame({"record_id": np.arange(len(records), dtype=np.int32), KEY: codes})
    pairs = frame.merge(frame, on=KEY, suffixes=("_l", "_r"))
    pairs = pairs[pairs["record_id_l"] < pairs["record_id_r"]]
    return len(pairs)


def child(method: str, n: int) -> None:
    """One measurement in this (child) process; prints JSON."""
    records = make_records(n)
    start = time.perf_counter()
    if method == "recordlinkage":
        pairs = block_recordlinkage(records)
    elif method == "pandas":
        pairs = block_pandas(records)
    elif method == "pandas_codes":
        pairs = block_pandas_codes(records)
    else:
        pairs = 0
    print(json.dumps({"method": method, "seconds": time.perf_counter() - start, "pairs": pairs}))


def _best_import_seconds(module: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def import_cost() -> dict[str, Any]:
    """Fresh-interpreter import time of recordlinkage vs its own pandas/numpy base, and pins."""
    base = _best_import_seconds("pandas")
    rl = _best_import_seconds("recordlinkage")
    requires = metadata.requires("recordlinkage") or []
    return {
        "python_startup_plus_pandas_s": base,
        "python_startup_plus_recordlinkage_s": rl,
        "recordlinkage_extra_s": rl - base,
        "requires": requires,
        "pins_pandas_below_3": any(re.search(r"pandas.*<\s*3", r) for r in requires),
        "version": metadata.version("recordlinkage"),
    }


def usages() -> list[str]:
    """Files outside benchmarks/ and tests/ that import recordlinkage."""
    hits = []
    for folder in ("matcher", "api"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if re.search(r"^\s*(import|from)\s+recordlinkage", path.read_text(), re.M):
                hits.append(str(path.relative_to(ROOT)))
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.recordlinkage_decision")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=METHODS)
    parser.add_argument("--log-dir", type=Path, default=ROOT / "benchmarks" / "results" / "runs")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.n)
        return 0
    result: dict[str, Any] = {"n": args.n, "import": import_cost(), "blocking": {}}
    for method in [*METHODS, *METHODS[1:]]:
        log = args.log_dir / f"rl-decision-{method}.log"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.recordlinkage_decision",
            "--child",
            method,
            "--n",
            str(args.n),
        ]
        run = run_child(cmd, log)
        if run.returncode != 0:
            raise RuntimeError(run.log)
        measured = json.loads(log.read_text().strip().splitlines()[-1])
        measured["peak_mb"] = run.peak_mb
        previous = result["blocking"].get(method)
        if previous is None or measured["seconds"] < previous["seconds"]:
            result["blocking"][method] = measured  # best of two runs
    base_mb = result["blocking"]["baseline"]["peak_mb"]
    for method in METHODS[1:]:
        result["blocking"][method]["peak_mb_over_baseline"] = (
            result["blocking"][method]["peak_mb"] - base_mb
        )
    result["imported_by"] = usages()
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
