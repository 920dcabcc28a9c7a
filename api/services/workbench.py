"""The auditor workbench's views: the queue page, the evidence of one pair, the overview.

What each role may see of the identifiers is decided in ``api.services.pair_evidence``; why a pair is in
review is worded by ``api.services.review_labels``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from api.auth import Principal, Role
from api.config import Settings
from api.db import repository as repo
from api.db.repository import workbench as rrepo
from api.schemas.review import (
    OverviewPublic,
    PairView,
    QueueItem,
    QueueProgress,
    QueuePublic,
    RevealCreate,
    RevealPublic,
    WaterfallStep,
)
from api.schemas.v1 import ReviewPublic
from api.services import pair_evidence as ev
from api.services import reviews
from api.services.errors import Forbidden, NotFound
from api.services.review_labels import reasons
from matcher.compare import FIELDS, LEVELS
from matcher.masking import scrub_text
from matcher.regions import PROVINCES
from matcher.settings import MatchSettings

# Fields whose compared value may come from the ID number, and how to tell per record.
_DERIVED = {"birth_date": ev.birth_source, "sex": ev.sex_source, "region": ev.region_source}
_ID_AGREES = 2  # ID levels from here up: equal after upgrade, exact


def birth_years(age_min: int | None, age_max: int | None) -> tuple[int | None, int | None]:
    """Age bounds (years) → birth-year bounds, as the /v1 queue computes them."""
    year = dt.date.today().year
    return (
        None if age_max is None else year - age_max,
        None if age_min is None else year - age_min,
    )


def queue(
    session: Session, principal: Principal, *, filters: dict[str, Any], offset: int, limit: int
) -> QueuePublic:
    """A page of the open queue with each item's reason, its count and the auditor's progress
    (the read is audited)."""
    data, count = rrepo.queue_page(session=session, offset=offset, limit=limit, **filters)
    details = rrepo.queue_details(session=session, review_ids=[d.review_id for d in data])
    items = []
    for d in data:
        evidence, has_l, has_r = details.get(d.review_id, ({}, False, False))
        why = reasons(
            evidence.get("rules_fired", []), d.band, has_ids=(has_l, has_r),
            id_level=int(evidence.get("levels", {}).get("id", -1)),
        )  # fmt: skip
        items.append(QueueItem(**d.model_dump(), reasons=why))
    since = dt.datetime.combine(dt.date.today(), dt.time.min, tzinfo=dt.UTC)
    progress = rrepo.progress(session=session, actor_key_id=principal.key_id, since=since)
    repo.add_audit(
        session=session, actor=principal, action="review.queue",
        detail={"offset": offset, "limit": limit, "returned": len(data)},
    )  # fmt: skip
    return QueuePublic(
        data=items, count=count, offset=offset, limit=limit, progress=QueueProgress(**progress)
    )


def next_after(session: Session, filters: dict[str, Any], current: int) -> int | None:
    """The open item after ``current`` in the filtered queue's order (wrapping round)."""
    return rrepo.next_in_queue(session=session, after=current, **filters)


# --- pair evidence -------------------------------------------------------------------------
def _level_key(field: str, level: int) -> str:
    return f"level_{field}_{LEVELS[field][level]}" if level >= 0 else "level_missing"


def _implied(sources: list[str], id_level: int) -> str | None:
    """Message key saying which compared values came from the ID number."""
    from_id = [s == "id" for s in sources]
    if all(from_id) and from_id:
        return "wf_implied_repeat" if id_level >= _ID_AGREES else "wf_implied_both"
    if any(from_id):
        return "wf_implied_left" if from_id[0] else "wf_implied_right"
    return None


def waterfall(
    review: ReviewPublic, facts: tuple[ev.Facts, ev.Facts] | None = None
) -> list[WaterfallStep]:
    """Prior, then each field's weight, then rules, accumulating to the item's match weight.

    With the records' ``facts``, fields compared on a value the ID number implies say so.
    """
    weights = {k: float(v) for k, v in review.weights.items()}
    prior = review.match_weight - sum(weights.values())
    steps = [
        WaterfallStep(key="prior", level=None, weight=round(prior, 3), running=round(prior, 3))
    ]
    running = prior
    id_level = int(review.levels.get("id", -1))
    for field in FIELDS:
        level = int(review.levels.get(field, -1))
        running += weights.get(field, 0.0)
        source = _DERIVED.get(field)
        sources = [source(f) for f in facts] if source is not None and facts else []
        steps.append(
            WaterfallStep(
                key=field, level=_level_key(field, level),
                weight=round(weights.get(field, 0.0), 3), running=round(running, 3),
                sources=sources, implied=_implied(sources, id_level) if level >= 0 else None,
            )
        )  # fmt: skip
    running += weights.get("rules", 0.0)
    steps.append(
        WaterfallStep(
            key="rules", level="rules_adjust" if review.rules_fired else "no_rules",
            weight=round(weights.get("rules", 0.0), 3), running=round(running, 3),
        )
    )  # fmt: skip
    return steps


def _coarse(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """Birth day hidden: with the masked ID's visible digits it would complete the number."""
    if doc is None or not doc.get("birth_date"):
        return doc
    return {**doc, "birth_date": ev.mask_birth(str(doc["birth_date"]))}


def thresholds(settings: MatchSettings) -> dict[str, float]:
    """The review and match cut-offs (match weights)."""
    return {"review": settings.review_weight, "match": settings.match_weight}


def pair_view(
    session: Session, settings: Settings, principal: Principal, review_id: int,
    filters: dict[str, Any],
) -> PairView:  # fmt: skip
    """Both records as the role may see them, how their IDs and names differ, the waterfall
    and the histories (audited read)."""
    review = reviews.review_detail(session, principal, review_id)
    review = review.model_copy(
        update={
            "histories": [_coarse(h) for h in review.histories],
            "merged_history": _coarse(review.merged_history),
        }
    )
    view = ev.view_of(principal.role)
    ids = [review.left.record_id, review.right.record_id]
    facts = ev.load_facts(session, ids, pd.Timestamp.today().normalize())
    a, b = facts[ids[0]], facts[ids[1]]
    records, name_kinds = ev.pair_records(review, facts, view)
    comparison = ev.compare_ids(a, b, view)
    steps = waterfall(review, (a, b))
    why = reasons(
        review.rules_fired, review.band, has_ids=(bool(a.id_key), bool(b.id_key)),
        id_level=int(review.levels.get("id", -1)), guardian=a.borrowed or b.borrowed,
        other_documents=comparison.relation == "other_documents",
    )  # fmt: skip
    repeated = sum(s.weight for s in steps if s.implied == "wf_implied_repeat" and s.weight > 0)
    return PairView(
        review=review, view=view, records=records, name_kinds=name_kinds,
        id_comparison=comparison, reasons=why, waterfall=steps,
        repeated_weight=round(repeated, 3), thresholds=thresholds(settings.matching),
        next_review_id=next_after(session, filters, review_id),
    )  # fmt: skip


def reveal(
    session: Session, principal: Principal, review_id: int, body: RevealCreate
) -> RevealPublic:
    """One record's full ID number, for an auditor, with who / which record / why audited."""
    if principal.role != Role.AUDITOR:
        raise Forbidden("auditors only")
    item = repo.get_review(session=session, review_id=review_id)
    if item is None:
        raise NotFound("no such review item")
    if body.record_id not in (item.record_l, item.record_r):
        raise NotFound("that record is not in this pair")
    facts = ev.load_facts(session, [body.record_id], pd.Timestamp.today().normalize())
    record = facts.get(body.record_id)
    if record is None or not record.id_key:
        raise NotFound("that record has no ID number")
    person = repo.person_ids_of(session=session, record_ids=[body.record_id]).get(body.record_id)
    repo.add_audit(
        session=session, actor=principal, action="review.reveal_id", person_id=person,
        target=f"record:{body.record_id}", reason=scrub_text(body.reason.strip()),
        detail={"review_id": review_id},
    )  # fmt: skip
    number, written = ev.reveal_number(record)
    return RevealPublic(record_id=body.record_id, id_number=number, as_written=written)


def overview(session: Session, settings: Settings, principal: Principal) -> OverviewPublic:
    """Aggregates for the overview charts (no personal data; the read is audited)."""
    repo.add_audit(session=session, actor=principal, action="review.overview")
    return OverviewPublic(
        provinces=rrepo.province_counts(session=session),
        province_names=dict(PROVINCES),
        flows=rrepo.province_flows(session=session),
        weights=rrepo.weight_histogram(session=session),
        thresholds=thresholds(settings.matching),
        backlog=rrepo.backlog_series(session=session),
        flags=rrepo.flag_counts(session=session),
    )
