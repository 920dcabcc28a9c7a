"""JSON endpoints of the workbench (/review/api/...): session cookie, auditors only, audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from api.db.repository import workbench as rrepo
from api.deps import Offset, RowId, SessionDep, SettingsDep
from api.schemas.review import (
    BatchDecisionCreate,
    BatchDecisionResult,
    DecisionCreateUI,
    DecisionResult,
    OverviewPublic,
    PairView,
    PersonWorkbench,
    QueuePublic,
    RevealCreate,
    RevealPublic,
    UndoCreateUI,
)
from api.schemas.v1 import ReviewDecisionCreate, SplitCreate, SplitPublic
from api.services import persons, reviews, workbench
from api.web.review_auth import ApiAuditor

router = APIRouter(prefix="/review/api", tags=["workbench"])


def no_store(response: Response) -> None:
    """Personal data must not be cached by the browser or proxies."""
    response.headers["Cache-Control"] = "no-store"


def queue_filters(
    province: Annotated[str | None, Query(pattern="^[0-9]{2}$")] = None,
    band: Annotated[str | None, Query(pattern="^(low|mid|high)$")] = None,
    score_min: Annotated[float | None, Query(ge=-1000, le=1000)] = None,
    score_max: Annotated[float | None, Query(ge=-1000, le=1000)] = None,
    age_min: Annotated[int | None, Query(ge=0, le=130)] = None,
    age_max: Annotated[int | None, Query(ge=0, le=130)] = None,
    sort: Annotated[
        str, Query(pattern="^(score_desc|score_asc|age_desc|age_asc|newest|oldest)$")
    ] = "score_desc",
) -> dict[str, Any]:
    """Queue filters as keyword arguments of ``repository.workbench.queue_page``."""
    year_min, year_max = workbench.birth_years(age_min, age_max)
    return {
        "province": province, "band": band, "score_min": score_min, "score_max": score_max,
        "birth_year_min": year_min, "birth_year_max": year_max, "sort": sort,
    }  # fmt: skip


Filters = Annotated[dict[str, Any], Depends(queue_filters)]
_NO_STORE = [Depends(no_store)]


@router.get("/queue", response_model=QueuePublic, dependencies=_NO_STORE)
def queue(
    principal: ApiAuditor,
    session: SessionDep,
    filters: Filters,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> QueuePublic:
    """A page of open items (filters, order), the total and the auditor's progress."""
    return workbench.queue(session, principal, filters=filters, offset=offset, limit=limit)


@router.get("/items/{review_id}", response_model=PairView, dependencies=_NO_STORE)
def item(
    review_id: RowId,
    principal: ApiAuditor,
    session: SessionDep,
    settings: SettingsDep,
    filters: Filters,
) -> PairView:
    """A pair's evidence: masked records with differences, ID checks, waterfall, histories."""
    return workbench.pair_view(session, settings, principal, review_id, filters)


@router.post("/items/{review_id}/decision", response_model=DecisionResult)
def decide(
    review_id: RowId,
    body: DecisionCreateUI,
    principal: ApiAuditor,
    session: SessionDep,
    settings: SettingsDep,
    filters: Filters,
) -> DecisionResult:
    """same / different / unsure, applied at once; answers with the item after it in the queue."""
    reason = body.reason.strip() or f"workbench: {body.decision}"
    create = ReviewDecisionCreate.model_validate({"decision": body.decision, "reason": reason})
    decision = reviews.decide(session, settings, principal, review_id, create)
    return DecisionResult(
        decision=decision, next_review_id=workbench.next_after(session, filters, review_id)
    )


@router.post("/decisions/batch", response_model=BatchDecisionResult)
def decide_batch(
    body: BatchDecisionCreate, principal: ApiAuditor, session: SessionDep, settings: SettingsDep
) -> BatchDecisionResult:
    """One verdict and one reason for the selected items (those no longer open are skipped)."""
    if not body.reason.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give a reason for the batch")
    create = ReviewDecisionCreate.model_validate(
        {"decision": body.decision, "reason": body.reason.strip()}
    )
    decisions, skipped = reviews.decide_many(session, settings, principal, body.review_ids, create)
    return BatchDecisionResult(decisions=decisions, skipped=skipped)


@router.post("/items/{review_id}/reveal", response_model=RevealPublic, dependencies=_NO_STORE)
def reveal(
    review_id: RowId, body: RevealCreate, principal: ApiAuditor, session: SessionDep
) -> RevealPublic:
    """One record's full ID number; who, which record, when and why go to the audit log."""
    return workbench.reveal(session, principal, review_id, body)


@router.post("/undo", response_model=DecisionResult)
def undo_last(
    body: UndoCreateUI, principal: ApiAuditor, session: SessionDep, settings: SettingsDep
) -> DecisionResult:
    """Undo this auditor's newest decision in force; the page returns to its item."""
    last = rrepo.last_active_decision(session=session, actor_key_id=principal.key_id)
    if last is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "nothing to undo")
    reason = body.reason.strip() or "undone in the workbench"
    undone = reviews.undo(session, settings, principal, last.decision_id, reason)
    return DecisionResult(decision=undone, next_review_id=undone.review_id)


@router.get("/persons/{person_id}", response_model=PersonWorkbench, dependencies=_NO_STORE)
def person(person_id: str, principal: ApiAuditor, session: SessionDep) -> PersonWorkbench:
    """One person with linked records (masked) and history (audited read)."""
    return PersonWorkbench(person=persons.person_view(session, principal, person_id))


@router.post("/persons/{person_id}/split", response_model=SplitPublic)
def split(
    person_id: str,
    body: SplitCreate,
    principal: ApiAuditor,
    session: SessionDep,
    settings: SettingsDep,
) -> SplitPublic:
    """Separate the listed records from the person; doses are re-attributed."""
    return persons.split_person(session, settings, principal, person_id, body)


@router.get("/overview", response_model=OverviewPublic, dependencies=_NO_STORE)
def overview(principal: ApiAuditor, session: SessionDep, settings: SettingsDep) -> OverviewPublic:
    """Figures of the overview charts."""
    return workbench.overview(session, settings, principal)
