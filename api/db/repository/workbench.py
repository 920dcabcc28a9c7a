"""Queries of the auditor workbench: queue pages, progress, undo, overview figures, labels.

Keyword-only like ``api.db.repository``; returns plain values or schemas, never ORM rows.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Integer, Select, and_, case, cast, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from api.auth import Principal, Role
from api.db import models as m
from api.db.repository.records import ReviewRow
from api.schemas.v1 import DecisionPublic, ReviewSummary
from matcher.schedules import Flag


def cast_select(stmt: Any) -> Select[Any]:
    """A multi-column select typed loosely, so the shared filter helper accepts it."""
    return typing.cast(Select[Any], stmt)


QueueSort = Literal["score_desc", "score_asc", "age_desc", "age_asc", "newest", "oldest"]
_SORTS: dict[str, tuple[Any, ...]] = {
    "score_desc": (m.ReviewItem.match_weight.desc(), m.ReviewItem.id),
    "score_asc": (m.ReviewItem.match_weight.asc(), m.ReviewItem.id),
    "age_desc": (m.ReviewItem.birth_year.asc(), m.ReviewItem.id),  # oldest people first
    "age_asc": (m.ReviewItem.birth_year.desc(), m.ReviewItem.id),
    "newest": (m.ReviewItem.id.desc(),),
    "oldest": (m.ReviewItem.id.asc(),),
}
FLAG_NAMES: tuple[str, ...] = tuple(str(f.name).lower() for f in Flag)


def principal_by_key_id(*, session: Session, key_id: int) -> Principal | None:
    """The holder of a key by id (for signed sessions), or None when unknown or revoked."""
    row = session.get(m.ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    return Principal(key_id=row.id, role=Role(row.role), province=row.province, label=row.label)


# --- queue ---------------------------------------------------------------------------------
def _queue_filter(
    stmt: Select[Any], *, province: str | None, band: str | None, score_min: float | None,
    score_max: float | None, birth_year_min: int | None, birth_year_max: int | None,
) -> Select[Any]:  # fmt: skip
    item = m.ReviewItem
    stmt = stmt.where(item.status == "open")
    if province is not None:
        stmt = stmt.where(or_(item.province_l == province, item.province_r == province))
    if band is not None:
        stmt = stmt.where(item.band == band)
    if score_min is not None:
        stmt = stmt.where(item.match_weight >= score_min)
    if score_max is not None:
        stmt = stmt.where(item.match_weight <= score_max)
    if birth_year_min is not None:
        stmt = stmt.where(item.birth_year >= birth_year_min)
    if birth_year_max is not None:
        stmt = stmt.where(and_(item.birth_year > 0, item.birth_year <= birth_year_max))
    return stmt


def queue_page(
    *, session: Session, province: str | None = None, band: str | None = None,
    score_min: float | None = None, score_max: float | None = None,
    birth_year_min: int | None = None, birth_year_max: int | None = None,
    sort: QueueSort = "score_desc", offset: int = 0, limit: int = 50,
) -> tuple[list[ReviewSummary], int]:  # fmt: skip
    """A page of open review items in the chosen order, and how many match the filters."""

    def filtered(stmt: Select[Any]) -> Select[Any]:
        return _queue_filter(
            stmt, province=province, band=band, score_min=score_min, score_max=score_max,
            birth_year_min=birth_year_min, birth_year_max=birth_year_max,
        )  # fmt: skip

    count = session.scalar(filtered(select(func.count(m.ReviewItem.id)))) or 0
    item = m.ReviewItem
    cols = (item.id, item.status, item.match_weight, item.band, item.province_l,
            item.province_r, item.birth_year, item.created_at)  # fmt: skip
    base = cast_select(select(*cols))
    stmt = filtered(base).order_by(*_SORTS[sort]).offset(offset).limit(limit)
    data = [
        ReviewSummary(
            review_id=rid, status=status, match_weight=round(weight, 3), band=band_,
            provinces=[pl, pr], birth_year=year or None, created_at=created,
        )
        for rid, status, weight, band_, pl, pr, year, created in session.execute(stmt)
    ]  # fmt: skip
    return data, int(count)


def next_in_queue(
    *, session: Session, after: int, province: str | None = None, band: str | None = None,
    score_min: float | None = None, score_max: float | None = None,
    birth_year_min: int | None = None, birth_year_max: int | None = None,
    sort: QueueSort = "score_desc",
) -> int | None:  # fmt: skip
    """The open item that follows ``after`` in the filtered queue's order, wrapping round to the
    first; None when no other item is open. ``after`` itself need not be open any more."""
    item = m.ReviewItem
    current = session.get(item, after)

    def filtered(stmt: Select[Any]) -> Select[Any]:
        return _queue_filter(
            stmt, province=province, band=band, score_min=score_min, score_max=score_max,
            birth_year_min=birth_year_min, birth_year_max=birth_year_max,
        ).where(item.id != after)  # fmt: skip

    first = filtered(select(item.id)).order_by(*_SORTS[sort]).limit(1)
    if current is None:
        return session.scalar(first)
    later = _after(sort, current.match_weight, current.birth_year or 0, current.id)
    found = session.scalar(filtered(select(item.id)).where(later).order_by(*_SORTS[sort]).limit(1))
    return found if found is not None else session.scalar(first)


def _after(sort: str, weight: float, year: int, rid: int) -> Any:
    """Rows after (weight, birth year, id) in the order ``_SORTS[sort]``."""
    item = m.ReviewItem
    tie = item.id > rid
    if sort == "score_desc":
        return or_(item.match_weight < weight, and_(item.match_weight == weight, tie))
    if sort == "score_asc":
        return or_(item.match_weight > weight, and_(item.match_weight == weight, tie))
    if sort == "age_desc":
        return or_(item.birth_year > year, and_(item.birth_year == year, tie))
    if sort == "age_asc":
        return or_(item.birth_year < year, and_(item.birth_year == year, tie))
    return item.id < rid if sort == "newest" else tie


def queue_details(
    *, session: Session, review_ids: Sequence[int]
) -> dict[int, tuple[dict[str, Any], bool, bool]]:
    """Per item: its evidence and whether each of its two records has an ID number."""
    if not review_ids:
        return {}
    item = m.ReviewItem
    left, right = aliased(m.PersonRecord), aliased(m.PersonRecord)
    stmt = (
        select(item.id, item.evidence, left.id_key.is_not(None), right.id_key.is_not(None))
        .join(left, left.id == item.record_l)
        .join(right, right.id == item.record_r)
        .where(item.id.in_(list(review_ids)))
    )
    return {
        int(rid): (json.loads(evidence), bool(has_l), bool(has_r))
        for rid, evidence, has_l, has_r in session.execute(stmt)
    }


def progress(*, session: Session, actor_key_id: int, since: datetime) -> dict[str, int]:
    """Open items, and review decisions in force taken by this key (since ``since`` and ever)."""
    mine = and_(
        m.Decision.actor_key_id == actor_key_id,
        m.Decision.kind == "review",
        m.Decision.undone_at.is_(None),
    )
    today = session.scalar(
        select(func.count(m.Decision.id)).where(mine, m.Decision.created_at >= since)
    )
    total = session.scalar(select(func.count(m.Decision.id)).where(mine))
    open_items = session.scalar(
        select(func.count(m.ReviewItem.id)).where(m.ReviewItem.status == "open")
    )
    decided = session.scalar(
        select(func.count(m.ReviewItem.id)).where(m.ReviewItem.status == "decided")
    )
    return {
        "open": int(open_items or 0),
        "decided": int(decided or 0),
        "mine_today": int(today or 0),
        "mine_total": int(total or 0),
    }


def last_active_decision(*, session: Session, actor_key_id: int) -> DecisionPublic | None:
    """This key's newest decision still in force (review or split), or None."""
    row = session.scalar(
        select(m.Decision)
        .where(m.Decision.actor_key_id == actor_key_id, m.Decision.undone_at.is_(None))
        .order_by(m.Decision.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    return DecisionPublic(
        decision_id=row.id, kind=row.kind, verdict=row.verdict, review_id=row.review_id,
        reason=row.reason, created_at=row.created_at, undone_at=row.undone_at,
    )  # fmt: skip


def insert_review_items(
    *, session: Session, rows: Sequence[ReviewRow], status: str = "open"
) -> int:
    """Insert review items directly (benchmarks and test seeding); returns how many."""
    payload = [
        {
            "record_l": r.record_l, "record_r": r.record_r, "match_weight": r.match_weight,
            "band": r.band, "province_l": r.province_l, "province_r": r.province_r,
            "birth_year": r.birth_year, "evidence": json.dumps(r.evidence), "status": status,
            "created_at": m.utcnow(),
        }
        for r in rows
    ]  # fmt: skip
    for start in range(0, len(payload), 5000):
        session.execute(insert(m.ReviewItem), payload[start : start + 5000])
    return len(payload)


# --- overview ------------------------------------------------------------------------------
def province_counts(*, session: Session) -> list[dict[str, Any]]:
    """Per source province: records, and persons counted once at their first registration."""
    rec = m.PersonRecord
    records = {
        str(s): int(n)
        for s, n in session.execute(select(rec.source, func.count(rec.id)).group_by(rec.source))
    }
    first = (
        select(func.min(rec.id).label("rid"))
        .where(rec.person_id.is_not(None))
        .group_by(rec.person_id)
        .subquery()
    )
    stmt = select(rec.source, func.count()).join(first, first.c.rid == rec.id).group_by(rec.source)
    persons = {str(s): int(n) for s, n in session.execute(stmt)}
    return [
        {"province": p, "records": n, "persons": persons.get(p, 0)}
        for p, n in sorted(records.items())
    ]


def province_flows(*, session: Session) -> list[dict[str, Any]]:
    """Persons with records in both provinces of each pair (a < b)."""
    a, b = aliased(m.PersonRecord), aliased(m.PersonRecord)
    stmt = (
        select(a.source, b.source, func.count(func.distinct(a.person_id)))
        .join(b, and_(a.person_id == b.person_id, a.source < b.source))
        .where(a.person_id.is_not(None))
        .group_by(a.source, b.source)
        .order_by(a.source, b.source)
    )
    return [{"from": str(x), "to": str(y), "persons": int(n)} for x, y, n in session.execute(stmt)]


def weight_histogram(*, session: Session) -> list[dict[str, Any]]:
    """Review items per whole-unit match-weight bin and outcome (open or the verdict in force)."""
    active = (
        select(m.Decision.review_id, m.Decision.verdict)
        .where(m.Decision.undone_at.is_(None), m.Decision.review_id.is_not(None))
        .subquery()
    )
    # floor() without a dialect function: shift positive, truncate, shift back
    bin_ = cast(m.ReviewItem.match_weight + 1000.0, Integer) - 1000
    outcome = case(
        (m.ReviewItem.status == "open", "open"), else_=func.coalesce(active.c.verdict, "decided")
    )
    stmt = (
        select(bin_.label("bin"), outcome.label("outcome"), func.count(m.ReviewItem.id))
        .outerjoin(active, active.c.review_id == m.ReviewItem.id)
        .group_by("bin", "outcome")
        .order_by("bin")
    )
    return [
        {"bin": int(b), "outcome": str(o), "count": int(n)} for b, o, n in session.execute(stmt)
    ]


def _daily(session: Session, column: Any, *conds: Any) -> dict[date, int]:
    day = func.date(column)
    stmt = select(day, func.count()).where(*conds).group_by(day).order_by(day)
    out: dict[date, int] = {}
    for d, n in session.execute(stmt):
        key = d if isinstance(d, date) else date.fromisoformat(str(d)[:10])
        out[key] = out.get(key, 0) + int(n)
    return out


def backlog_series(*, session: Session) -> list[dict[str, Any]]:
    """Per day: review items created, review decisions in force taken, open backlog after."""
    created = _daily(session, m.ReviewItem.created_at)
    decided = _daily(
        session, m.Decision.created_at, m.Decision.kind == "review", m.Decision.undone_at.is_(None)
    )
    backlog = 0
    out = []
    for day in sorted(set(created) | set(decided)):
        backlog += created.get(day, 0) - decided.get(day, 0)
        out.append(
            {"date": day.isoformat(), "created": created.get(day, 0),
             "decided": decided.get(day, 0), "backlog": max(backlog, 0)}
        )  # fmt: skip
    return out


def flag_counts(*, session: Session) -> list[dict[str, Any]]:
    """Persons whose history carries each flag, and open review items per rule fired."""
    history = m.Person.history
    exprs = [func.sum(case((history.like(f'%"{name}"%'), 1), else_=0)) for name in FLAG_NAMES]
    row = session.execute(select(*exprs)).one()
    out: list[dict[str, Any]] = [
        {"kind": "history", "flag": name, "count": int(n or 0)}
        for name, n in zip(FLAG_NAMES, row, strict=True)
    ]
    rules = ("same_id_different_name", "other_name_without_id", "dose_conflict",
             "sex_contradicts_id")  # fmt: skip
    evidence = m.ReviewItem.evidence
    exprs = [func.sum(case((evidence.like(f'%"{rule}"%'), 1), else_=0)) for rule in rules]
    row = session.execute(select(*exprs).where(m.ReviewItem.status == "open")).one()
    out += [
        {"kind": "review_rule", "flag": rule, "count": int(n or 0)}
        for rule, n in zip(rules, row, strict=True)
    ]
    return [x for x in out if x["count"] > 0]


# --- labels for retraining -----------------------------------------------------------------
def labelled_pairs(*, session: Session) -> list[tuple[int, int, str]]:
    """(record_l, record_r, verdict) of every decision in force that says same or different.

    A pair labelled twice keeps its newest label.
    """
    stmt = (
        select(m.DecisionPair.record_l, m.DecisionPair.record_r, m.Decision.verdict)
        .join(m.Decision, m.Decision.id == m.DecisionPair.decision_id)
        .where(m.Decision.undone_at.is_(None), m.Decision.verdict.in_(["same", "different"]))
        .order_by(m.Decision.id)
    )
    latest: dict[tuple[int, int], str] = {}
    for left, right, verdict in session.execute(stmt):
        latest[(int(left), int(right))] = str(verdict)
    return [(a, b, latest[(a, b)]) for a, b in sorted(latest)]
