"""``make bench``: vaxlink against Splink and recordlinkage on the same synthetic provinces.

For each size in ``--sizes`` the synthetic data is generated once with ``vaxlink synth`` and
cached under ``benchmarks/data/``. Every tool then runs end to end from the files in its own
subprocess, so its wall time includes start-up, reading and preprocessing, and its peak memory
is that child's own ``ru_maxrss`` as returned by ``os.wait4`` in a small launcher process
(Linux: the largest resident set of the child or of any descendant it waited for; not a sum
over concurrent processes). All tools are scored by the same function
(:func:`benchmarks.peers.evaluate.evaluate_persons`) on their ``persons.csv``.

Prints one table and writes ``benchmarks/results/latest.json``.

Usage::

    python -m benchmarks.run                      # 10k, 100k, 1M + FEBRL4 + ceiling
    python -m benchmarks.run --quick              # 10k only
    python -m benchmarks.run --sizes 100000 --tools splink,recordlinkage --skip-slow
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.peers.evaluate import evaluate_persons

ROOT = Path(__file__).resolve().parent
# vaxlink-ids: identity resolution only (`vaxlink link --no-histories`), the same outputs as the
# peers; vaxlink: the whole job including merged dose histories (histories.jsonl).
TOOLS = ("vaxlink-ids", "vaxlink", "splink", "recordlinkage")
PEERS = ("splink", "recordlinkage")
SLOW_LIMIT_S = 15 * 60  # --skip-slow: recordlinkage is skipped or stopped beyond this
DEFAULT_SIZES = "10000,100000,1000000"


# --- running one child ---------------------------------------------------------------------
@dataclass
class ChildRun:
    """Exit status, wall time and peak memory of one subprocess."""

    returncode: int | None
    wall_s: float
    peak_mb: float
    timed_out: bool = False
    log: str = ""


# A tiny launcher between the orchestrator and the tool. Linux carries a process's peak RSS
# across fork and exec, so a tool forked straight from this (by then large) orchestrator would
# report at least the orchestrator's size; forked from the ~15 MB launcher it reports its own.
_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    json.dump({"wall_s": wall, "maxrss_kb": usage.ru_maxrss}, f)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_child(cmd: list[str], log_path: Path, timeout_s: float | None = None) -> ChildRun:
    """Run ``cmd`` through the launcher; its wall time and its own peak RSS (``os.wait4``)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    usage_path = log_path.with_suffix(".rusage.json")
    usage_path.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TERM": "dumb"}
    launcher = [sys.executable, "-c", _LAUNCHER, str(usage_path), *cmd]
    with log_path.open("w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            launcher, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
        try:
            proc.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            timed_out = True
        wall = time.perf_counter() - start
    peak_mb = 0.0
    if usage_path.exists():
        usage = json.loads(usage_path.read_text())
        wall, peak_mb = usage["wall_s"], usage["maxrss_kb"] / 1024
    tail = log_path.read_text(errors="replace")[-2000:]
    return ChildRun(proc.returncode, wall, peak_mb, timed_out, tail)


# --- synthetic data --------------------------------------------------------------------------
def ensure_synthetic(n: int, provinces: int, seed: int, data_dir: Path) -> dict[str, Any]:
    """Generate ``vaxlink synth`` data once per (n, provinces, seed); cached with a marker."""
    out = data_dir / f"synth-n{n}-k{provinces}-s{seed}"
    marker = out / ".complete.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        info["cached"] = True
        return info
    cmd = [sys.executable, "-m", "api.cli", "synth", "--persons", str(n)]
    cmd += ["--provinces", str(provinces), "--seed", str(seed), "--out", str(out)]
    child = run_child(cmd, data_dir / f"synth-n{n}.log")
    if child.returncode != 0:
        raise RuntimeError(f"vaxlink synth failed ({child.returncode}):\n{child.log}")
    info = {
        "dir": str(out),
        "persons": n,
        "provinces": provinces,
        "seed": seed,
        "wall_s": child.wall_s,
        "peak_mb": child.peak_mb,
    }
    marker.write_text(json.dumps(info, indent=2))
    info["cached"] = False
    return info


# --- one tool on one dataset -----------------------------------------------------------------
def _tool_command(tool: str, data: Path, out: Path) -> list[str]:
    if tool == "vaxlink":
        return [sys.executable, "-m", "api.cli", "link", str(data), "--out", str(out)]
    if tool == "vaxlink-ids":
        link = [sys.executable, "-m", "api.cli", "link", str(data), "--out", str(out)]
        return [*link, "--no-histories"]
    return [sys.executable, "-m", f"benchmarks.peers.{tool}_runner", str(data), "--out", str(out)]


def _stages_from_summary(summary: dict[str, Any]) -> dict[str, float]:
    """Stage seconds from a summary.json (vaxlink: ``stage_seconds``; peers: ``stages``)."""
    for key in ("stage_seconds", "stages", "timings", "seconds"):
        raw = summary.get(key)
        if isinstance(raw, dict):
            stages = {}
            for name, value in raw.items():
                if isinstance(value, dict):
                    value = value.get("seconds", value.get("wall_s"))
                if isinstance(value, int | float):
                    stages[str(name)] = float(value)
            return stages
    return {}


def _candidate_pairs(summary: dict[str, Any]) -> int | None:
    value = summary.get("candidate_pairs")
    if isinstance(value, dict):
        value = value.get("total", sum(v for v in value.values() if isinstance(v, int)))
    return int(value) if isinstance(value, int | float) else None


def run_tool(
    tool: str, data: Path, work: Path, dataset: str, timeout_s: float | None, *, run: int = 1
) -> dict[str, Any]:
    """Run one tool as a child and score its persons.csv against the truth."""
    out = work / (f"{tool}-{dataset}" if run == 1 else f"{tool}-{dataset}-run{run}")
    child = run_child(_tool_command(tool, data, out), out.with_suffix(".log"), timeout_s)
    row: dict[str, Any] = {
        "tool": tool,
        "dataset": dataset,
        "total_s": child.wall_s,
        "peak_mb": child.peak_mb,
        "out": str(out),
    }
    if child.timed_out:
        return {**row, "status": f"stopped after {timeout_s:.0f} s"}
    if child.returncode != 0:
        return {**row, "status": f"failed ({child.returncode})", "log_tail": child.log}
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    row["stages"] = _stages_from_summary(summary)
    row["candidate_pairs"] = _candidate_pairs(summary)
    row["records"] = summary.get("records", summary.get("person_records"))
    truth = pd.read_csv(data / "truth.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(out / "persons.csv", dtype=str, keep_default_na=False)
    row.update(evaluate_persons(truth, persons))
    row["status"] = "ok"
    return row


def fastest_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for a tool's repeated runs on a dataset: the fastest successful run's time,
    stages and scores, every run's time in ``runs_s``, and the largest peak memory of all.

    The tools are deterministic (seeded), so every successful run scores the same; a run that
    scores differently is kept in ``runs_f1`` for inspection.
    """
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return runs[-1]
    best = dict(min(ok, key=lambda r: r["total_s"]))
    best["runs_s"] = [r.get("total_s") for r in runs]
    best["peak_mb"] = max(r["peak_mb"] for r in ok)
    f1s = {r.get("f1") for r in ok}
    if len(f1s) > 1:
        best["runs_f1"] = [r.get("f1") for r in ok]
    return best


def run_febrl(tool: str, work: Path) -> dict[str, Any]:
    """One tool on FEBRL4 (vaxlink through its generic profile)."""
    out = work / f"{tool}-febrl4"
    cmd = [sys.executable, "-m", "benchmarks.peers.febrl", "--tool", tool, "--out", str(out)]
    child = run_child(cmd, out.with_suffix(".log"))
    row: dict[str, Any] = {
        "tool": tool,
        "dataset": "febrl4",
        "total_s": child.wall_s,
        "peak_mb": child.peak_mb,
        "out": str(out),
    }
    if child.returncode != 0:
        return {**row, "status": f"failed ({child.returncode})", "log_tail": child.log}
    summary = json.loads((out / "summary.json").read_text())
    row.update(summary["metrics"])
    row.update(
        stages=summary["stages"],
        candidate_pairs=summary["candidate_pairs"],
        records=summary["records"],
        status="ok",
    )
    return row


def run_ceiling(data: Path, work: Path, n_pairs: int) -> dict[str, Any]:
    """rapidfuzz's raw Jaro–Winkler throughput on the dataset's names (its own child)."""
    out = work / "rapidfuzz-ceiling.json"
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.rapidfuzz_ceiling",
        str(data),
        "--pairs",
        str(n_pairs),
        "--json",
        str(out),
    ]
    child = run_child(cmd, out.with_suffix(".log"))
    if child.returncode != 0:
        return {"status": f"failed ({child.returncode})", "log_tail": child.log}
    return json.loads(out.read_text())


# --- report --------------------------------------------------------------------------------
# Ratio keys per vaxlink run: the default run (merged histories too) and identities only.
RATIO_KEYS = (("vaxlink", "vaxlink"), ("vaxlink-ids", "vaxlink_ids"))


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Each vaxlink run's wall time divided by each peer's, per dataset (< 1: vaxlink is faster).

    ``vaxlink_time_ratio`` for the default run (``vaxlink``: identities and merged dose
    histories, the job as users run it), ``vaxlink_ids_time_ratio`` for identity resolution
    only (``vaxlink-ids``: the same outputs as the peers); the inverses as ``…_speedup``.
    """
    for tool, key in RATIO_KEYS:
        times = {
            r["dataset"]: r["total_s"]
            for r in rows
            if r["tool"] == tool and r.get("status") == "ok"
        }
        for r in rows:
            if r["tool"] in PEERS and r.get("status") == "ok" and r["dataset"] in times:
                r[f"{key}_time_ratio"] = times[r["dataset"]] / r["total_s"]
                r[f"{key}_speedup"] = r["total_s"] / times[r["dataset"]]


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: list[dict[str, Any]]) -> str:
    """One plain-text table: totals, memory, pairs, quality, ratio, then stage times."""
    head = (
        "tool",
        "dataset",
        "total s",
        "runs s",
        "peak MB",
        "cand. pairs",
        "precision",
        "recall",
        "F1",
        "vx/peer",
        "ids/peer",
        "stages (s)",
    )
    lines = []
    for r in rows:
        stages = r.get("stages") or {}
        stage_text = " ".join(f"{k} {v:.1f}" for k, v in stages.items() if v >= 0.05)
        if r.get("status") != "ok":
            stage_text = r.get("status", "")
        lines.append(
            (
                r["tool"],
                r["dataset"],
                _fmt(r.get("total_s"), ".1f"),
                "/".join(f"{t:.1f}" for t in r.get("runs_s") or [] if t is not None) or "-",
                _fmt(r.get("peak_mb"), ".0f"),
                _fmt(r.get("candidate_pairs"), ",d"),
                _fmt(r.get("precision"), ".4f"),
                _fmt(r.get("recall"), ".4f"),
                _fmt(r.get("f1"), ".4f"),
                _fmt(r.get("vaxlink_time_ratio"), ".2f"),
                _fmt(r.get("vaxlink_ids_time_ratio"), ".2f"),
                stage_text,
            )
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
    widths[-1] = 0

    def render(cells: tuple[str, ...]) -> str:
        return "  ".join(
            str(c).ljust(w) if i < 2 or i == len(cells) - 1 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    sep = "  ".join("-" * w for w in widths[:-1]) + "  " + "-" * 10
    return "\n".join([render(head), sep, *(render(line) for line in lines)])


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("vaxlink", "splink", "duckdb", "recordlinkage", "pandas", "numpy", "rapidfuzz"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _machine() -> dict[str, Any]:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {"cpus": os.cpu_count(), "memory_gb": round(mem_gb, 1), "platform": platform.platform()}


@dataclass
class Report:
    """Everything written to latest.json."""

    started: str
    machine: dict[str, Any]
    versions: dict[str, str]
    args: dict[str, Any]
    synth: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    ceiling: dict[str, Any] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, default=str))
        tmp.replace(path)


def _label(n: int) -> str:
    return (
        f"synth-{n // 1_000_000}M"
        if n >= 1_000_000 and n % 1_000_000 == 0
        else (f"synth-{n // 1000}k" if n % 1000 == 0 else f"synth-{n}")
    )


def _rl_estimate(rows: list[dict[str, Any]], n: int) -> float | None:
    """recordlinkage's expected seconds at n persons, extrapolated from the largest smaller run."""
    done = [
        (r["persons"], r["total_s"])
        for r in rows
        if r["tool"] == "recordlinkage" and r.get("status") == "ok" and "persons" in r
    ]
    if not done:
        return None
    prev_n, prev_s = max(done)
    return prev_s * (n / prev_n) * 1.2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default=DEFAULT_SIZES, help="persons per synthetic dataset")
    p.add_argument("--quick", action="store_true", help="10k persons only")
    p.add_argument("--provinces", type=int, default=31)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help="subset of vaxlink-ids,vaxlink,splink,recordlinkage",
    )
    p.add_argument(
        "--skip-slow",
        action="store_true",
        help="skip or stop recordlinkage where it would exceed 15 minutes",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs per tool and synthetic dataset, in round robin; the fastest is reported "
        "(all are kept in runs_s)",
    )
    p.add_argument("--no-febrl", action="store_true", help="skip FEBRL4")
    p.add_argument("--no-ceiling", action="store_true", help="skip the rapidfuzz ceiling")
    p.add_argument("--ceiling-pairs", type=int, default=2_000_000)
    p.add_argument("--data-dir", type=Path, default=ROOT / "data")
    p.add_argument("--work-dir", type=Path, default=ROOT / "results" / "runs")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "latest.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        raise SystemExit(f"unknown tools: {sorted(unknown)}")
    report = Report(
        time.strftime("%Y-%m-%dT%H:%M:%S"),
        _machine(),
        _versions(),
        {k: str(v) for k, v in vars(args).items()},
    )
    largest: Path | None = None
    for n in sizes:
        dataset = _label(n)
        print(f"[bench] {dataset}: synthetic data …", file=sys.stderr)
        info = ensure_synthetic(n, args.provinces, args.seed, args.data_dir)
        report.synth.append(info)
        data = Path(info["dir"])
        largest = data
        runs: dict[str, list[dict[str, Any]]] = {}
        timeouts: dict[str, float] = {}
        if "recordlinkage" in tools and args.skip_slow:
            estimate = _rl_estimate(report.rows, n)
            if estimate is not None and estimate > SLOW_LIMIT_S:
                status = f"skipped (estimated {estimate:.0f} s)"
                runs["recordlinkage"] = [
                    {"tool": "recordlinkage", "dataset": dataset, "status": status}
                ]
            timeouts["recordlinkage"] = SLOW_LIMIT_S
        # Round robin (every tool once, then again), so drift on the machine between repeats
        # falls on every tool alike.
        for run in range(1, args.repeat + 1):
            for tool in tools:
                if any(r.get("status") != "ok" for r in runs.get(tool, [])):
                    continue  # skipped, failed or stopped: not run again
                print(f"[bench] {dataset}: {tool} (run {run}) …", file=sys.stderr)
                row = run_tool(tool, data, args.work_dir, dataset, timeouts.get(tool), run=run)
                runs.setdefault(tool, []).append(row)
        for tool in tools:
            if tool in runs:
                row = fastest_run(runs[tool])
                row["persons"] = n
                report.rows.append(row)
        report.write(args.out)
    if not args.no_febrl:
        for tool in tools:
            if tool in PEERS or tool == "vaxlink":
                print(f"[bench] febrl4: {tool} …", file=sys.stderr)
                report.rows.append(run_febrl(tool, args.work_dir))
    if not args.no_ceiling and largest is not None:
        print("[bench] rapidfuzz ceiling …", file=sys.stderr)
        report.ceiling = run_ceiling(largest, args.work_dir, args.ceiling_pairs)
        _compare_to_ceiling(report)
    add_ratios(report.rows)
    report.write(args.out)
    print(format_table(report.rows))
    if report.ceiling.get("pairs_per_s"):
        c = report.ceiling
        print(
            f"\nrapidfuzz JaroWinkler cpdist on {c['strings']}: "
            f"{c['pairs_per_s']['1']:,.0f} pairs/s (1 worker), "
            f"{c['pairs_per_s']['all']:,.0f} pairs/s ({c['workers_all']} workers)"
        )
        for tool_row in report.rows:
            if "compare_pairs_per_s" in tool_row:
                print(
                    f"{tool_row['tool']} {tool_row['dataset']} compare stage: "
                    f"{tool_row['compare_pairs_per_s']:,.0f} candidate pairs/s "
                    f"= {tool_row['compare_vs_ceiling']:.0%} of the all-workers ceiling"
                )
    print(f"\nwritten {args.out}", file=sys.stderr)
    return 0


def _compare_to_ceiling(report: Report) -> None:
    """Candidate pairs per second of vaxlink's compare stage, against the raw ceiling."""
    ceiling = (report.ceiling.get("pairs_per_s") or {}).get("all")
    if not ceiling:
        return
    for row in report.rows:
        compare_s = (row.get("stages") or {}).get("compare")
        if row["tool"] == "vaxlink" and compare_s and row.get("candidate_pairs"):
            row["compare_pairs_per_s"] = row["candidate_pairs"] / compare_s
            row["compare_vs_ceiling"] = row["compare_pairs_per_s"] / ceiling


if __name__ == "__main__":
    sys.exit(main())
