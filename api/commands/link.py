"""``vaxlink link``: resolve identities across provincial exports and merge dose histories."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from api.allocator import keep_freed_memory, leave_to_exit, paused_garbage_collector
from api.outputs import pairs_frame, persons_frame, write_csv, write_json
from api.progress import StageProgress
from matcher.engines import ENGINES, LinkJob, get_engine
from matcher.engines import STAGES as ENGINE_STAGES
from matcher.pipeline import peak_rss_mb
from matcher.scoring import FSModel
from matcher.settings import MatchSettings

logger = logging.getLogger("vaxlink.link")

# Modules only some runs need (--profile, --generic, FHIR) are imported where used:
# start-up time counts in every run.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vaxlink link``."""
    parser.add_argument("inputs", nargs="+", type=Path, help="export files or folders of them")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--profile", type=Path, help="TOML mapping profile for the exports")
    parser.add_argument("--model", type=Path, help="reuse a trained model.json (skip training)")
    parser.add_argument("--settings", type=Path, help="MatchSettings JSON (thresholds, blocking)")
    parser.add_argument(
        "--today", help="date treated as today for future-date checks (default: today)"
    )
    parser.add_argument(
        "--format", choices=["jsonl", "fhir"], default="jsonl", help="history output format"
    )
    parser.add_argument(
        "--no-histories",
        dest="histories",
        action="store_false",
        help="resolve identities only: skip merged dose histories (histories.jsonl)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="pandas",
        help="pandas: one process (default); spark: Apache Spark (needs the spark extra, Java)",
    )
    parser.add_argument(
        "--spark-master",
        default="local[2]",
        help="Spark master URL with --engine spark (local[2], spark://host:7077, yarn)",
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting with --engine spark (repeatable), e.g. spark.driver.memory=6g",
    )
    parser.add_argument(
        "--generic",
        type=Path,
        metavar="PROFILE",
        help="link one or two CSV files of another schema with a generic TOML profile "
        "(e.g. docs/profiles/generic/febrl4.toml) instead of vaccination exports",
    )


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """Constructor options of the chosen engine."""
    if args.engine != "spark":
        return {}
    conf: dict[str, str] = {}
    for item in args.conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            print(f"vaxlink link: error: --conf expects KEY=VALUE, got {item!r}", file=sys.stderr)
            raise SystemExit(2)
        conf[key.strip()] = value.strip()
    return {"master": args.spark_master, "conf": conf}


def run(args: argparse.Namespace) -> int:
    """Run the link job end to end and write every output file."""
    started = time.perf_counter()
    keep_freed_memory()
    with paused_garbage_collector():
        return _run(args, started)


def _run(args: argparse.Namespace, started: float) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.generic is not None:
        return _run_generic(args, out)
    settings = MatchSettings.from_path(args.settings) if args.settings else MatchSettings()
    model = FSModel.load(args.model) if args.model else None
    profile = None
    if args.profile:
        from matcher.profiles import load_profile

        profile = load_profile(args.profile)
    today = pd.Timestamp(args.today) if args.today else pd.Timestamp.today().normalize()
    engine = get_engine(args.engine, **_engine_options(args))
    job = LinkJob(
        inputs=tuple(args.inputs), settings=settings, today=today, model=model, profile=profile
    )

    # "write": the identity outputs; "histories": merged histories and histories.jsonl.
    stages = (*ENGINE_STAGES, "write", "histories")
    with StageProgress(stages, description=f"link ({engine.name})") as progress:
        output = engine.link(job, progress.advance)
        result, rejects, issues = output.result, output.rejects, output.issues
        files, rows_read, n_doses = output.files, output.rows_read, output.doses_accepted
        seconds, peaks = output.stage_seconds, output.stage_peak_rss_mb

        progress.advance("write")
        t0 = time.perf_counter()
        write_csv(persons_frame(result.records), out / "persons.csv")
        write_csv(pairs_frame(result.pairs, result.records), out / "pairs.csv")
        write_csv(pairs_frame(result.review, result.records, evidence=True), out / "review.csv")
        write_csv(rejects, out / "rejects.csv")
        write_csv(issues, out / "field_issues.csv")
        result.model.save(out / "model.json")
        seconds["write"], peaks["write"] = round(time.perf_counter() - t0, 3), peak_rss_mb()

        progress.advance("histories")
        t0 = time.perf_counter()
        if args.histories:
            output.write_histories(out, args.format == "fhir")
        seconds["histories"], peaks["histories"] = round(time.perf_counter() - t0, 3), peak_rss_mb()

    summary = {
        "inputs": [str(p) for p in args.inputs],
        "files": list(files),
        "dose_rows_read": rows_read,
        "dose_rows_accepted": n_doses,
        "rows_rejected": len(rejects),
        "rows_with_field_issues": len(issues),
        **result.summary(),
        "stage_seconds": seconds,
        "stage_peak_rss_mb": peaks,
        "total_seconds": round(time.perf_counter() - started, 3),
        "peak_rss_mb": peak_rss_mb(),
        "settings": settings.model_dump(mode="json"),
    }
    write_json(out / "summary.json", summary)
    _print_summary(summary, out)
    leave_to_exit(output)  # when the process ends without teardown
    return 0


def _run_generic(args: argparse.Namespace, out: Path) -> int:
    """``--generic``: link CSV files of another schema; writes persons.csv, pairs.csv, model.json."""
    from matcher.clustering import person_ids
    from matcher.generic import DATASET, GenericProfile, link_generic

    profile = GenericProfile.from_toml(args.generic)
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in args.inputs]
    frames = [f.apply(lambda col: col.str.strip()).replace("", None) for f in frames]
    result = link_generic(frames, profile)
    records = result.records
    ids = records[profile.id_column].to_numpy()
    persons = pd.DataFrame(
        {
            "input": records[DATASET].to_numpy(),
            profile.id_column: ids,
            "person_id": person_ids(
                result.labels,
                records[DATASET].astype(str) + "|" + records[profile.id_column].astype(str),
            ),
        }
    )
    persons.to_csv(out / "persons.csv", index=False)
    matched = result.pairs[result.pairs["match"]]
    pairs = matched.assign(
        id_l=ids[matched["left"].to_numpy()], id_r=ids[matched["right"].to_numpy()]
    ).drop(columns=["left", "right"])
    pairs.to_csv(out / "pairs.csv", index=False)
    write_json(out / "model.json", {"m": result.m, "u": result.u, "profile": profile.model_dump()})
    print(
        f"{len(records):,} records → {persons['person_id'].nunique():,} persons; "
        f"{len(result.pairs):,} candidate pairs, {len(matched):,} matched; outputs in {out}/"
    )
    return 0


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    print(
        f"read {summary['dose_rows_read']:,} dose rows from {len(summary['files'])} files; "
        f"{summary['rows_rejected']:,} rejected (see {out / 'rejects.csv'}); "
        f"{summary['rows_with_field_issues']:,} kept with a field treated as missing "
        f"(see {out / 'field_issues.csv'})"
    )
    print(
        f"{summary['person_records']:,} person records → {summary['persons']:,} persons; "
        f"{summary['candidate_pairs']:,} candidate pairs; "
        f"{summary['review_pairs']:,} pairs for review ({out / 'review.csv'})"
    )
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in summary["stage_seconds"].items())
    print(
        f"time: {summary['total_seconds']:.1f}s ({timings}); peak memory {summary['peak_rss_mb']:.0f} MB"
    )
    print(
        f"outputs in {out}/: persons.csv pairs.csv review.csv rejects.csv field_issues.csv "
        "model.json summary.json histories.jsonl"
    )
