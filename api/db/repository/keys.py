"""API keys: create, revoke, and the principal of a token. Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

from sqlalchemy import (
    Connection,
    select,
)
from sqlalchemy.orm import Session

from api.auth import Principal, Role, hash_token, new_token
from api.db import models as m
from api.schemas.v1 import (
    KeyPublic,
)


def create_key(*, session: Session, role: Role, province: str | None, label: str = "") -> KeyPublic:
    """Store a new key (hashed) and return its metadata with the token, shown only now."""
    token = new_token()
    row = m.ApiKey(
        key_hash=hash_token(token), prefix=token[:10], role=role.value, province=province,
        label=label,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return KeyPublic(
        key_id=row.id, role=role, province=province, label=label, prefix=row.prefix,
        created_at=row.created_at, token=token,
    )  # fmt: skip


def revoke_key(*, session: Session, key_id: int) -> KeyPublic | None:
    """Mark a key revoked (it stays on record); None when there is no such key."""
    row = session.get(m.ApiKey, key_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = m.utcnow()
        session.flush()
    return KeyPublic(
        key_id=row.id, role=Role(row.role), province=row.province, label=row.label,
        prefix=row.prefix, created_at=row.created_at, revoked_at=row.revoked_at,
    )  # fmt: skip


def principal_for_token(*, session: Session | Connection, token: str) -> Principal | None:
    """The caller owning ``token``, or None for unknown or revoked keys."""
    return principal_for_hash(session=session, key_hash=hash_token(token))


def principal_for_hash(*, session: Session | Connection, key_hash: str) -> Principal | None:
    """The caller whose token hashes to ``key_hash``, or None for unknown or revoked keys."""
    stmt = select(
        m.ApiKey.id, m.ApiKey.role, m.ApiKey.province, m.ApiKey.label, m.ApiKey.revoked_at
    ).where(m.ApiKey.key_hash == key_hash)
    row = session.execute(stmt).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(key_id=row.id, role=Role(row.role), province=row.province, label=row.label)
