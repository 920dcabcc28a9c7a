"""The stored matching model, and the lock that serialises linking jobs. Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

from sqlalchemy import (
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from api.db import models as m


def active_model(*, session: Session) -> str | None:
    """JSON of the newest active model."""
    stmt = (
        select(m.ModelVersion.model_json)
        .where(m.ModelVersion.active.is_(True))
        .order_by(m.ModelVersion.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def save_model(*, session: Session, model_json: str, trained_on_records: int) -> None:
    """Store a model and make it the active one."""
    session.execute(update(m.ModelVersion).values(active=False))
    session.add(m.ModelVersion(model_json=model_json, trained_on_records=trained_on_records))
    session.flush()


def lock_linking(*, session: Session) -> None:
    """Serialise linking across processes on PostgreSQL (a transaction-scoped advisory lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(5150001)"))
