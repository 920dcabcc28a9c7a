"""Review queue: list, detail, decision, undo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.db import repository as repo
from api.deps import Auditor, Offset, RowId, SessionDep, SettingsDep
from api.schemas.v1 import (
    DecisionPublic,
    ReviewDecisionCreate,
    ReviewList,
    ReviewPublic,
    UndoCreate,
)
from api.services import reviews

router = APIRouter(prefix="/v1", tags=["reviews"])


@router.get("/reviews", response_model=ReviewList, summary="Review queue (paged)")
def list_reviews(
    _principal: Auditor,
    session: SessionDep,
    province: Annotated[str | None, Query(pattern="^[0-9]{2}$")] = None,
    band: Annotated[str | None, Query(pattern="^(low|mid|high)$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|decided)$")] = "open",
    age_min: Annotated[int | None, Query(ge=0, le=130)] = None,
    age_max: Annotated[int | None, Query(ge=0, le=130)] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ReviewList:
    """Filter by province (either record), score band, age (from the older birth year)."""
    import datetime as dt

    year = dt.date.today().year
    data, count = repo.list_reviews(
        session=session, province=province, band=band, status=status,
        birth_year_min=None if age_max is None else year - age_max,
        birth_year_max=None if age_min is None else year - age_min,
        offset=offset, limit=limit,
    )  # fmt: skip
    return ReviewList(data=data, count=count)


@router.get("/reviews/{review_id}", response_model=ReviewPublic, summary="One review pair")
def get_review(review_id: RowId, principal: Auditor, session: SessionDep) -> ReviewPublic:
    """Both records masked, levels and weights, both histories and the would-be merge."""
    return reviews.review_detail(session, principal, review_id)


@router.post(
    "/reviews/{review_id}/decision", response_model=DecisionPublic, summary="Decide a pair"
)
def decide(
    review_id: RowId,
    body: ReviewDecisionCreate,
    principal: Auditor,
    session: SessionDep,
    settings: SettingsDep,
) -> DecisionPublic:
    """same / different / unsure, applied at once (the affected persons are relinked)."""
    return reviews.decide(session, settings, principal, review_id, body)


@router.post(
    "/decisions/{decision_id}/undo", response_model=DecisionPublic, summary="Undo a decision"
)
def undo(
    decision_id: RowId,
    body: UndoCreate,
    principal: Auditor,
    session: SessionDep,
    settings: SettingsDep,
) -> DecisionPublic:
    """The decision stays on record, marked undone; the affected persons are relinked."""
    return reviews.undo(session, settings, principal, decision_id, body.reason)
