"""FastAPI dependencies: settings, database, session (one transaction), caller and roles."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api import repository as repo
from api.auth import Principal, Role
from api.config import Settings, get_settings
from api.db import Database

SettingsDep = Annotated[Settings, Depends(get_settings)]
_bearer = HTTPBearer(auto_error=False, description="API key: Authorization: Bearer <key>")


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


def current_principal(
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
    with database.engine.connect() as connection:  # a read: no ORM session, no commit
        principal = repo.principal_for_token(session=connection, token=credentials.credentials)
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
