"""The link job, composed once: exports or stored rows → normalised doses → persons, pairs,
review items → merged histories.

``vaxlink link``, the service's uploads and its relinks all run ``run_job``; reading and
normalising (``prepare_exports`` / ``prepare_rows``) happen once per row, and a caller that has
normalised rows already (an upload, before its transaction) passes them as ``Prepared``.
Writing outputs and storing results stay with the callers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matcher import columns as c
from matcher.dictionary import sorted_dictionary
from matcher.frames import with_columns
from matcher.histories import HISTORY_COLUMNS, Histories, build_histories, compare_dose_histories
from matcher.history_lines import IDENTITY_COLUMNS
from matcher.ingest import read_exports
from matcher.names import load_tables
from matcher.normalise import normalise_doses
from matcher.pipeline import LinkResult, ManualDecisions, peak_rss_mb, run_link
from matcher.profiles import MappingProfile
from matcher.scoring import FSModel
from matcher.settings import MatchSettings

__all__ = [
    "DOCUMENT_IDENTITY_COLUMNS",
    "STORED_FILE",
    "Exports",
    "HistorySelection",
    "JobResult",
    "Prepared",
    "combine",
    "merge_all_histories",
    "prepare_exports",
    "prepare_rows",
    "run_job",
]

STORED_FILE = "store"  # the ``file`` of rows read back from the service's store
# Identity columns of a history document built from dose rows (the service's documents).
DOCUMENT_IDENTITY_COLUMNS = (
    c.PERSON_ID,
    c.SOURCE,
    c.PERSON_REF,
    c.NAME,
    c.ID_KEY,
    c.SEX,
    c.BIRTH_DATE,
)


@dataclass(frozen=True, slots=True)
class Exports:
    """Export files or folders to read, with an optional mapping profile."""

    paths: Sequence[str | Path]
    profile: MappingProfile | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """Normalised dose rows ready to link, and what reading and normalising set aside.

    ``doses`` is the normalised dose frame (docs/ARCHITECTURE.md); ``rejects`` and ``issues``
    are ``REJECT_COLUMNS`` frames; ``files`` and ``rows_read`` describe exports read.
    """

    doses: pd.DataFrame
    rejects: pd.DataFrame
    issues: pd.DataFrame
    files: tuple[str, ...] = ()
    rows_read: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_peak_rss_mb: dict[str, float] = field(default_factory=dict)


def prepare_exports(
    exports: Exports, *, today: pd.Timestamp, on_stage: Callable[[str], None] | None = None
) -> Prepared:
    """Read exports and normalise them once (identity columns kept dictionary-encoded)."""
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}
    # The name tables (~0.2 s of loading) load while Arrow parses the files.
    threading.Thread(target=load_tables, name="vaxlink-tables", daemon=True).start()
    if on_stage is not None:
        on_stage("read")
    t0 = time.perf_counter()
    read = read_exports(exports.paths, profile=exports.profile, progress=False)
    seconds["read"], peaks["read"] = round(time.perf_counter() - t0, 3), peak_rss_mb()
    if on_stage is not None:
        on_stage("normalise")
    t0 = time.perf_counter()
    normalised = normalise_doses(read.frame, today=today, dictionary=True)
    seconds["normalise"], peaks["normalise"] = round(time.perf_counter() - t0, 3), peak_rss_mb()
    return Prepared(
        doses=normalised.doses,
        rejects=pd.concat([read.rejects, normalised.rejects], ignore_index=True),
        issues=normalised.issues,
        files=tuple(read.files),
        rows_read=read.rows_read,
        stage_seconds=seconds,
        stage_peak_rss_mb=peaks,
    )


def prepare_rows(rows: pd.DataFrame, *, today: pd.Timestamp) -> Prepared:
    """Stored canonical rows (text, ``row``, other columns kept) → normalised, once.

    Their ``file`` is ``STORED_FILE``; the rows were accepted when stored.
    """
    frame = rows.copy()
    frame[c.FILE] = STORED_FILE
    frame[c.ROW] = frame[c.ROW].astype("int64")
    normalised = normalise_doses(frame, today=today)
    return Prepared(
        doses=normalised.doses,
        rejects=normalised.rejects,
        issues=normalised.issues,
        rows_read=len(frame),
    )


def combine(*parts: Prepared) -> Prepared:
    """Prepared rows one after another (empty parts are left out)."""
    used = [p for p in parts if len(p.doses)] or list(parts[:1])

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        kept = [f for f in frames if len(f)] or frames[:1]
        return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]

    return Prepared(
        doses=cat([p.doses for p in used]),
        rejects=cat([p.rejects for p in parts]),
        issues=cat([p.issues for p in parts]),
        files=tuple(f for p in parts for f in p.files),
        rows_read=sum(p.rows_read for p in parts),
    )


# Which persons get a merged history: a function of the link result naming them (None: all).
HistorySelection = Callable[[LinkResult], Collection[str] | None]


@dataclass(frozen=True, slots=True, eq=False)
class JobResult:
    """What one link job produced.

    ``link`` holds the records (with ``person_id``), the kept pairs and the model;
    ``histories`` the merged histories (None when not asked for, or no dose row was chosen);
    ``identities`` the frame to write or document them with (see ``run_job``).
    """

    link: LinkResult
    histories: Histories | None
    identities: pd.DataFrame | None
    rejects: pd.DataFrame
    issues: pd.DataFrame
    files: tuple[str, ...]
    rows_read: int
    dose_rows: int
    stage_seconds: dict[str, float]
    stage_peak_rss_mb: dict[str, float]

    @property
    def records(self) -> pd.DataFrame:
        """One row per person record, with ``person_id``."""
        return self.link.records

    @property
    def pairs(self) -> pd.DataFrame:
        """Scored pairs kept (matches, review items, refused edges)."""
        return self.link.pairs

    @property
    def review(self) -> pd.DataFrame:
        """Pairs sent to a human."""
        return self.link.review

    @property
    def model(self) -> FSModel:
        """The model used (trained on this data unless one was given)."""
        return self.link.model


def run_job(
    inputs: Exports | Prepared,
    settings: MatchSettings,
    *,
    today: pd.Timestamp,
    model: FSModel | None = None,
    manual: ManualDecisions | None = None,
    record_key: str | None = None,
    population: int | None = None,
    name_counts: dict[str, int] | None = None,
    histories: bool | HistorySelection = True,
    reported_by: bool = False,
    on_stage: Callable[[str], None] | None = None,
    on_linked: Callable[[LinkResult], None] | None = None,
) -> JobResult:
    """Run the link job: read and normalise (for ``Exports``), link, merge histories.

    Args:
        inputs: exports to read, or rows normalised already (``prepare_rows``, ``combine``).
            The job owns the dose frame: with ``histories=True`` it is cut in place.
        model: a trained model to reuse; trained on this data when None.
        manual: auditor decisions overriding the model (values of ``record_key`` when given).
        record_key: a dose column identifying registrations (e.g. a database id); copied to
            the records, and the key of ``manual``.
        population, name_counts: record count and simplified-name counts of the whole store
            when the rows are a subset of it (incremental linking).
        histories: ``True``: every person's history, the dose frame and records first cut to
            the columns the histories and histories.jsonl read (``identities``: the records,
            ``person_id`` dictionary-encoded unless ``reported_by``). A function of the link
            result naming persons (None: all): their histories, from the dose rows with all
            columns (``identities``: those rows' ``DOCUMENT_IDENTITY_COLUMNS``). ``False``: none.
        reported_by: keep the events' ``reported_by`` lists (history documents, FHIR).
        on_stage: called with each stage name as it starts (progress display).
        on_linked: called with the link result before histories are merged (a caller writes
            the identity outputs then, so the columns histories do not read can be freed).
    """
    if isinstance(inputs, Prepared):
        prepared = inputs
    else:
        prepared = prepare_exports(inputs, today=today, on_stage=on_stage)
    seconds = dict(prepared.stage_seconds)
    peaks = dict(prepared.stage_peak_rss_mb)
    doses = prepared.doses
    link = run_link(
        doses,
        settings,
        model=model,
        manual=manual,
        manual_key=record_key,
        dose_evidence=compare_dose_histories,
        on_stage=on_stage,
        population=population,
        name_counts=name_counts,
    )
    seconds.update(link.stage_seconds)
    peaks.update(link.stage_peak_rss_mb)
    if record_key is not None:
        keys = np.zeros(len(link.records), dtype=np.int64)
        keys[link.dose_record_ids] = doses[record_key].to_numpy(dtype=np.int64)
        link.records[record_key] = keys
    if on_linked is not None:
        on_linked(link)
    n_doses = len(doses)
    merged: Histories | None = None
    identities: pd.DataFrame | None = None
    if histories is not False:
        if on_stage is not None:
            on_stage("histories")
        t0 = time.perf_counter()
        if histories is True:
            merged, identities = merge_all_histories(doses, link, today, reported_by=reported_by)
        else:
            merged, identities = _chosen_histories(doses, link, histories(link), today)
        seconds["histories"], peaks["histories"] = round(time.perf_counter() - t0, 3), peak_rss_mb()
    result = JobResult(
        link=link,
        histories=merged,
        identities=identities,
        rejects=prepared.rejects,
        issues=prepared.issues,
        files=prepared.files,
        rows_read=prepared.rows_read,
        dose_rows=n_doses,
        stage_seconds=seconds,
        stage_peak_rss_mb=peaks,
    )
    del doses, prepared  # only a caller holding the dose frame keeps it
    return result


def merge_all_histories(
    doses: pd.DataFrame, link: LinkResult, today: pd.Timestamp, *, reported_by: bool
) -> tuple[Histories, pd.DataFrame]:
    """Every person's merged history, and the identities to write them with.

    ``doses`` and ``link.records`` are first cut, in place, to the columns the histories
    and their writer read (the identity outputs are written by then), so the memory the other
    columns held (~300 MB at 1M persons) is reused here, where the job's peak is reached.
    """
    records = link.records
    records.drop(columns=[k for k in records if k not in IDENTITY_COLUMNS], inplace=True)
    doses.drop(columns=[k for k in doses if k not in HISTORY_COLUMNS], inplace=True)
    # Dictionary-encoded (categories in text order): grouping 2.5M dose rows by person works
    # on integer codes, and the jsonl writer finds each record's person by its code.
    person_of_record = sorted_dictionary(records[c.PERSON_ID])
    doses[c.PERSON_ID] = person_of_record.iloc[link.dose_record_ids].reset_index(drop=True)
    doses[c.RECORD_ID] = link.dose_record_ids
    histories = build_histories(doses, today=today, reported_by=reported_by)
    if reported_by:
        return histories, records
    return histories, with_columns(records, {c.PERSON_ID: person_of_record.array})


def _chosen_histories(
    doses: pd.DataFrame, link: LinkResult, persons: Collection[str] | None, today: pd.Timestamp
) -> tuple[Histories | None, pd.DataFrame | None]:
    """Merged histories (with ``reported_by``) of ``persons`` (None: all), from their dose rows
    with every column; the identities are those rows' ``DOCUMENT_IDENTITY_COLUMNS``."""
    pid_of_dose = link.records[c.PERSON_ID].to_numpy()[link.dose_record_ids]
    if persons is None:
        doses[c.PERSON_ID] = pid_of_dose
        chosen = doses
    else:
        keep = np.flatnonzero(pd.Series(pid_of_dose).isin(persons).to_numpy())
        chosen = doses.take(keep).assign(**{c.PERSON_ID: pid_of_dose[keep]})
    if chosen.empty:
        return None, None
    identities = chosen[[col for col in DOCUMENT_IDENTITY_COLUMNS if col in chosen.columns]]
    return build_histories(chosen, today=today), identities
