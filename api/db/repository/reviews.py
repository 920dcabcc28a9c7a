"""Review items and auditor decisions (create, undo, supersede). Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from api.db import models as m
from api.db.repository.common import in_chunks
from api.schemas.v1 import (
    DecisionPublic,
    ReviewSummary,
)


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
    for chunk in in_chunks(rows, 2000):
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
