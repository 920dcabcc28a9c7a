"""Operations: GET /healthz, GET /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from api.db import repository as repo
from api.deps import DatabaseDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness and database reachability")
def healthz(database: DatabaseDep) -> dict[str, str]:
    """``{"status": "ok"}`` when the database answers."""
    with database.transaction() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(request: Request, database: DatabaseDep) -> PlainTextResponse:
    """Requests, latencies, batches and the review backlog (text exposition format)."""
    with database.transaction() as session:
        backlog = repo.review_backlog(session=session)
        stored = repo.count_batches(session=session)
    body = request.app.state.metrics.render(review_backlog=backlog, batches_stored=stored)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")
