"""Histories for the aggregator: POST /v1/histories/query, GET /v1/persons/{id}, splits."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Aggregator, Auditor, DatabaseDep, PersonReader, SessionDep, SettingsDep
from api.schemas.v1 import (
    HistoryQueryCreate,
    HistoryQueryPublic,
    PersonPublic,
    SplitCreate,
    SplitPublic,
)
from api.services import persons

router = APIRouter(prefix="/v1", tags=["histories"])


@router.post(
    "/histories/query",
    response_model=HistoryQueryPublic,
    summary="Merged histories of 1-5 identities (ID + name); IDs never go in a URL",
)
async def query_histories(
    body: HistoryQueryCreate, principal: Aggregator, database: DatabaseDep
) -> Response:
    """``found: false`` both for an unknown ID and for a known ID with another name.

    The busiest endpoint: one worker-thread hop for the whole request, and the JSON body
    built from the stored documents (same shape as ``HistoryQueryPublic``).
    """
    content = await run_in_threadpool(persons.query_histories, database, principal, body)
    return Response(content, media_type="application/json")


@router.get("/persons/{person_id}", response_model=PersonPublic, summary="One person")
def get_person(person_id: str, principal: PersonReader, session: SessionDep) -> PersonPublic:
    """Merged history and linked records, identifiers masked."""
    return persons.person_view(session, principal, person_id)


@router.post(
    "/persons/{person_id}/split",
    response_model=SplitPublic,
    summary="Separate records wrongly merged; doses are re-attributed",
)
def split_person(
    person_id: str,
    body: SplitCreate,
    principal: Auditor,
    session: SessionDep,
    settings: SettingsDep,
) -> SplitPublic:
    """The records listed are kept apart from the rest in every later relink."""
    return persons.split_person(session, settings, principal, person_id, body)
