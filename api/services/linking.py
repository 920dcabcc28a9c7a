"""Incremental linking on the store: the touched records, their blocking neighbours and the
neighbours' whole clusters are relinked by ``matcher.job.run_job``, then persisted in one
transaction (which records, and their stored doses: ``record_index``).

Name term frequencies and the prior's population come from the whole store, so a subset
scores a pair as a full relink would. A full relink is the same routine with every record in scope.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
from sqlalchemy.orm import Session

from api import faults
from api.db import bulk
from api.db import repository as repo
from api.services.record_index import (
    DB_RECORD,
    BatchRows,
    in_store_order,
    neighbour_records,
    normalise_stored,
    record_keys,
    record_summaries,
    records_of,
    refresh_records,
    stored_doses,
)
from matcher import columns as c
from matcher import persons as p
from matcher.compare import FIELDS, LEFT, RIGHT, level_column
from matcher.decisions import (
    DECISION,
    LEVEL_DOSES,
    REVIEW_REASON,
    RULES_FIRED,
    Decision,
    ReviewReason,
)
from matcher.histories import build_histories, history_documents
from matcher.ingest import empty_rejects
from matcher.job import (
    DOCUMENT_IDENTITY_COLUMNS,
    HistorySelection,
    JobResult,
    Prepared,
    run_job,
)
from matcher.pipeline import LinkResult, ManualDecisions
from matcher.scoring import MATCH_WEIGHT, FSModel, weight_column
from matcher.settings import MatchSettings

_LOCK = threading.Lock()  # one linking job at a time in this process

logger = logging.getLogger("vaxlink.api.linkage")


@dataclass(frozen=True, slots=True)
class LinkStats:
    """What one linking job did."""

    records: int
    persons: int
    review_pairs: int
    assignments: dict[int, str]
    retrained: bool
    seconds: float


# --- the link job --------------------------------------------------------------------------
def link_scope(
    session: Session,
    seeds: set[int],
    settings: MatchSettings,
    *,
    today: pd.Timestamp,
    full: bool = False,
    retrain: bool = False,
    batch: BatchRows | None = None,
) -> LinkStats:
    """Relink ``seeds``, their blocking neighbours and the neighbours' clusters (or everything).

    ``batch``: the rows just stored for ``seeds``, normalised already (each stored row is
    read back and normalised once; the batch's not at all). Must run inside the caller's
    transaction; serialised per process and, on PostgreSQL, by an advisory lock.
    """
    started = time.perf_counter()
    with _LOCK, bulk.large_cache(session):
        repo.lock_linking(session=session)
        summaries: pd.DataFrame | None = None
        old_pids: set[str]
        before: dict[int, str | None] | None
        if full:
            # Everything in one read: the doses normalised once serve the record summaries,
            # the blocking keys and the link; summaries are written with the person ids.
            scope = repo.all_record_ids(session=session)
            doses = normalise_stored(repo.load_doses(session=session, record_ids=None), today=today)
            records = records_of(doses)
            summaries = record_summaries(records)
            repo.replace_record_keys(
                session=session, record_ids=[], keys=record_keys(records, settings),
                everything=True,
            )  # fmt: skip
            del records
            old_pids, before = set(), None
            counts, total = _name_counts_of(summaries, doses), len(scope)
        else:
            earlier = stored_doses(
                session, seeds, today=today, except_batch=batch.batch_id if batch else None
            )
            seed_doses = in_store_order(earlier, batch.doses) if batch else earlier
            seed_records = refresh_records(session, seeds, settings, today=today, doses=seed_doses)
            scope = set(seeds) | neighbour_records(session, seed_records, settings)
            before = repo.person_ids_of(session=session, record_ids=scope)
            old_pids = {v for v in before.values() if v}
            # every record of these persons joins the scope (with its person id, so the persons
            # that come out unchanged can be told apart)
            members = repo.person_members(session=session, person_ids=old_pids)
            before.update(members)
            scope |= set(members)
        if not scope:
            return LinkStats(0, 0, 0, {}, False, 0.0)
        if not full:
            others = stored_doses(session, scope - seeds, today=today)
            doses = in_store_order(seed_doses, others).drop(columns=repo.DOSE_ID)
            del seed_doses, others
            names = doses[c.NAME_SIMPLIFIED].dropna().astype(str).unique().tolist()
            counts, total = repo.name_counts(session=session, names=names)
        stored = repo.active_model(session=session)
        model = None if retrain else FSModel.from_json_or_none(stored)
        if model is None and stored is not None and not retrain:
            logger.warning("the stored model is of another vaxlink version: training a new one")
        same, different = repo.manual_pairs(session=session, record_ids=scope)

        def chosen(link: LinkResult) -> set[str] | None:
            """Persons whose history is rebuilt: all in a full relink, else the changed."""
            if before is None:
                return None
            return changed_persons(_assignments(link.records), before, seeds)

        outcome = link_doses(
            doses, settings, model=model, same=same, different=different,
            name_counts=counts, total_records=total, today=today, histories=chosen,
        )  # fmt: skip
        del doses
        if model is None and usable(outcome.model):
            repo.save_model(
                session=session,
                model_json=outcome.model.to_json(),
                trained_on_records=len(outcome.records),
            )
        _persist(session, outcome, scope=scope, old_pids=old_pids, settings=settings,
                 old=before, summaries=summaries)  # fmt: skip
        assignments = _assignments(outcome.records)
        return LinkStats(
            records=len(outcome.records),
            persons=int(outcome.records[c.PERSON_ID].nunique()),
            review_pairs=int((outcome.pairs[DECISION] == Decision.REVIEW.value).sum()),
            assignments=assignments,
            retrained=model is None,
            seconds=round(time.perf_counter() - started, 3),
        )


def _name_counts_of(summaries: pd.DataFrame, doses: pd.DataFrame) -> dict[str, int]:
    """``repo.name_counts`` computed from the summaries of every stored record (full relink)."""
    stored = summaries["name_simplified"].dropna().value_counts()
    names = set(doses[c.NAME_SIMPLIFIED].dropna().astype(str).unique().tolist())
    return {str(k): int(v) for k, v in stored.items() if k in names}


MIN_TRAINING_PAIRS = 20


def usable(model: FSModel) -> bool:
    """A model worth keeping: finite parameters, trained on enough candidate pairs.

    A first batch without internal duplicates gives no pairs to learn from; its (unused) model
    is not stored, and the next job trains again.
    """
    values = [model.matches_per_record, *(x for f in model.m.values() for x in f)]
    values += [x for f in model.u.values() for x in f]
    return model.trained_on_pairs >= MIN_TRAINING_PAIRS and bool(np.isfinite(values).all())


def _assignments(records: pd.DataFrame) -> dict[int, str]:
    """Person id per db record."""
    return dict(zip(records[DB_RECORD].tolist(), records[c.PERSON_ID].tolist(), strict=True))


def link_doses(
    doses: pd.DataFrame,
    settings: MatchSettings,
    *,
    model: FSModel | None,
    same: list[tuple[int, int]],
    different: list[tuple[int, int]],
    today: pd.Timestamp,
    name_counts: dict[str, int] | None = None,
    total_records: int | None = None,
    histories: bool | HistorySelection = False,
) -> JobResult:
    """The link job on normalised stored doses, name frequencies taken from the store (see
    module doc); the records carry ``DB_RECORD``.

    ``same`` / ``different`` are auditor decisions as db record pairs; ``histories`` as in
    ``matcher.job.run_job`` (a selection gives history documents' identities from dose rows).
    """
    return run_job(
        Prepared(doses=doses, rejects=empty_rejects(), issues=empty_rejects()),
        settings,
        today=today,
        model=model,
        manual=ManualDecisions(same=_key_pairs(same), different=_key_pairs(different)),
        record_key=DB_RECORD,
        population=total_records if name_counts is not None else None,
        name_counts=name_counts,
        histories=histories,
        on_linked=lambda _: faults.reached("link.scored"),
    )


def _key_pairs(pairs: list[tuple[int, int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Database record pairs as two arrays."""
    left = np.array([a for a, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b in pairs], dtype=np.int64)
    return left, right


def _band(weight: float, settings: MatchSettings) -> str:
    third = (settings.match_weight - settings.review_weight) / 3
    if weight >= settings.review_weight + 2 * third:
        return "high"
    return "mid" if weight >= settings.review_weight + third else "low"


def _persist(
    session: Session,
    outcome: JobResult,
    *,
    scope: set[int],
    old_pids: set[str],
    settings: MatchSettings,
    old: dict[int, str | None] | None,
    summaries: pd.DataFrame | None = None,
) -> None:
    """Write the outcome. Incremental (``old``: the scope's person ids before): only persons
    that changed get a new document and only records whose person changed are updated."""
    records = outcome.records
    db = records[DB_RECORD].to_numpy()
    assignments = _assignments(records)
    if old is None:  # full relink: every person is rebuilt
        written = assignments
    else:
        written = {r: pid for r, pid in assignments.items() if old.get(r) != pid}
    documents: dict[str, dict[str, Any]] = {}
    if outcome.histories is not None and outcome.identities is not None:
        documents = {
            str(doc["person_id"]): doc
            for doc in history_documents(outcome.histories, outcome.identities)
        }
    faults.reached("relink.histories" if old is None else "link.histories")
    sizes = records[c.PERSON_ID].value_counts().to_dict()
    persons = {pid: (int(sizes[pid]), document_json(doc)) for pid, doc in documents.items()}
    review = outcome.pairs[outcome.pairs[DECISION] == Decision.REVIEW.value]
    src = records[c.SOURCE].astype(str).to_numpy()
    year = records[p.BIRTH_YEAR].to_numpy()
    rows = []
    for r in review.to_dict("records"):
        a, b = int(r[LEFT]), int(r[RIGHT])
        if db[a] > db[b]:
            a, b = b, a
        years = [int(y) for y in (year[a], year[b]) if y > 0]
        weight = float(r[MATCH_WEIGHT])
        rows.append(
            repo.ReviewRow(
                record_l=int(db[a]), record_r=int(db[b]), match_weight=weight,
                band=_band(weight, settings), province_l=src[a], province_r=src[b],
                birth_year=min(years) if years else 0, evidence=_evidence(r),
            )
        )  # fmt: skip
    repo.save_assignments(
        session=session,
        assignments=written,
        persons=persons,
        removed=old_pids - set(assignments.values()),
        reviews=rows,
        scope=scope,
        everything=summaries is not None,
        summaries=summaries,
    )
    faults.reached("link.persisted")


def changed_persons(new: dict[int, str], old: dict[int, str | None], seeds: set[int]) -> set[str]:
    """New persons whose history may differ from the stored one: those holding a seed record
    (new doses) or whose records are not exactly the records of the stored person of that id.
    A person id names its records (``matcher.clustering``), so the rest are stored as is."""
    members: dict[str, set[int]] = {}
    for record, pid in new.items():
        members.setdefault(pid, set()).add(record)
    stored: dict[str, set[int]] = {}
    for record, old_pid in old.items():
        if old_pid is not None:
            stored.setdefault(old_pid, set()).add(record)
    return {
        pid
        for pid, records in members.items()
        if not records.isdisjoint(seeds) or stored.get(pid) != records
    }


def _evidence(pair: dict[Any, Any]) -> dict[str, Any]:
    levels = {f: int(pair[level_column(f)]) for f in FIELDS}
    if LEVEL_DOSES in pair:
        levels["doses"] = int(pair[LEVEL_DOSES])
    weights = {f: round(float(pair[weight_column(f)]), 3) for f in FIELDS}
    weights["rules"] = round(float(pair.get("weight_rules", 0.0)), 3)
    fired = str(pair.get(RULES_FIRED) or "")
    return {
        "levels": levels,
        "weights": weights,
        "rules_fired": [x for x in fired.split(";") if x],
        "review_reason": str(pair.get(REVIEW_REASON) or ReviewReason.UNDECIDED_WEIGHT.value),
    }


_JSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


def document_json(doc: dict[str, Any]) -> str:
    """A history document as stored: JSON text, non-ASCII kept, other types as ``str()``
    (what ``json.dumps(doc, ensure_ascii=False, default=str)`` gives, ~3× faster)."""
    return orjson.dumps(doc, default=str, option=_JSON_OPTIONS).decode("utf-8")


def person_documents(doses: pd.DataFrame, *, today: pd.Timestamp) -> dict[str, dict[str, Any]]:
    """History document per person id of a dose frame that has ``person_id``."""
    if doses.empty:
        return {}
    histories = build_histories(doses, today=today)
    identity_cols = [col for col in DOCUMENT_IDENTITY_COLUMNS if col in doses.columns]
    return {
        str(doc["person_id"]): doc for doc in history_documents(histories, doses[identity_cols])
    }


def merged_document(doses: pd.DataFrame, *, today: pd.Timestamp) -> dict[str, Any] | None:
    """The history the doses would have as one person (review "would-be merge")."""
    if doses.empty:
        return None
    docs = person_documents(doses.assign(**{c.PERSON_ID: "merged"}), today=today)
    return docs.get("merged")
