"""Workbench sessions: a signed, http-only, SameSite=Strict cookie naming an auditor's key.

The cookie carries the key's database id and an expiry, signed with HMAC-SHA256; the token
itself is checked once at login and never stored in the browser. Every request re-reads the
key, so revoking it ends the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie

from api.auth import Principal, Role
from api.config import Settings
from api.db.repository import workbench as rrepo
from api.deps import DatabaseDep, SettingsDep

SESSION_COOKIE = "vx_session"
LANG_COOKIE = "vx_lang"
COOKIE_PATH = "/review"
CSRF_HEADER = "X-Vaxlink-Request"  # a custom header cross-site forms cannot send
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="workbench session")


class LoginRequired(Exception):
    """No valid auditor session on a page request (the handler redirects to the login page)."""


def session_secret(request: Request, settings: Settings) -> bytes:
    """The signing key: from settings, else one random key per app (sessions end on restart)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode("utf-8")
    secret: bytes | None = getattr(request.app.state, "session_secret", None)
    if secret is None:
        secret = secrets.token_bytes(32)
        request.app.state.session_secret = secret
    return secret


def _mac(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign_session(secret: bytes, key_id: int, *, hours: float, now: float | None = None) -> str:
    """Cookie value ``<key_id>.<expiry>.<nonce>.<mac>``."""
    expires = int((now if now is not None else time.time()) + hours * 3600)
    payload = f"{key_id}.{expires}.{secrets.token_urlsafe(8)}"
    return f"{payload}.{_mac(secret, payload)}"


def read_session(secret: bytes, value: str, *, now: float | None = None) -> int | None:
    """The key id of a valid, unexpired cookie value, else None."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    payload, mac = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(_mac(secret, payload), mac):
        return None
    try:
        key_id, expires = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return key_id if expires > (now if now is not None else time.time()) else None


def _auditor(request: Request, database: DatabaseDep, settings: Settings) -> Principal | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    key_id = read_session(session_secret(request, settings), value)
    if key_id is None:
        return None
    with database.transaction() as session:
        principal = rrepo.principal_by_key_id(session=session, key_id=key_id)
    return principal if principal is not None and principal.role == Role.AUDITOR else None


def page_auditor(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    _cookie_value: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The signed-in auditor of a page request (LoginRequired → redirect otherwise)."""
    principal = _auditor(request, database, settings)
    if principal is None:
        raise LoginRequired
    return principal


def api_auditor(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    _cookie_value: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The signed-in auditor of a JSON request; 401 without a session. Writes need the
    custom request header (SameSite=Strict already keeps the cookie off cross-site requests)."""
    principal = _auditor(request, database, settings)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in to the workbench")
    if request.method not in ("GET", "HEAD") and request.headers.get(CSRF_HEADER) != "1":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing {CSRF_HEADER} header")
    return principal


PageAuditor = Annotated[Principal, Depends(page_auditor)]
ApiAuditor = Annotated[Principal, Depends(api_auditor)]
