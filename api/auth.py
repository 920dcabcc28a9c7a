"""API keys and roles: a key is a random token shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

TOKEN_PREFIX = "vxk_"


class Role(StrEnum):
    """What a key may do (see README, "Roles")."""

    AGGREGATOR = "aggregator"  # history queries, person reads
    UPLOADER = "uploader"  # uploads and its own batches, for one province
    AUDITOR = "auditor"  # review queue, decisions, splits, person reads
    ADMIN = "admin"  # keys, relink, audit log, any batch


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as resolved from its API key."""

    key_id: int
    role: Role
    province: str | None
    label: str = ""


def new_token() -> str:
    """A fresh high-entropy key (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (tokens are random, so no salt or stretching is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
