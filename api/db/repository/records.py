"""Person records and their dose rows, blocking keys, person ids and linking outcomes. Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from api.db import bulk
from api.db import models as m
from api.db.repository.common import CHUNK, DOSE_COLUMNS, in_chunks, orm_table
from matcher import columns as c


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
    table = orm_table(m.PersonRecord)
    for source, refs in by_source.items():
        if len(refs) > 20 * CHUNK:
            stmt = select(table.c.id, table.c.person_ref).where(table.c.source == source)
            for rid, ref in session.connection().execute(stmt):
                if (source, ref) in wanted:
                    found[(source, ref)] = rid
            continue
        for part in in_chunks(sorted(refs)):
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
    bulk.insert_rows(
        session, orm_table(m.DoseRow), ("batch_id", "record_id", "row", *columns), rows
    )


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
    bulk.update_rows(session, orm_table(m.PersonRecord), "id", columns, rows)


_RULE_VALUE_INDEX = "ix_record_keys_rule_value"


def replace_record_keys(
    *, session: Session, record_ids: Sequence[int], keys: pd.DataFrame, everything: bool = False
) -> None:
    """Replace the blocking-key rows (``record_id, rule, value``) of these records.

    ``everything`` (a full relink): empty the table, load the keys in primary-key order and
    build the ``(rule, value)`` index once afterwards instead of row by row.
    """
    table = orm_table(m.RecordKey)
    if everything:
        # record order: the primary-key index (record_id, rule, value) grows at its end
        keys = keys.iloc[np.argsort(keys["record_id"].to_numpy(dtype=np.int64), kind="stable")]
        pg = bulk.is_postgresql(session)
        session.execute(text("TRUNCATE record_keys" if pg else "DELETE FROM record_keys"))
        session.execute(text(f"DROP INDEX IF EXISTS {_RULE_VALUE_INDEX}"))
    else:
        for part in in_chunks(list(record_ids), bulk.max_in_list(session)):
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
    for part in in_chunks(sorted(set(person_ids)), bulk.max_in_list(session)):
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
    for part in in_chunks(sorted(set(names)), bulk.max_in_list(session)):
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
    persons_table = orm_table(m.Person)
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
    for part in in_chunks(sorted({r.record_l for r in reviews})):
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
    for chunk in in_chunks(fresh, 2000):
        session.execute(insert(m.ReviewItem), list(chunk))


def open_review_records(*, session: Session, record_ids: set[int]) -> set[int]:
    """Which of these records are in an open review pair."""
    out: set[int] = set()
    for part in in_chunks(sorted(record_ids), bulk.max_in_list(session)):
        for side in (m.ReviewItem.record_l, m.ReviewItem.record_r):
            stmt = select(side).where(m.ReviewItem.status == "open", side.in_(part))
            out.update(session.scalars(stmt))
    return out


def record_sources(*, session: Session, record_ids: Iterable[int]) -> dict[int, str]:
    """First batch id of each record."""
    out: dict[int, str] = {}
    for part in in_chunks(sorted(set(record_ids))):
        stmt = select(m.PersonRecord.id, m.PersonRecord.first_batch_id).where(
            m.PersonRecord.id.in_(part)
        )
        out.update(dict(session.execute(stmt).all()))
    return out


def person_partition(*, session: Session) -> dict[tuple[str, str], str | None]:
    """(source, person_ref) → person id, for every record (tests and relink reports)."""
    stmt = select(m.PersonRecord.source, m.PersonRecord.person_ref, m.PersonRecord.person_id)
    return {(s, r): p for s, r, p in session.execute(stmt)}
