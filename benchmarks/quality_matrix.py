"""Quality matrix: vaxlink on every scenario, several seeds and two generators, Splink beside it.

A matching change is an improvement only if it holds across the matrix (issue 14). For each
(generator, scenario, seed) the data is generated once and cached, then ``vaxlink link`` (the
default run, with merged histories) and, unless ``--no-splink``, Splink configured as in
PEERS.md run in their own subprocesses on the same files. Reported per cell: pairwise precision,
recall and F1, review pairs as a share of person records, dose rows lost (rejected although they
carry a usable dose date), the share of persons whose merged history is exactly right, and
Splink's F1.

Generators: ``synth`` is ``vaxlink synth --scenario``; ``registry`` is the independent
generator ``benchmarks.registry_synth`` (written from DOMAIN.md without reading vaxlink's), used
when that package is present. Hidden acceptance sets follow DOMAIN.md, not either generator.

Usage::

    python -m benchmarks.quality_matrix                          # 200k, 3 seeds, all scenarios
    python -m benchmarks.quality_matrix --persons 20000 --seeds 1 --no-splink   # a quick look
    python -m benchmarks.quality_matrix --scenarios baseline,reentered_doses --generators synth
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.run import ROOT, run_child
from matcher.evaluate import evaluate_clusters
from matcher.evaluate_histories import evaluate_histories, read_histories
from matcher.synthetic_scenarios import SCENARIOS

GENERATORS = ("synth", "registry")
TODAY = "2023-06-01"
# Figures per cell, in table order: (key, header, format).
COLUMNS = (
    ("precision", "precision", ".4f"),
    ("recall", "recall", ".4f"),
    ("f1", "F1", ".4f"),
    ("splink_f1", "Splink F1", ".4f"),
    ("review_share", "review %", ".2%"),
    ("doses_lost", "doses lost", ",d"),
    ("exact_history", "exact hist.", ".4f"),
    ("link_s", "link s", ".1f"),
)


def registry_available() -> bool:
    """True when the independent generator package is present."""
    return importlib.util.find_spec("benchmarks.registry_synth") is not None


def generate(generator: str, scenario: str, seed: int, persons: int, provinces: int,
             data_dir: Path) -> Path:  # fmt: skip
    """The data of one cell, generated once and cached (a ``.complete`` marker)."""
    out = data_dir / f"{generator}-{scenario}-n{persons}-k{provinces}-s{seed}"
    if (out / ".complete").exists():
        return out
    module = "api.cli" if generator == "synth" else "benchmarks.registry_synth"
    cmd = [sys.executable, "-m", module, *(["synth"] if generator == "synth" else [])]
    cmd += ["--persons", str(persons), "--provinces", str(provinces), "--seed", str(seed)]
    cmd += ["--scenario", scenario, "--out", str(out)]
    child = run_child(cmd, data_dir / f"{out.name}.log")
    if child.returncode != 0:
        raise RuntimeError(f"{generator} failed ({child.returncode}):\n{child.log}")
    (out / ".complete").write_text("")
    return out


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def doses_lost(rejects: pd.DataFrame) -> int:
    """Rejected rows that carried a usable dose date (a rejected dose date is not a loss)."""
    return int((rejects["field"] != "dose_date").sum()) if len(rejects) else 0


def score_vaxlink(data: Path, out: Path) -> dict[str, Any]:
    """Linkage and history scores of one ``vaxlink link`` output folder."""
    truth = _read(data / "truth.csv")
    linkage = evaluate_clusters(truth, _read(out / "persons.csv"))
    records, doses, persons = read_histories(out / "histories.jsonl")
    histories = evaluate_histories(truth, _read(data / "truth_doses.csv"), records, doses, persons)
    summary = json.loads((out / "summary.json").read_text())
    return {
        "precision": linkage.precision,
        "recall": linkage.recall,
        "f1": linkage.f1,
        "review_pairs": summary["review_pairs"],
        "review_share": summary["review_pairs"] / max(summary["person_records"], 1),
        "doses_lost": doses_lost(_read(out / "rejects.csv")),
        "exact_history": histories.exact_share,
        "history_errors": histories.errors_by_cause,
        "recall_by_corruption": {k: v.recall for k, v in linkage.by_corruption.items()},
        "peak_mb": None,
    }


def run_cell(generator: str, scenario: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Generate, link with vaxlink (and Splink), score: one row of the matrix."""
    data = generate(generator, scenario, seed, args.persons, args.provinces, args.data_dir)
    name = data.name
    work = args.work_dir
    row: dict[str, Any] = {"generator": generator, "scenario": scenario, "seed": seed}
    out = work / f"vaxlink-{name}"
    cmd = [sys.executable, "-m", "api.cli", "link", str(data), "--out", str(out), "--today", TODAY]
    child = run_child(cmd, out.with_suffix(".log"))
    if child.returncode != 0:
        return {**row, "status": f"vaxlink failed ({child.returncode})", "log_tail": child.log}
    row.update(score_vaxlink(data, out))
    row.update(link_s=child.wall_s, peak_mb=child.peak_mb, status="ok")
    if not args.no_splink:
        peer = work / f"splink-{name}"
        done = peer / ".complete"
        if not (args.reuse_peers and done.exists()):  # Splink's output depends on the data only
            cmd = [sys.executable, "-m", "benchmarks.peers.splink_runner", str(data)]
            child = run_child([*cmd, "--out", str(peer)], peer.with_suffix(".log"))
            if child.returncode != 0:
                return {**row, "splink_status": f"failed ({child.returncode})"}
            done.write_text(json.dumps({"wall_s": child.wall_s}))
        peer_scores = evaluate_clusters(_read(data / "truth.csv"), _read(peer / "persons.csv"))
        row.update(splink_f1=peer_scores.f1, splink_s=json.loads(done.read_text())["wall_s"])
    return row


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (generator, scenario): the mean over seeds of each figure, and the worst seed's
    precision, recall and exact-history share."""
    out = []
    keys = sorted({(r["generator"], r["scenario"]) for r in rows if r.get("status") == "ok"},
                  key=lambda k: (GENERATORS.index(k[0]), list(SCENARIOS).index(k[1])))  # fmt: skip
    for generator, scenario in keys:
        cell = [r for r in rows if (r["generator"], r["scenario"]) == (generator, scenario)]
        cell = [r for r in cell if r.get("status") == "ok"]
        summary: dict[str, Any] = {"generator": generator, "scenario": scenario,
                                   "seeds": [r["seed"] for r in cell]}  # fmt: skip
        for key, _, _ in COLUMNS:
            values = [r[key] for r in cell if r.get(key) is not None]
            summary[key] = statistics.fmean(values) if values else None
        if summary["doses_lost"] is not None:
            summary["doses_lost"] = int(round(summary["doses_lost"]))
        for key in ("precision", "recall", "exact_history"):
            summary[f"worst_{key}"] = min(r[key] for r in cell)
        out.append(summary)
    return out


def format_table(summaries: list[dict[str, Any]]) -> str:
    """A Markdown table, one line per (generator, scenario): means over seeds."""
    head = ["generator", "scenario", "seeds", *(h for _, h, _ in COLUMNS), "worst recall"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        cells = [s["generator"], s["scenario"], str(len(s["seeds"]))]
        cells += ["-" if s[k] is None else format(s[k], f) for k, _, f in COLUMNS]
        cells.append(format(s["worst_recall"], ".4f"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks.quality_matrix", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--provinces", type=int, default=10)
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--generators", default=",".join(GENERATORS))
    parser.add_argument("--no-splink", action="store_true", help="skip the Splink column")
    parser.add_argument(
        "--no-reuse-peers",
        dest="reuse_peers",
        action="store_false",
        help="run Splink again even where its output on the same data exists",
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "matrix")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "results" / "runs" / "matrix")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "quality_matrix.json")
    args = parser.parse_args(argv)
    generators = [g for g in args.generators.split(",") if g]
    if "registry" in generators and not registry_available():
        print("benchmarks.registry_synth not found: the registry generator is skipped")
        generators.remove("registry")
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    args.data_dir.mkdir(parents=True, exist_ok=True)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    cells = [(g, s, seed) for g in generators for s in scenarios for seed in seeds]
    started = time.perf_counter()
    for i, (generator, scenario, seed) in enumerate(cells, 1):
        row = run_cell(generator, scenario, seed, args)
        rows.append(row)
        figures = " ".join(
            f"{h}={format(row[k], f)}" for k, h, f in COLUMNS if row.get(k) is not None
        )
        print(f"[{i}/{len(cells)}] {generator} {scenario} seed {seed}: "
              f"{row.get('status')} {figures}", flush=True)  # fmt: skip
    summaries = summarise(rows)
    table = format_table(summaries)
    print(f"\n{args.persons:,} persons, {args.provinces} provinces, seeds {args.seeds} "
          f"({time.perf_counter() - started:.0f} s)\n")  # fmt: skip
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"persons": args.persons, "provinces": args.provinces, "seeds": seeds,
              "rows": rows, "summary": summaries, "table": table}  # fmt: skip
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
