"""Review queue: pair detail with both histories and the would-be merge, decisions and undo."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from api.auth import Principal
from api.config import Settings
from api.db import repository as repo
from api.schemas.v1 import DecisionPublic, ReviewDecisionCreate, ReviewPublic
from api.services.errors import Conflict, NotFound
from api.services.linking import link_scope, merged_document
from api.services.persons import linked_record
from api.services.record_index import normalise_stored


def _today() -> pd.Timestamp:
    return pd.Timestamp.today().normalize()


def review_detail(session: Session, principal: Principal, review_id: int) -> ReviewPublic:
    """Both records (masked), levels and weights, both histories and the merged one."""
    item = repo.get_review(session=session, review_id=review_id)
    if item is None:
        raise NotFound("no such review item")
    left, right = repo.records_by_ids(session=session, record_ids=[item.record_l, item.record_r])
    pids = [left.person_id, right.person_id]
    docs = repo.person_histories(session=session, person_ids=[p for p in pids if p])
    members = repo.records_of_persons(session=session, person_ids=[p for p in pids if p])
    raw = repo.load_doses(session=session, record_ids=members | {left.record_id, right.record_id})
    merged = merged_document(normalise_stored(raw, today=_today()), today=_today())
    for pid in {p for p in pids if p}:
        repo.add_audit(
            session=session, actor=principal, action="review.read", person_id=pid,
            target=f"review:{review_id}",
        )  # fmt: skip
    return ReviewPublic(
        review_id=item.review_id,
        status=item.status,
        match_weight=round(item.match_weight, 3),
        band=item.band,
        left=linked_record(left, principal.role),
        right=linked_record(right, principal.role),
        person_ids=pids,
        levels=item.evidence.get("levels", {}),
        weights=item.evidence.get("weights", {}),
        rules_fired=item.evidence.get("rules_fired", []),
        histories=[docs.get(p) if p else None for p in pids],
        merged_history=merged,
        decisions=repo.decisions_for_review(session=session, review_id=review_id),
    )


def decide(
    session: Session,
    settings: Settings,
    principal: Principal,
    review_id: int,
    body: ReviewDecisionCreate,
) -> DecisionPublic:
    """Record a verdict and relink the two records' persons at once."""
    item = repo.get_review(session=session, review_id=review_id)
    if item is None:
        raise NotFound("no such review item")
    if item.status != "open":
        raise Conflict("already decided; undo the decision first")
    decision = _record_decision(session, principal, item, body)
    (done,) = _relink_and_audit(
        session, settings, principal, [(decision, {item.record_l, item.record_r})],
        "review.decide",
    )  # fmt: skip
    return done


def decide_many(
    session: Session,
    settings: Settings,
    principal: Principal,
    review_ids: list[int],
    body: ReviewDecisionCreate,
) -> tuple[list[DecisionPublic], list[int]]:
    """One verdict and reason for several items, relinked together; items that are unknown or
    no longer open are skipped and listed."""
    applied: list[tuple[DecisionPublic, set[int]]] = []
    skipped: list[int] = []
    for review_id in dict.fromkeys(review_ids):
        item = repo.get_review(session=session, review_id=review_id)
        if item is None or item.status != "open":
            skipped.append(review_id)
            continue
        decision = _record_decision(session, principal, item, body)
        applied.append((decision, {item.record_l, item.record_r}))
    if not applied:
        return [], skipped
    return _relink_and_audit(session, settings, principal, applied, "review.decide"), skipped


def _record_decision(
    session: Session, principal: Principal, item: repo.ReviewData, body: ReviewDecisionCreate
) -> DecisionPublic:
    decision = repo.create_decision(
        session=session, kind="review", verdict=body.decision, reason=body.reason,
        actor_key_id=principal.key_id, review_id=item.review_id,
        pairs=[(item.record_l, item.record_r)],
    )  # fmt: skip
    repo.set_review_status(session=session, review_id=item.review_id, status="decided")
    return decision


def undo(
    session: Session, settings: Settings, principal: Principal, decision_id: int, reason: str
) -> DecisionPublic:
    """Undo a decision (it stays on record) and relink the records it constrained."""
    decision = repo.get_decision(session=session, decision_id=decision_id)
    if decision is None:
        raise NotFound("no such decision")
    if decision.undone_at is not None:
        raise Conflict("decision already undone")
    repo.undo_decision(session=session, decision_id=decision_id, actor_key_id=principal.key_id)
    if decision.review_id is not None:
        repo.set_review_status(session=session, review_id=decision.review_id, status="open")
    records = repo.decision_records(session=session, decision_id=decision_id)
    undone = repo.get_decision(session=session, decision_id=decision_id)
    assert undone is not None
    (done,) = _relink_and_audit(
        session, settings, principal, [(undone, records)], "decision.undo", reason=reason
    )
    return done


def _relink_and_audit(
    session: Session,
    settings: Settings,
    principal: Principal,
    decided: list[tuple[DecisionPublic, set[int]]],
    action: str,
    reason: str | None = None,
) -> list[DecisionPublic]:
    """One relink over every decision's records, then an audit entry per decision and person."""
    records = set().union(*(r for _, r in decided))
    before = repo.person_ids_of(session=session, record_ids=records)
    stats = link_scope(session, records, settings.matching, today=_today())
    out = []
    for decision, mine in decided:
        after = sorted({stats.assignments[r] for r in mine if r in stats.assignments})
        was = {pid for r in mine if (pid := before.get(r))}
        for pid in sorted(was | set(after)):
            repo.add_audit(
                session=session, actor=principal, action=action, person_id=pid,
                target=f"decision:{decision.decision_id}", reason=reason or decision.reason,
                detail={"verdict": decision.verdict, "review_id": decision.review_id},
            )  # fmt: skip
        out.append(decision.model_copy(update={"person_ids": after}))
    return out
