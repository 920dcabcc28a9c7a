"""The ``pandas`` engine: the whole link job in one process (today's code path, the default)."""

from __future__ import annotations

import json
import resource
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from matcher import columns as c
from matcher.dictionary import sorted_dictionary
from matcher.engines import LinkJob, LinkOutput
from matcher.frames import with_columns
from matcher.histories import HISTORY_COLUMNS, Histories, build_histories, compare_dose_histories
from matcher.history_lines import IDENTITY_COLUMNS, write_history_lines
from matcher.ingest import read_exports
from matcher.names import load_tables
from matcher.normalise import normalise_doses
from matcher.pipeline import LinkResult, run_link

__all__ = [
    "PandasEngine",
    "peak_rss_mb",
]


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


class PandasEngine:
    """Reads, normalises and links in pandas (``matcher.pipeline.run_link``)."""

    name = "pandas"

    def link(self, job: LinkJob, on_stage: Callable[[str], None]) -> LinkOutput:
        """Read, normalise and link the exports of ``job``."""
        seconds: dict[str, float] = {}
        peaks: dict[str, float] = {}
        # The name tables (~0.2 s of loading) load while Arrow parses the files.
        threading.Thread(target=load_tables, name="vaxlink-tables", daemon=True).start()
        on_stage("read")
        t0 = time.perf_counter()
        read = read_exports(job.inputs, profile=job.profile, progress=False)
        seconds["read"], peaks["read"] = round(time.perf_counter() - t0, 3), peak_rss_mb()

        on_stage("normalise")
        t0 = time.perf_counter()
        normalised = normalise_doses(read.frame, today=job.today, dictionary=True)
        seconds["normalise"], peaks["normalise"] = round(time.perf_counter() - t0, 3), peak_rss_mb()
        doses = normalised.doses
        rejects = pd.concat([read.rejects, normalised.rejects], ignore_index=True)
        issues = normalised.issues
        files, rows_read = read.files, read.rows_read
        del read, normalised  # the raw frame is no longer needed: free it before linking

        result = run_link(
            doses,
            job.settings,
            model=job.model,
            dose_evidence=compare_dose_histories,
            on_stage=on_stage,
        )
        seconds.update(result.stage_seconds)
        peaks.update(result.stage_peak_rss_mb)
        held: list[object] = []

        def write(out: Path, fhir: bool) -> None:
            histories, identities = _histories(doses, result, job.today, fhir=fhir)
            held.append(histories)  # freed with the output (or left to the process's exit)
            _write_histories(out, histories, identities, fhir=fhir)

        return LinkOutput(
            result=result,
            rejects=rejects,
            issues=issues,
            files=files,
            rows_read=rows_read,
            doses_accepted=len(doses),
            write_histories=write,
            stage_seconds=seconds,
            stage_peak_rss_mb=peaks,
        )


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
