"""Persons and their merged histories; records by ID key, by id, by person. Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)
from sqlalchemy.orm import Session

from api.db import models as m
from api.db.repository.common import in_chunks


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
    for part in in_chunks(sorted(set(record_ids))):
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
    for part in in_chunks(sorted(set(person_ids))):
        stmt = select(m.Person.person_id, m.Person.history).where(m.Person.person_id.in_(part))
        out.update({pid: json.loads(doc) for pid, doc in session.execute(stmt)})
    return out
