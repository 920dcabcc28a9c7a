"""Spark engine against pandas engine: time and peak memory per stage, and agreement.

For each size: synthetic provinces (``vaxlink synth --persons N``), then ``vaxlink link``
with each engine as a niced subprocess. Times per stage come from summary.json; memory is
the peak resident memory of the whole process tree (Python driver, JVM, Python workers)
sampled every 0.25 s, per stage (the Spark engine logs each stage as it starts) and overall.
Where both engines ran, persons.csv is compared as clusterings (pairwise precision, recall,
F1) and histories.jsonl line by line.

Run as ``python -m benchmarks.spark_scale --sizes 100000,1000000``; results are merged into
benchmarks/results/spark_scale.json and the table in spark_scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TODAY = "2026-11-26"
_STAGE_LINE = re.compile(r"stage (\w+) \(")


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, in MB (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 1e6


def run_link(data: Path, out: Path, engine: str, extra: Sequence[str]) -> dict[str, Any]:
    """One ``vaxlink link`` run: its summary, wall time and peak tree memory per stage."""
    command = [
        "nice", sys.executable, "-m", "api.cli", "link", str(data), "--out", str(out),
        "--today", TODAY, "--engine", engine, *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    peaks: dict[str, float] = {}
    current = ["start"]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            mb = _tree_rss_mb(process.pid)
            peaks[current[0]] = max(peaks.get(current[0], 0.0), mb)
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tail: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        tail = [*tail[-40:], line]
        match = _STAGE_LINE.search(line)
        if match:
            current[0] = match.group(1)
    process.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{engine} link failed ({process.returncode}):\n{''.join(tail)}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "wall_seconds": round(wall, 1),
        "stage_seconds": summary["stage_seconds"],
        "driver_peak_rss_mb": summary["peak_rss_mb"],
        "tree_peak_rss_mb": round(max(peaks.values(), default=0.0), 1),
        "tree_peak_rss_mb_per_stage": {k: round(v, 1) for k, v in peaks.items()},
        "person_records": summary["person_records"],
        "persons": summary["persons"],
        "candidate_pairs": summary["candidate_pairs"],
        "dose_rows": summary["dose_rows_accepted"],
    }


def pairwise_agreement(a: Path, b: Path) -> dict[str, float | int]:
    """Pairwise precision/recall/F1 of clustering ``b`` against ``a`` (persons.csv files)."""
    left = pd.read_csv(a, dtype=str, keep_default_na=False)
    right = pd.read_csv(b, dtype=str, keep_default_na=False)
    key = ["source", "person_ref"]
    both = left.merge(right, on=key, suffixes=("_a", "_b"), validate="one_to_one")

    def pairs(counts: pd.Series) -> int:
        return int((counts * (counts - 1) // 2).sum())

    in_a = pairs(both.groupby("person_id_a").size())
    in_b = pairs(both.groupby("person_id_b").size())
    common = pairs(both.groupby(["person_id_a", "person_id_b"]).size())
    precision = common / in_b if in_b else 1.0
    recall = common / in_a if in_a else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": len(both),
        "records_only_in_one": len(left) + len(right) - 2 * len(both),
        "pairs_a": in_a,
        "pairs_b": in_b,
        "pairs_common": common,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "same_person_ids": bool((both["person_id_a"] == both["person_id_b"]).all()),
    }


def compare_histories(a: Path, b: Path) -> dict[str, Any]:
    """Line-for-line equality of two histories.jsonl files."""
    x, y = a.read_bytes(), b.read_bytes()
    lines_x, lines_y = x.splitlines(), y.splitlines()
    return {
        "byte_identical": x == y,
        "lines": len(lines_x),
        "lines_differing": len(set(lines_x) ^ set(lines_y)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated persons")
    parser.add_argument("--engines", default="pandas,spark")
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "spark_scale")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--partitions", default="8", help="spark.sql.shuffle.partitions")
    args = parser.parse_args(argv)
    results_path = RESULTS / "spark_scale.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault(
        "machine", {"cores": os.cpu_count(), "note": "shared with other jobs; runs niced"}
    )
    runs = results.setdefault("runs", {})
    for size in [int(s) for s in args.sizes.split(",")]:
        data = args.data / f"synth-{size}"
        if not (data / "truth.csv").exists():
            subprocess.run(
                ["nice", sys.executable, "-m", "api.cli", "synth", "--persons", str(size), "--out", str(data)],
                cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        entry = runs.setdefault(str(size), {})
        for engine in args.engines.split(","):
            extra = []
            if engine == "spark":
                extra = [
                    "--spark-master", args.spark_master,
                    "--conf", f"spark.driver.memory={args.driver_memory}",
                    "--conf", f"spark.sql.shuffle.partitions={args.partitions}",
                ]  # fmt: skip
            print(f"{size:,} persons: {engine} …", flush=True)
            entry[engine] = run_link(data, args.data / f"out-{size}-{engine}", engine, extra)
            print(
                f"  {entry[engine]['wall_seconds']} s, tree peak {entry[engine]['tree_peak_rss_mb']} MB"
            )
            results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        outs = [args.data / f"out-{size}-{e}" for e in ("pandas", "spark")]
        if all((o / "persons.csv").exists() for o in outs):
            entry["agreement"] = pairwise_agreement(
                outs[0] / "persons.csv", outs[1] / "persons.csv"
            )
            entry["histories"] = compare_histories(
                outs[0] / "histories.jsonl", outs[1] / "histories.jsonl"
            )
            entry["pairs_csv_identical"] = (outs[0] / "pairs.csv").read_bytes() == (
                outs[1] / "pairs.csv"
            ).read_bytes()
            print(
                f"  F1 {entry['agreement']['f1']:.6f}; histories identical: {entry['histories']['byte_identical']}"
            )
        results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / "spark_scale.md").write_text(render(results))
    return 0


def render(results: dict[str, Any]) -> str:
    """The markdown table of every recorded run."""
    lines = [
        "# Spark engine vs pandas engine (local, 2 shared cores)",
        "",
        "Generated by `python -m benchmarks.spark_scale`; seconds per stage (summary.json) and",
        "peak resident memory of the whole process tree (driver + JVM + Python workers).",
        "",
        "| persons | engine | wall s | read | normalise | records | block | compare | train | score | cluster | write | histories | peak MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stages = (
        "read",
        "normalise",
        "records",
        "block",
        "compare",
        "train",
        "score",
        "cluster",
        "write",
        "histories",
    )
    agreement = []
    for size, entry in sorted(results.get("runs", {}).items(), key=lambda kv: int(kv[0])):
        for engine in ("pandas", "spark"):
            run = entry.get(engine)
            if run is None:
                continue
            cells = [f"{run['stage_seconds'].get(s, 0):.1f}" for s in stages]
            lines.append(
                f"| {int(size):,} | {engine} | {run['wall_seconds']:.0f} | {' | '.join(cells)} | {run['tree_peak_rss_mb']:.0f} |"
            )
        if "agreement" in entry:
            a, h = entry["agreement"], entry["histories"]
            agreement.append(
                f"| {int(size):,} | {a['f1']:.6f} | {a['precision']:.6f} | {a['recall']:.6f} | "
                f"{a['same_person_ids']} | {h['byte_identical']} | {entry['pairs_csv_identical']} |"
            )
    if agreement:
        lines += [
            "",
            "Agreement of the two engines (persons.csv as clusterings; files compared byte for byte):",
            "",
            "| persons | pairwise F1 | precision | recall | same person ids | histories.jsonl identical | pairs.csv identical |",
            "|---:|---:|---:|---:|---|---|---|",
            *agreement,
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
