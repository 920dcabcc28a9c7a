"""The audit log: who read or changed what. Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from api.auth import Principal
from api.db import models as m
from api.db.repository.common import orm_table
from api.schemas.v1 import (
    AuditEntryPublic,
)


def add_audit(
    *, session: Session, actor: Principal | None, action: str, person_id: str | None = None,
    target: str | None = None, reason: str | None = None, detail: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Append one audit entry (never personal data in ``detail``)."""
    session.add(
        m.AuditEntry(
            actor_key_id=None if actor is None else actor.key_id,
            actor_role="system" if actor is None else actor.role.value,
            action=action, person_id=person_id, target=target, reason=reason,
            detail=None if detail is None else json.dumps(detail, ensure_ascii=False),
        )
    )  # fmt: skip


def add_audits(
    *, session: Session | Connection, actor: Principal, entries: Sequence[dict[str, Any]]
) -> None:
    """Append audit entries of one caller in one INSERT (no ORM objects on a hot path).

    Each entry has ``action`` and optionally ``person_id``, ``target``, ``reason``, ``detail``.
    """
    rows = [
        {
            "at": m.utcnow(), "actor_key_id": actor.key_id, "actor_role": actor.role.value,
            "action": e["action"], "person_id": e.get("person_id"), "target": e.get("target"),
            "reason": e.get("reason"),
            "detail": None if e.get("detail") is None
            else json.dumps(e["detail"], ensure_ascii=False),
        }
        for e in entries
    ]  # fmt: skip
    if rows:
        session.execute(insert(orm_table(m.AuditEntry)), rows)


def list_audit(
    *, session: Session, person_id: str | None, action: str | None, since: datetime | None,
    offset: int, limit: int,
) -> tuple[list[AuditEntryPublic], int]:  # fmt: skip
    """A page of the audit log, newest first."""
    conds = []
    if person_id is not None:
        conds.append(m.AuditEntry.person_id == person_id)
    if action is not None:
        conds.append(m.AuditEntry.action == action)
    if since is not None:
        conds.append(m.AuditEntry.at >= since)
    count = session.scalar(select(func.count(m.AuditEntry.id)).where(*conds)) or 0
    stmt = select(m.AuditEntry).where(*conds).order_by(m.AuditEntry.id.desc())
    rows = session.scalars(stmt.offset(offset).limit(limit))
    data = [
        AuditEntryPublic(
            id=r.id, at=r.at, actor_key_id=r.actor_key_id, actor_role=r.actor_role,
            action=r.action, person_id=r.person_id, target=r.target, reason=r.reason,
            detail=None if r.detail is None else json.loads(r.detail),
        )
        for r in rows
    ]  # fmt: skip
    return data, int(count)
