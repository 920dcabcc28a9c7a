"""The ``pandas`` engine: the whole link job in one process (``matcher.job``, the default)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from matcher.engines import LinkJob, LinkOutput
from matcher.histories import Histories
from matcher.history_lines import write_history_lines
from matcher.job import Exports, merge_all_histories, prepare_exports, run_job

__all__ = ["PandasEngine"]


class PandasEngine:
    """Runs ``matcher.job`` in this process: read and normalise once, link, merge histories."""

    name = "pandas"

    def link(self, job: LinkJob, on_stage: Callable[[str], None]) -> LinkOutput:
        """Read, normalise and link the exports of ``job``."""
        prepared = prepare_exports(
            Exports(job.inputs, job.profile), today=job.today, on_stage=on_stage
        )
        doses = prepared.doses  # held for the histories, which the caller asks for later
        linked = run_job(
            prepared, job.settings, today=job.today, model=job.model, histories=False,
            on_stage=on_stage,
        )  # fmt: skip
        del prepared
        held: list[object] = []

        def write(out: Path, fhir: bool) -> None:
            histories, identities = merge_all_histories(
                doses, linked.link, job.today, reported_by=fhir
            )
            held.append(histories)  # freed with the output (or left to the process's exit)
            _write_histories(out, histories, identities, fhir=fhir)

        return LinkOutput(
            result=linked.link,
            rejects=linked.rejects,
            issues=linked.issues,
            files=linked.files,
            rows_read=linked.rows_read,
            doses_accepted=linked.dose_rows,
            write_histories=write,
            stage_seconds=dict(linked.stage_seconds),
            stage_peak_rss_mb=dict(linked.stage_peak_rss_mb),
        )


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
