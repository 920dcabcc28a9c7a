"""Admin: keys (create, revoke), full relink, audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request, status

from api.auth import Role
from api.db import repository as repo
from api.deps import Admin, Offset, RowId, SessionDep, SettingsDep
from api.schemas.v1 import AuditList, KeyCreate, KeyPublic, RelinkPublic
from api.services.linking import link_scope

router = APIRouter(prefix="/v1", tags=["admin"])


@router.post("/keys", response_model=KeyPublic, status_code=201, summary="Create an API key")
def create_key(body: KeyCreate, principal: Admin, session: SessionDep) -> KeyPublic:
    """The token is in this answer only; uploaders need a province."""
    if (body.role == Role.UPLOADER) != (body.province is not None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "a province is required for uploaders only"
        )
    key = repo.create_key(session=session, role=body.role, province=body.province, label=body.label)
    repo.add_audit(
        session=session, actor=principal, action="key.create", target=f"key:{key.key_id}",
        detail={"role": body.role.value, "province": body.province},
    )  # fmt: skip
    return key


@router.delete("/keys/{key_id}", response_model=KeyPublic, summary="Revoke an API key")
def revoke_key(key_id: RowId, principal: Admin, session: SessionDep, request: Request) -> KeyPublic:
    """The key stops working at once in this process, within 5 s in the others."""
    key = repo.revoke_key(session=session, key_id=key_id)
    if key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such key")
    repo.add_audit(session=session, actor=principal, action="key.revoke", target=f"key:{key_id}")
    request.app.state.key_cache.clear()
    return key


@router.post("/relink", response_model=RelinkPublic, summary="Rebuild every person")
def relink(
    principal: Admin, session: SessionDep, settings: SettingsDep, retrain: bool = False
) -> RelinkPublic:
    """Relink all stored records (auditor decisions still apply); optionally retrain."""
    stats = link_scope(
        session, set(), settings.matching, today=pd.Timestamp.today().normalize(), full=True,
        retrain=retrain,
    )  # fmt: skip
    repo.add_audit(session=session, actor=principal, action="relink", detail={"retrain": retrain})
    return RelinkPublic(
        records=stats.records, persons=stats.persons, review_pairs=stats.review_pairs,
        retrained=stats.retrained, seconds=stats.seconds,
    )  # fmt: skip


@router.get("/audit", response_model=AuditList, summary="The audit log (newest first)")
def audit(
    _principal: Admin,
    session: SessionDep,
    person_id: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditList:
    """Who read or changed what, about whom, when and why."""
    data, count = repo.list_audit(
        session=session, person_id=person_id, action=action, since=since, offset=offset,
        limit=limit,
    )  # fmt: skip
    return AuditList(data=data, count=count)
