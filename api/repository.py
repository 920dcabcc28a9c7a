"""Every query and write. Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from api import bulk
from api import models as m
from api.auth import Principal, Role, hash_token, new_token
from api.schemas.v1 import (
    AuditEntryPublic,
    BatchCounts,
    BatchPublic,
    DecisionPublic,
    KeyPublic,
    RejectPublic,
    ReviewSummary,
)
from matcher import columns as c

CHUNK = 500  # values per IN (...) list
DOSE_COLUMNS = (
    c.SOURCE,
    c.PERSON_REF,
    c.ID_TYPE,
    c.ID_NUMBER,
    c.NAME,
    c.SEX,
    c.BIRTH_DATE,
    c.PHONE,
    c.DOSE_DATE,
    c.VACCINE,
    c.LOT_NUMBER,
    c.DOSE_SEQ,
    c.SITE,
)


def _table(model: type[m.Base]) -> Table:
    """The Core table of a model (Core statements skip the ORM's per-row work)."""
    return cast(Table, model.__table__)


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- keys ----------------------------------------------------------------------------------
def create_key(*, session: Session, role: Role, province: str | None, label: str = "") -> KeyPublic:
    """Store a new key (hashed) and return its metadata with the token, shown only now."""
    token = new_token()
    row = m.ApiKey(
        key_hash=hash_token(token), prefix=token[:10], role=role.value, province=province,
        label=label,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return KeyPublic(
        key_id=row.id, role=role, province=province, label=label, prefix=row.prefix,
        created_at=row.created_at, token=token,
    )  # fmt: skip


def revoke_key(*, session: Session, key_id: int) -> KeyPublic | None:
    """Mark a key revoked (it stays on record); None when there is no such key."""
    row = session.get(m.ApiKey, key_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = m.utcnow()
        session.flush()
    return KeyPublic(
        key_id=row.id, role=Role(row.role), province=row.province, label=row.label,
        prefix=row.prefix, created_at=row.created_at, revoked_at=row.revoked_at,
    )  # fmt: skip


def principal_for_token(*, session: Session | Connection, token: str) -> Principal | None:
    """The caller owning ``token``, or None for unknown or revoked keys."""
    return principal_for_hash(session=session, key_hash=hash_token(token))


def principal_for_hash(*, session: Session | Connection, key_hash: str) -> Principal | None:
    """The caller whose token hashes to ``key_hash``, or None for unknown or revoked keys."""
    stmt = select(
        m.ApiKey.id, m.ApiKey.role, m.ApiKey.province, m.ApiKey.label, m.ApiKey.revoked_at
    ).where(m.ApiKey.key_hash == key_hash)
    row = session.execute(stmt).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(key_id=row.id, role=Role(row.role), province=row.province, label=row.label)


# --- batches -------------------------------------------------------------------------------
def _batch_public(row: m.Batch, *, duplicate: bool = False) -> BatchPublic:
    return BatchPublic(
        batch_id=row.id,
        province=row.province,
        status=row.status,
        duplicate=duplicate,
        content_sha256=row.content_sha256,
        counts=BatchCounts(
            rows_accepted=row.rows_accepted,
            rows_rejected=row.rows_rejected,
            rows_with_field_issues=row.rows_with_field_issues,
            records_touched=row.records_touched,
            persons_new=row.persons_new,
            persons_linked=row.persons_linked,
            persons_review=row.persons_review,
        ),
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def batch_by_content(*, session: Session, dedup_key: str) -> BatchPublic | None:
    """The batch holding this deduplication key (province + content hash), if any: a done
    one, or one still ``processing`` (see ``batch_claim`` for its owner)."""
    row = session.scalar(select(m.Batch).where(m.Batch.dedup_key == dedup_key))
    return None if row is None else _batch_public(row, duplicate=True)


def batch_claim(*, session: Session, dedup_key: str) -> tuple[str, str, str | None] | None:
    """(batch id, status, worker) of the batch holding this deduplication key, if any."""
    stmt = select(m.Batch.id, m.Batch.status, m.Batch.worker).where(m.Batch.dedup_key == dedup_key)
    row = session.execute(stmt).first()
    return None if row is None else (row.id, row.status, row.worker)


def get_batch(*, session: Session, batch_id: str) -> BatchPublic | None:
    """One batch by id."""
    row = session.get(m.Batch, batch_id)
    return None if row is None else _batch_public(row)


def create_batch(
    *, session: Session, batch_id: str, province: str, sha256: str, filename: str,
    key_id: int | None, status: str = "processing", error: str | None = None,
    dedup_key: str | None = None, worker: str | None = None,
) -> None:  # fmt: skip
    """Insert a batch row (``dedup_key`` set: a second one with that key fails to insert)."""
    session.add(
        m.Batch(
            id=batch_id, province=province, content_sha256=sha256, filename=filename[:255],
            status=status, created_by=key_id, error=error, dedup_key=dedup_key, worker=worker,
            finished_at=m.utcnow() if status in ("done", "failed") else None,
        )
    )  # fmt: skip
    session.flush()


def finish_batch(*, session: Session, batch_id: str, counts: BatchCounts) -> BatchPublic:
    """Mark a batch done with its counts (it keeps its deduplication key)."""
    row = session.get_one(m.Batch, batch_id)
    row.status = "done"
    row.finished_at = m.utcnow()
    for key, value in counts.model_dump().items():
        setattr(row, key, value)
    session.flush()
    return _batch_public(row)


def fail_batch(*, session: Session, batch_id: str, error: str) -> None:
    """Mark a batch failed and free its deduplication key (the file may be uploaded again)."""
    session.execute(
        update(m.Batch)
        .where(m.Batch.id == batch_id, m.Batch.status != "done")
        .values(status="failed", dedup_key=None, error=error[:2000], finished_at=m.utcnow())
    )


def processing_batches(*, session: Session) -> list[tuple[str, str | None]]:
    """(batch id, worker) of every batch still marked ``processing``."""
    stmt = select(m.Batch.id, m.Batch.worker).where(m.Batch.status == "processing")
    return [(str(i), w) for i, w in session.execute(stmt)]


def _row_notes(batch_id: str, notes: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a rejects or field-issues frame (``REJECT_COLUMNS``) as table rows."""
    return [
        {
            "batch_id": batch_id,
            "file": None if pd.isna(r[c.FILE]) else str(r[c.FILE]),
            "row": int(r[c.ROW]),
            "source": None if pd.isna(r[c.SOURCE]) else str(r[c.SOURCE])[:40],
            "field": None if pd.isna(r[c.FIELD]) else str(r[c.FIELD]),
            "reason": str(r[c.REASON]),
        }
        for r in notes.to_dict("records")
    ]


def insert_rejects(*, session: Session, batch_id: str, rejects: pd.DataFrame) -> None:
    """Store rejected rows."""
    if rows := _row_notes(batch_id, rejects):
        session.execute(insert(m.RejectedRow), rows)


def insert_field_issues(*, session: Session, batch_id: str, issues: pd.DataFrame) -> None:
    """Store the field issues of kept rows (a field treated as missing, and why)."""
    if rows := _row_notes(batch_id, issues):
        session.execute(insert(m.FieldIssue), rows)


def list_rejects(*, session: Session, batch_id: str) -> list[RejectPublic]:
    """Rejected rows of a batch in row order."""
    return _list_row_notes(session, m.RejectedRow, batch_id)


def list_field_issues(*, session: Session, batch_id: str) -> list[RejectPublic]:
    """Field issues of a batch's stored rows in row order."""
    return _list_row_notes(session, m.FieldIssue, batch_id)


def _list_row_notes(
    session: Session, table: type[m.RejectedRow | m.FieldIssue], batch_id: str
) -> list[RejectPublic]:
    stmt = (
        select(table.file, table.row, table.source, table.field, table.reason)
        .where(table.batch_id == batch_id)
        .order_by(table.row, table.id)
    )
    return [
        RejectPublic(file=file, row=row, source=source, field=field, reason=reason)
        for file, row, source, field, reason in session.execute(stmt)
    ]


# --- records and doses ---------------------------------------------------------------------
def upsert_records(
    *, session: Session, batch_id: str, keys: pd.DataFrame
) -> tuple[dict[tuple[str, str], int], set[int]]:
    """Ids of the (source, person_ref) records, created when new; also the set of new ids.

    Existing ones are read per source (the whole source when the batch names many of its
    records); new ones are inserted in bulk and read back by ``first_batch_id``.
    """
    wanted = {(str(s), str(r)) for s, r in keys[[c.SOURCE, c.PERSON_REF]].itertuples(index=False)}
    found: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = {}
    for source, ref in wanted:
        by_source.setdefault(source, []).append(ref)
    table = _table(m.PersonRecord)
    for source, refs in by_source.items():
        if len(refs) > 20 * CHUNK:
            stmt = select(table.c.id, table.c.person_ref).where(table.c.source == source)
            for rid, ref in session.connection().execute(stmt):
                if (source, ref) in wanted:
                    found[(source, ref)] = rid
            continue
        for part in _chunks(sorted(refs)):
            stmt = select(table.c.id, table.c.person_ref).where(
                table.c.source == source, table.c.person_ref.in_(part)
            )
            for rid, ref in session.connection().execute(stmt):
                found[(source, ref)] = rid
    missing = sorted(wanted - set(found))
    new_ids: set[int] = set()
    if missing:
        bulk.insert_rows(
            session, table, ("source", "person_ref", "first_batch_id", "birth_key", "n_doses"),
            ((s, r, batch_id, 0, 0) for s, r in missing),
        )  # fmt: skip
        stmt = select(table.c.id, table.c.source, table.c.person_ref).where(
            table.c.first_batch_id == batch_id
        )
        for rid, source, ref in session.connection().execute(stmt):
            found[(source, ref)] = rid
            new_ids.add(rid)
    return found, new_ids


def insert_doses(*, session: Session, batch_id: str, doses: pd.DataFrame) -> None:
    """Store accepted dose rows (canonical text) with their record ids (column ``db_record``)."""
    columns = [col for col in DOSE_COLUMNS if col in doses.columns]
    values = [_text_values(doses[col]) for col in columns]
    rows = zip(
        itertools.repeat(batch_id),
        doses["db_record"].to_numpy(dtype=np.int64).tolist(),
        doses[c.ROW].to_numpy(dtype=np.int64).tolist(),
        *values,
        strict=False,
    )
    bulk.insert_rows(session, _table(m.DoseRow), ("batch_id", "record_id", "row", *columns), rows)


def _text_values(column: pd.Series) -> list[str | None]:
    """A column as Python strings (dates as ``YYYY-MM-DD``), missing values as None."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        column = column.dt.strftime("%Y-%m-%d")
    values = column.astype(object)
    missing = values.isna().to_numpy()
    out: list[str | None] = [v if type(v) is str else str(v) for v in values.tolist()]
    for i in np.flatnonzero(missing).tolist():
        out[i] = None
    return out


_DOSE_SELECT = "SELECT " + ", ".join(DOSE_COLUMNS) + ', "row", record_id, id FROM dose_rows'


DOSE_ID = "dose_id"  # a dose row's primary key, with ``load_doses(with_ids=True)``


def load_doses(
    *,
    session: Session,
    record_ids: Iterable[int] | None,
    except_batch: str | None = None,
    with_ids: bool = False,
) -> pd.DataFrame:
    """Stored dose rows (canonical text columns, ``row``, ``db_record``) of records, or all,
    in the order they were stored; without the rows of ``except_batch``; with ``with_ids``,
    each row's primary key as ``DOSE_ID``."""
    names = [*DOSE_COLUMNS, c.ROW, "db_record", "_id"]
    ids = {"_id": DOSE_ID} if with_ids else None
    if record_ids is None:
        frame = bulk.select_frame(session, _DOSE_SELECT + " ORDER BY id", names)
        return frame.rename(columns=ids) if ids else frame.drop(columns="_id")
    where = " WHERE record_id IN ({in})"
    params: tuple[str, ...] = ()
    if except_batch is not None:
        where = " WHERE batch_id <> ? AND record_id IN ({in})"
        params = (except_batch,)
    rows = bulk.select_in(session, _DOSE_SELECT + where, sorted(set(record_ids)), params=params)
    if not rows:
        out = bulk.select_frame(session, _DOSE_SELECT + " WHERE 1 = 0", names)
    else:
        out = pd.DataFrame.from_records(rows, columns=names, coerce_float=False)
        order = np.argsort(out["_id"].to_numpy(dtype=np.int64), kind="stable")
        out = out.iloc[order].reset_index(drop=True)
    return out.rename(columns=ids) if ids else out.drop(columns="_id")


def batch_dose_ids(*, session: Session, batch_id: str) -> npt.NDArray[np.int64]:
    """Primary keys of a batch's dose rows, in the order they were stored."""
    query = select(m.DoseRow.id).where(m.DoseRow.batch_id == batch_id).order_by(m.DoseRow.id)
    return np.array(session.scalars(query).all(), dtype=np.int64)


RECORD_SUMMARY = ("id_key", "name_simplified", "name_pinyin", "birth_key", "n_doses")


def update_records(
    *, session: Session, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Set ``columns`` of records from tuples ``(record id, *values)``."""
    bulk.update_rows(session, _table(m.PersonRecord), "id", columns, rows)


_RULE_VALUE_INDEX = "ix_record_keys_rule_value"


def replace_record_keys(
    *, session: Session, record_ids: Sequence[int], keys: pd.DataFrame, everything: bool = False
) -> None:
    """Replace the blocking-key rows (``record_id, rule, value``) of these records.

    ``everything`` (a full relink): empty the table, load the keys in primary-key order and
    build the ``(rule, value)`` index once afterwards instead of row by row.
    """
    table = _table(m.RecordKey)
    if everything:
        # record order: the primary-key index (record_id, rule, value) grows at its end
        keys = keys.iloc[np.argsort(keys["record_id"].to_numpy(dtype=np.int64), kind="stable")]
        pg = bulk.is_postgresql(session)
        session.execute(text("TRUNCATE record_keys" if pg else "DELETE FROM record_keys"))
        session.execute(text(f"DROP INDEX IF EXISTS {_RULE_VALUE_INDEX}"))
    else:
        for part in _chunks(list(record_ids), bulk.max_in_list(session)):
            session.execute(delete(table).where(table.c.record_id.in_(part)))
    rows = zip(
        keys["record_id"].to_numpy(dtype=np.int64).tolist(),
        keys["rule"].tolist(),
        keys["value"].tolist(),
        strict=True,
    )
    bulk.insert_rows(session, table, ("record_id", "rule", "value"), rows)
    if everything:
        session.execute(text(f"CREATE INDEX {_RULE_VALUE_INDEX} ON record_keys (rule, value)"))


def records_sharing_keys(
    *, session: Session, keys: dict[str, set[str]], id_keys: set[str]
) -> set[int]:
    """Records with any of these (rule → values) blocking keys or any of these ID keys."""
    out: set[int] = set()
    for rule, values in keys.items():
        rows = bulk.select_in(
            session, "SELECT record_id FROM record_keys WHERE rule = ? AND value IN ({in})",
            sorted(values), params=(rule,),
        )  # fmt: skip
        out.update(r for (r,) in rows)
    rows = bulk.select_in(
        session, "SELECT id FROM person_records WHERE id_key IN ({in})", sorted(id_keys)
    )
    out.update(r for (r,) in rows)
    return out


def all_record_ids(*, session: Session) -> set[int]:
    """Every stored record id."""
    return set(session.scalars(select(m.PersonRecord.id)))


def person_ids_of(*, session: Session, record_ids: Iterable[int]) -> dict[int, str | None]:
    """Current person id of each record."""
    rows = bulk.select_in(
        session, "SELECT id, person_id FROM person_records WHERE id IN ({in})",
        sorted(set(record_ids)),
    )  # fmt: skip
    return dict(rows)


def records_of_persons(*, session: Session, person_ids: Iterable[str]) -> set[int]:
    """Record ids of these persons."""
    out: set[int] = set()
    for part in _chunks(sorted(set(person_ids)), bulk.max_in_list(session)):
        stmt = select(m.PersonRecord.id).where(m.PersonRecord.person_id.in_(part))
        out.update(session.scalars(stmt))
    return out


def person_members(*, session: Session, person_ids: Iterable[str]) -> dict[int, str]:
    """Record id → person id of every record of these persons."""
    rows = bulk.select_in(
        session, "SELECT id, person_id FROM person_records WHERE person_id IN ({in})",
        sorted(set(person_ids)),
    )  # fmt: skip
    return {int(r): str(p) for r, p in rows}


def name_counts(*, session: Session, names: Iterable[str]) -> tuple[dict[str, int], int]:
    """Stored records per simplified name (for these names) and the number of records."""
    counts: dict[str, int] = {}
    for part in _chunks(sorted(set(names)), bulk.max_in_list(session)):
        stmt = (
            select(m.PersonRecord.name_simplified, func.count())
            .where(m.PersonRecord.name_simplified.in_(part))
            .group_by(m.PersonRecord.name_simplified)
        )
        counts.update({str(k): int(v) for k, v in session.execute(stmt)})
    total = session.scalar(select(func.count()).select_from(m.PersonRecord)) or 0
    return counts, int(total)


def manual_pairs(
    *, session: Session, record_ids: set[int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Active auditor decisions (same, different) with both records among ``record_ids``."""
    same: list[tuple[int, int]] = []
    different: list[tuple[int, int]] = []
    stmt = (
        select(m.DecisionPair.record_l, m.DecisionPair.record_r, m.Decision.verdict)
        .join(m.Decision, m.Decision.id == m.DecisionPair.decision_id)
        .where(m.Decision.undone_at.is_(None), m.Decision.verdict.in_(["same", "different"]))
    )
    for left, right, verdict in session.execute(stmt):
        if left in record_ids and right in record_ids:
            (same if verdict == "same" else different).append((left, right))
    return same, different


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """A review pair produced by linking (db record ids, left < right)."""

    record_l: int
    record_r: int
    match_weight: float
    band: str
    province_l: str
    province_r: str
    birth_year: int
    evidence: dict[str, Any]


def save_assignments(
    *,
    session: Session,
    assignments: dict[int, str],
    persons: dict[str, tuple[int, str]],
    removed: set[str],
    reviews: list[ReviewRow],
    scope: set[int],
    everything: bool = False,
    summaries: pd.DataFrame | None = None,
) -> None:
    """Write person ids of records, replace persons, refresh open review pairs in ``scope``.

    ``everything`` (a full relink): every person and every open review pair is replaced, and
    ``summaries`` (``id`` plus ``RECORD_SUMMARY`` columns) are written with the person ids in
    the same pass over the records.
    """
    ids = sorted(assignments)
    if summaries is not None:
        frame = summaries.set_index("id").reindex(ids)
        rows: Iterable[Sequence[Any]] = zip(
            ids, [assignments[i] for i in ids],
            *(frame[col].tolist() for col in RECORD_SUMMARY), strict=True,
        )  # fmt: skip
        update_records(session=session, columns=("person_id", *RECORD_SUMMARY), rows=rows)
    else:
        update_records(
            session=session, columns=("person_id",), rows=((i, assignments[i]) for i in ids)
        )
    persons_table = _table(m.Person)
    if everything:
        session.execute(delete(persons_table))
    else:
        gone = sorted(removed | set(persons))
        bulk.select_in(session, "DELETE FROM persons WHERE person_id IN ({in})", gone, fetch=False)
    now = m.utcnow()
    bulk.insert_rows(
        session, persons_table, ("person_id", "n_records", "history", "updated_at"),
        ((pid, n, doc, now) for pid, (n, doc) in persons.items()),
    )  # fmt: skip
    # items with (undone) decisions stay: the decision history points at them
    decided = select(m.Decision.review_id).where(m.Decision.review_id.is_not(None))
    if everything:
        session.execute(
            delete(m.ReviewItem).where(
                m.ReviewItem.status == "open", m.ReviewItem.id.not_in(decided)
            )
        )
    else:
        # open pairs touching the scope: few rows, so read them and delete by id
        open_items = select(m.ReviewItem.id, m.ReviewItem.record_l, m.ReviewItem.record_r).where(
            m.ReviewItem.status == "open", m.ReviewItem.id.not_in(decided)
        )
        stale = [
            i for i, left, right in session.execute(open_items) if left in scope or right in scope
        ]
        bulk.select_in(session, "DELETE FROM review_items WHERE id IN ({in})", stale, fetch=False)
    existing: set[tuple[int, int]] = set()
    for part in _chunks(sorted({r.record_l for r in reviews})):
        stmt = select(m.ReviewItem.record_l, m.ReviewItem.record_r).where(
            m.ReviewItem.record_l.in_(part)
        )
        existing.update(session.execute(stmt))
    fresh = [
        {
            "record_l": r.record_l, "record_r": r.record_r, "match_weight": r.match_weight,
            "band": r.band, "province_l": r.province_l, "province_r": r.province_r,
            "birth_year": r.birth_year, "evidence": json.dumps(r.evidence), "status": "open",
            "created_at": m.utcnow(),
        }
        for r in reviews
        if (r.record_l, r.record_r) not in existing
    ]  # fmt: skip
    for chunk in _chunks(fresh, 2000):
        session.execute(insert(m.ReviewItem), list(chunk))


def open_review_records(*, session: Session, record_ids: set[int]) -> set[int]:
    """Which of these records are in an open review pair."""
    out: set[int] = set()
    for part in _chunks(sorted(record_ids), bulk.max_in_list(session)):
        for side in (m.ReviewItem.record_l, m.ReviewItem.record_r):
            stmt = select(side).where(m.ReviewItem.status == "open", side.in_(part))
            out.update(session.scalars(stmt))
    return out


def record_sources(*, session: Session, record_ids: Iterable[int]) -> dict[int, str]:
    """First batch id of each record."""
    out: dict[int, str] = {}
    for part in _chunks(sorted(set(record_ids))):
        stmt = select(m.PersonRecord.id, m.PersonRecord.first_batch_id).where(
            m.PersonRecord.id.in_(part)
        )
        out.update(dict(session.execute(stmt).all()))
    return out


def person_partition(*, session: Session) -> dict[tuple[str, str], str | None]:
    """(source, person_ref) → person id, for every record (tests and relink reports)."""
    stmt = select(m.PersonRecord.source, m.PersonRecord.person_ref, m.PersonRecord.person_id)
    return {(s, r): p for s, r, p in session.execute(stmt)}


# --- models --------------------------------------------------------------------------------
def active_model(*, session: Session) -> str | None:
    """JSON of the newest active model."""
    stmt = (
        select(m.ModelVersion.model_json)
        .where(m.ModelVersion.active.is_(True))
        .order_by(m.ModelVersion.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def save_model(*, session: Session, model_json: str, trained_on_records: int) -> None:
    """Store a model and make it the active one."""
    session.execute(update(m.ModelVersion).values(active=False))
    session.add(m.ModelVersion(model_json=model_json, trained_on_records=trained_on_records))
    session.flush()


def lock_linking(*, session: Session) -> None:
    """Serialise linking across processes on PostgreSQL (a transaction-scoped advisory lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(5150001)"))


# --- persons and histories -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecordInfo:
    """A record's identity summary (raw values: mask before returning them)."""

    record_id: int
    source: str
    person_ref: str
    person_id: str | None
    id_key: str | None
    name_simplified: str | None
    name_pinyin: str | None
    n_doses: int


def _record_info(row: m.PersonRecord) -> RecordInfo:
    return RecordInfo(
        record_id=row.id, source=row.source, person_ref=row.person_ref, person_id=row.person_id,
        id_key=row.id_key, name_simplified=row.name_simplified, name_pinyin=row.name_pinyin,
        n_doses=row.n_doses,
    )  # fmt: skip


_RECORD_INFO_COLUMNS = (
    m.PersonRecord.id, m.PersonRecord.source, m.PersonRecord.person_ref,
    m.PersonRecord.person_id, m.PersonRecord.id_key, m.PersonRecord.name_simplified,
    m.PersonRecord.name_pinyin, m.PersonRecord.n_doses,
)  # fmt: skip


def records_by_id_key(*, session: Session, id_key: str) -> list[RecordInfo]:
    """Records carrying this ID key (plain columns: no ORM objects on the query hot path)."""
    stmt = select(*_RECORD_INFO_COLUMNS).where(m.PersonRecord.id_key == id_key)
    return [RecordInfo(*row) for row in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class IdentityHit:
    """A record carrying a queried ID key, with its person's stored history (JSON text)."""

    person_id: str | None
    name_simplified: str | None
    name_pinyin: str | None
    history: str | None


def identity_hits(*, session: Session | Connection, id_key: str) -> list[IdentityHit]:
    """Records with this ID key and their persons' histories: one indexed SELECT with a join
    (the history query's only read)."""
    stmt = (
        select(
            m.PersonRecord.person_id, m.PersonRecord.name_simplified, m.PersonRecord.name_pinyin,
            m.Person.history,
        )
        .outerjoin(m.Person, m.Person.person_id == m.PersonRecord.person_id)
        .where(m.PersonRecord.id_key == id_key)
    )  # fmt: skip
    return [IdentityHit(*row) for row in session.execute(stmt)]


def records_by_ids(*, session: Session, record_ids: Iterable[int]) -> list[RecordInfo]:
    """Records by id, in id order."""
    out: list[RecordInfo] = []
    for part in _chunks(sorted(set(record_ids))):
        stmt = select(m.PersonRecord).where(m.PersonRecord.id.in_(part)).order_by(m.PersonRecord.id)
        out.extend(_record_info(r) for r in session.scalars(stmt))
    return out


def records_of_person(*, session: Session, person_id: str) -> list[RecordInfo]:
    """Records of one person."""
    stmt = (
        select(m.PersonRecord)
        .where(m.PersonRecord.person_id == person_id)
        .order_by(m.PersonRecord.id)
    )
    return [_record_info(r) for r in session.scalars(stmt)]


def person_history(*, session: Session, person_id: str) -> dict[str, Any] | None:
    """The stored history document of a person."""
    doc = session.scalar(select(m.Person.history).where(m.Person.person_id == person_id))
    return None if doc is None else dict(json.loads(doc))


def person_histories(*, session: Session, person_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Stored history documents of several persons."""
    out: dict[str, dict[str, Any]] = {}
    for part in _chunks(sorted(set(person_ids))):
        stmt = select(m.Person.person_id, m.Person.history).where(m.Person.person_id.in_(part))
        out.update({pid: json.loads(doc) for pid, doc in session.execute(stmt)})
    return out


# --- reviews and decisions -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewData:
    """A review item with its evidence."""

    review_id: int
    status: str
    record_l: int
    record_r: int
    match_weight: float
    band: str
    evidence: dict[str, Any]


def _review_filter(
    stmt: Select[Any], *, province: str | None, band: str | None, status: str | None,
    birth_year_min: int | None, birth_year_max: int | None,
) -> Select[Any]:  # fmt: skip
    if province is not None:
        stmt = stmt.where(
            or_(m.ReviewItem.province_l == province, m.ReviewItem.province_r == province)
        )
    if band is not None:
        stmt = stmt.where(m.ReviewItem.band == band)
    if status is not None:
        stmt = stmt.where(m.ReviewItem.status == status)
    if birth_year_min is not None:
        stmt = stmt.where(m.ReviewItem.birth_year >= birth_year_min)
    if birth_year_max is not None:
        stmt = stmt.where(
            and_(m.ReviewItem.birth_year > 0, m.ReviewItem.birth_year <= birth_year_max)
        )
    return stmt


def list_reviews(
    *, session: Session, province: str | None, band: str | None, status: str | None,
    birth_year_min: int | None, birth_year_max: int | None, offset: int, limit: int,
) -> tuple[list[ReviewSummary], int]:  # fmt: skip
    """A page of review items (strongest first) and the total matching the filters."""

    def filtered(stmt: Select[Any]) -> Select[Any]:
        return _review_filter(
            stmt, province=province, band=band, status=status,
            birth_year_min=birth_year_min, birth_year_max=birth_year_max,
        )  # fmt: skip

    count = session.scalar(filtered(select(func.count(m.ReviewItem.id)))) or 0
    stmt = filtered(select(m.ReviewItem))
    stmt = stmt.order_by(m.ReviewItem.match_weight.desc(), m.ReviewItem.id).offset(offset)
    rows = session.scalars(stmt.limit(limit))
    data = [
        ReviewSummary(
            review_id=r.id, status=r.status, match_weight=round(r.match_weight, 3), band=r.band,
            provinces=[r.province_l, r.province_r], birth_year=r.birth_year or None,
            created_at=r.created_at,
        )
        for r in rows
    ]  # fmt: skip
    return data, int(count)


def review_backlog(*, session: Session) -> int:
    """Open review items."""
    stmt = select(func.count(m.ReviewItem.id)).where(m.ReviewItem.status == "open")
    return int(session.scalar(stmt) or 0)


def get_review(*, session: Session, review_id: int) -> ReviewData | None:
    """One review item."""
    row = session.get(m.ReviewItem, review_id)
    if row is None:
        return None
    return ReviewData(
        review_id=row.id, status=row.status, record_l=row.record_l, record_r=row.record_r,
        match_weight=row.match_weight, band=row.band, evidence=json.loads(row.evidence),
    )  # fmt: skip


def set_review_status(*, session: Session, review_id: int, status: str) -> None:
    """Mark a review item open or decided."""
    session.execute(update(m.ReviewItem).where(m.ReviewItem.id == review_id).values(status=status))


def _decision_public(row: m.Decision) -> DecisionPublic:
    return DecisionPublic(
        decision_id=row.id, kind=row.kind, verdict=row.verdict, review_id=row.review_id,
        reason=row.reason, created_at=row.created_at, undone_at=row.undone_at,
    )  # fmt: skip


def create_decision(
    *, session: Session, kind: str, verdict: str, reason: str, actor_key_id: int,
    pairs: Sequence[tuple[int, int]], review_id: int | None = None, person_id: str | None = None,
) -> DecisionPublic:  # fmt: skip
    """Record a decision and the record pairs it constrains."""
    row = m.Decision(
        kind=kind, verdict=verdict, reason=reason, actor_key_id=actor_key_id,
        review_id=review_id, person_id=person_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    rows = [{"decision_id": row.id, "record_l": min(a, b), "record_r": max(a, b)} for a, b in pairs]
    for chunk in _chunks(rows, 2000):
        session.execute(insert(m.DecisionPair), list(chunk))
    return _decision_public(row)


def get_decision(*, session: Session, decision_id: int) -> DecisionPublic | None:
    """One decision."""
    row = session.get(m.Decision, decision_id)
    return None if row is None else _decision_public(row)


def decisions_for_review(*, session: Session, review_id: int) -> list[DecisionPublic]:
    """Decisions taken on a review item, oldest first."""
    stmt = select(m.Decision).where(m.Decision.review_id == review_id).order_by(m.Decision.id)
    return [_decision_public(r) for r in session.scalars(stmt)]


def decision_records(*, session: Session, decision_id: int) -> set[int]:
    """Records a decision constrains."""
    stmt = select(m.DecisionPair.record_l, m.DecisionPair.record_r).where(
        m.DecisionPair.decision_id == decision_id
    )
    return {rid for pair in session.execute(stmt) for rid in pair}


def undo_decision(*, session: Session, decision_id: int, actor_key_id: int) -> None:
    """Mark a decision undone (it stays in the table)."""
    session.execute(
        update(m.Decision)
        .where(m.Decision.id == decision_id)
        .values(undone_at=m.utcnow(), undone_by=actor_key_id)
    )


def supersede_same_decisions(
    *, session: Session, groups: tuple[set[int], set[int]], actor_key_id: int
) -> list[int]:
    """Undo active "same" decisions that join the two groups (a split overrides them)."""
    left, right = groups
    stmt = (
        select(m.Decision.id, m.DecisionPair.record_l, m.DecisionPair.record_r)
        .join(m.DecisionPair, m.Decision.id == m.DecisionPair.decision_id)
        .where(m.Decision.undone_at.is_(None), m.Decision.verdict == "same")
    )
    hit = sorted(
        {
            did
            for did, a, b in session.execute(stmt)
            if (a in left and b in right) or (a in right and b in left)
        }
    )
    for did in hit:
        undo_decision(session=session, decision_id=did, actor_key_id=actor_key_id)
    return hit


# --- audit ---------------------------------------------------------------------------------
def add_audit(
    *, session: Session, actor: Principal | None, action: str, person_id: str | None = None,
    target: str | None = None, reason: str | None = None, detail: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Append one audit entry (never personal data in ``detail``)."""
    session.add(
        m.AuditEntry(
            actor_key_id=None if actor is None else actor.key_id,
            actor_role="system" if actor is None else actor.role.value,
            action=action, person_id=person_id, target=target, reason=reason,
            detail=None if detail is None else json.dumps(detail, ensure_ascii=False),
        )
    )  # fmt: skip


def add_audits(
    *, session: Session | Connection, actor: Principal, entries: Sequence[dict[str, Any]]
) -> None:
    """Append audit entries of one caller in one INSERT (no ORM objects on a hot path).

    Each entry has ``action`` and optionally ``person_id``, ``target``, ``reason``, ``detail``.
    """
    rows = [
        {
            "at": m.utcnow(), "actor_key_id": actor.key_id, "actor_role": actor.role.value,
            "action": e["action"], "person_id": e.get("person_id"), "target": e.get("target"),
            "reason": e.get("reason"),
            "detail": None if e.get("detail") is None
            else json.dumps(e["detail"], ensure_ascii=False),
        }
        for e in entries
    ]  # fmt: skip
    if rows:
        session.execute(insert(_table(m.AuditEntry)), rows)


def list_audit(
    *, session: Session, person_id: str | None, action: str | None, since: datetime | None,
    offset: int, limit: int,
) -> tuple[list[AuditEntryPublic], int]:  # fmt: skip
    """A page of the audit log, newest first."""
    conds = []
    if person_id is not None:
        conds.append(m.AuditEntry.person_id == person_id)
    if action is not None:
        conds.append(m.AuditEntry.action == action)
    if since is not None:
        conds.append(m.AuditEntry.at >= since)
    count = session.scalar(select(func.count(m.AuditEntry.id)).where(*conds)) or 0
    stmt = select(m.AuditEntry).where(*conds).order_by(m.AuditEntry.id.desc())
    rows = session.scalars(stmt.offset(offset).limit(limit))
    data = [
        AuditEntryPublic(
            id=r.id, at=r.at, actor_key_id=r.actor_key_id, actor_role=r.actor_role,
            action=r.action, person_id=r.person_id, target=r.target, reason=r.reason,
            detail=None if r.detail is None else json.loads(r.detail),
        )
        for r in rows
    ]  # fmt: skip
    return data, int(count)


def count_batches(*, session: Session) -> dict[str, int]:
    """Batches per status."""
    stmt = select(m.Batch.status, func.count()).group_by(m.Batch.status)
    return {str(s): int(n) for s, n in session.execute(stmt)}
