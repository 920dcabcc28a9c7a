"""FastAPI dependencies: settings, database, session (one transaction), caller and roles."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, Role, hash_token
from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database

_bearer = HTTPBearer(auto_error=False, description="API key: Authorization: Bearer <key>")


async def get_app_settings(request: Request) -> Settings:
    """The app's settings (given to ``create_app``); tests may override this dependency.

    Read from ``app.state`` rather than installed as a dependency override: any entry in
    ``app.dependency_overrides`` makes FastAPI rebuild every sub-dependency on every request.
    """
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_database(request: Request) -> Database:
    """The app's database (created in ``create_app``); async: no thread hop for a lookup."""
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_session(database: DatabaseDep) -> Iterator[Session]:
    """A session in one transaction: committed when the request succeeds, else rolled back."""
    with database.transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


class KeyCache:
    """Verified keys for a few seconds, by the SHA-256 of the token (never the token itself).

    Saves a database round trip per request. Only known, unrevoked keys are cached, so a
    revoked key stops working at the latest ``ttl`` seconds later (``clear`` makes it at once).
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 4096) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        """The cached principal of a token hash, if still fresh."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal) -> None:
        """Remember a verified key."""
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        """Forget every key (after a key changes)."""
        with self._lock:
            self._entries.clear()


def _principal_from_db(database: Database, digest: str) -> Principal | None:
    with database.engine.connect() as connection:  # a read: no ORM session, no commit
        return repo.principal_for_hash(session=connection, key_hash=digest)


async def current_principal(
    request: Request,
    database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller from its Bearer key; 401 when missing or unknown."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    digest = hash_token(credentials.credentials)
    cache: KeyCache = request.app.state.key_cache
    principal = cache.get(digest)
    if principal is None:
        principal = await run_in_threadpool(_principal_from_db, database, digest)
        if principal is not None:
            cache.put(digest, principal)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require_role(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """Dependency allowing only ``roles`` (403 otherwise)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not do this"
            )
        return principal

    return check


Uploader = Annotated[Principal, Depends(require_role(Role.UPLOADER))]
BatchReader = Annotated[Principal, Depends(require_role(Role.UPLOADER, Role.AUDITOR, Role.ADMIN))]
Aggregator = Annotated[Principal, Depends(require_role(Role.AGGREGATOR))]
PersonReader = Annotated[Principal, Depends(require_role(Role.AGGREGATOR, Role.AUDITOR))]
Auditor = Annotated[Principal, Depends(require_role(Role.AUDITOR))]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]


# Database integers are 64-bit: larger numbers in a path or query are a 422, not a driver error.
MAX_DB_INT = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="a stored row's id")]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="rows to skip")]
