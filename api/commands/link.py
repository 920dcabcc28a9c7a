"""``vaxlink link``: resolve identities across provincial exports and merge dose histories."""

from __future__ import annotations

import argparse
import json
import logging
import resource
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from api.allocator import keep_freed_memory, leave_to_exit, paused_garbage_collector
from api.outputs import pairs_frame, persons_frame, write_csv, write_json
from api.progress import StageProgress
from matcher import columns as c
from matcher.dictionary import sorted_dictionary
from matcher.frames import with_columns
from matcher.histories import HISTORY_COLUMNS, Histories, build_histories, compare_dose_histories
from matcher.history_lines import IDENTITY_COLUMNS, write_history_lines
from matcher.ingest import read_exports
from matcher.names import load_tables
from matcher.normalise import normalise_doses
from matcher.pipeline import STAGES, LinkResult, run_link
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
        "--generic",
        type=Path,
        metavar="PROFILE",
        help="link one or two CSV files of another schema with a generic TOML profile "
        "(e.g. docs/profiles/generic/febrl4.toml) instead of vaccination exports",
    )


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


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
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}

    # "write": the identity outputs; "histories": merged histories and histories.jsonl.
    stages = ("read", "normalise", *STAGES, "write", "histories")
    # The name tables (~0.2 s of loading) load while Arrow parses the files.
    threading.Thread(target=load_tables, name="vaxlink-tables", daemon=True).start()
    with StageProgress(stages, description="link") as progress:
        progress.advance("read")
        t0 = time.perf_counter()
        read = read_exports(args.inputs, profile=profile, progress=False)
        seconds["read"], peaks["read"] = round(time.perf_counter() - t0, 3), _peak_mb()

        progress.advance("normalise")
        t0 = time.perf_counter()
        normalised = normalise_doses(read.frame, today=today, dictionary=True)
        seconds["normalise"], peaks["normalise"] = round(time.perf_counter() - t0, 3), _peak_mb()
        doses = normalised.doses
        rejects = pd.concat([read.rejects, normalised.rejects], ignore_index=True)
        issues = normalised.issues
        files, rows_read = read.files, read.rows_read
        del read, normalised  # the raw frame is no longer needed: free it before linking

        result = run_link(
            doses,
            settings,
            model=model,
            dose_evidence=compare_dose_histories,
            on_stage=progress.advance,
        )
        seconds.update(result.stage_seconds)
        peaks.update(result.stage_peak_rss_mb)

        progress.advance("write")
        t0 = time.perf_counter()
        write_csv(persons_frame(result.records), out / "persons.csv")
        write_csv(pairs_frame(result.pairs, result.records), out / "pairs.csv")
        write_csv(pairs_frame(result.review, result.records, evidence=True), out / "review.csv")
        write_csv(rejects, out / "rejects.csv")
        write_csv(issues, out / "field_issues.csv")
        result.model.save(out / "model.json")
        seconds["write"], peaks["write"] = round(time.perf_counter() - t0, 3), _peak_mb()

        progress.advance("histories")
        t0 = time.perf_counter()
        n_doses = len(doses)
        histories: Histories | None = None
        if args.histories:
            fhir = args.format == "fhir"
            histories, identities = _histories(doses, result, today, fhir=fhir)
            del doses
            _write_histories(out, histories, identities, fhir=fhir)
        seconds["histories"], peaks["histories"] = round(time.perf_counter() - t0, 3), _peak_mb()

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
        "peak_rss_mb": _peak_mb(),
        "settings": settings.model_dump(mode="json"),
    }
    write_json(out / "summary.json", summary)
    _print_summary(summary, out)
    leave_to_exit(result, rejects, histories)  # when the process ends without teardown
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


def _histories(
    doses: pd.DataFrame, result: LinkResult, today: pd.Timestamp, *, fhir: bool
) -> tuple[Histories, pd.DataFrame]:
    """Merged histories of the linked persons, and the identities to write them with.

    ``doses`` and ``result.records`` are first cut, in place, to the columns the histories
    and their writer read (the identity outputs are written by then), so the memory the other
    columns held (~300 MB at 1M persons) is reused here, where the job's peak is reached.
    """
    records = result.records
    records.drop(columns=[k for k in records if k not in IDENTITY_COLUMNS], inplace=True)
    doses.drop(columns=[k for k in doses if k not in HISTORY_COLUMNS], inplace=True)
    # Dictionary-encoded (categories in text order): grouping 2.5M dose rows by person works
    # on integer codes, and the jsonl writer finds each record's person by its code.
    person_of_record = sorted_dictionary(records[c.PERSON_ID])
    doses[c.PERSON_ID] = person_of_record.iloc[result.dose_record_ids].reset_index(drop=True)
    doses[c.RECORD_ID] = result.dose_record_ids
    histories = build_histories(doses, today=today, reported_by=fhir)
    if fhir:
        return histories, records
    return histories, with_columns(records, {c.PERSON_ID: person_of_record.array})


def _write_histories(
    out: Path,
    histories: Histories,
    records: pd.DataFrame,
    *,
    fhir: bool,
) -> None:
    """histories.jsonl (one person a line) and, with ``fhir``, histories.fhir.jsonl (Bundles)."""
    if not fhir:
        with (out / "histories.jsonl").open("wb") as handle:  # UTF-8 bytes
            write_history_lines(histories, records, handle)
        return
    from matcher.fhir import fhir_bundle
    from matcher.histories import history_documents

    with (
        (out / "histories.jsonl").open("w", encoding="utf-8") as handle,
        (out / "histories.fhir.jsonl").open("w", encoding="utf-8") as fhir_handle,
    ):
        for document in history_documents(histories, records):
            handle.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
            bundle = fhir_bundle(document)
            fhir_handle.write(json.dumps(bundle, ensure_ascii=False, default=str) + "\n")


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
