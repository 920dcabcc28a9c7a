"""The auditor workbench pages under /review: sign-in, queue, pair, person, overview."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth import Principal, Role
from api.db import repository as repo
from api.deps import DatabaseDep, RowId, SettingsDep
from api.web.i18n import Lang, normalise_lang, province_names, script_payload, translate
from api.web.rate_limit import FailureLimiter
from api.web.review_auth import (
    COOKIE_PATH,
    LANG_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    PageAuditor,
    session_secret,
    sign_session,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_URL = "/review/static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/review", tags=["workbench"], include_in_schema=False)


def _lang(request: Request) -> tuple[Lang, bool]:
    """The page language and whether the ``?lang=`` switch changed it (cookie to set)."""
    asked = request.query_params.get("lang")
    if asked in ("zh", "en"):
        return normalise_lang(asked), True
    return normalise_lang(request.cookies.get(LANG_COOKIE)), False


def render(
    request: Request, template: str, *, page: str, principal: Principal | None,
    status_code: int = 200, **context: Any,
) -> HTMLResponse:  # fmt: skip
    """A page with the language, texts, security headers and (if switched) the language cookie."""
    lang, switched = _lang(request)

    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "page": page, "principal": principal, "lang": lang, "t": t,
            "i18n_json": script_payload(lang), "provinces": province_names(lang),
            "static": lambda name: f"{STATIC_URL}/{name}", **context,
        },
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )  # fmt: skip
    if switched:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=COOKIE_PATH,
                            samesite="strict", httponly=True)  # fmt: skip
    return response


def login_redirect(_request: Request, _exc: Exception) -> Response:
    """Pages without a session go to the sign-in page."""
    return RedirectResponse("/review/login", status.HTTP_303_SEE_OTHER, headers=SECURITY_HEADERS)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The sign-in form (the key is posted, never put in a URL)."""
    return render(request, "login.html", page="login", principal=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    key: Annotated[str, Form(max_length=200)],
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """Check an auditor key once and start a signed session; other roles are refused.

    A client with too many recent failures gets 429 without its key being looked up.
    """
    lang, _ = _lang(request)
    limiter: FailureLimiter = request.app.state.login_failures
    client = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(client)
    if wait > 0:
        refused = render(request, "login.html", page="login", principal=None, status_code=429,
                         error=translate(lang, "login_too_many", minutes=math.ceil(wait / 60)))  # fmt: skip
        refused.headers["Retry-After"] = str(math.ceil(wait))
        return refused
    with database.transaction() as session:
        principal = repo.principal_for_token(session=session, token=key.strip())
        if principal is not None:
            repo.add_audit(
                session=session, actor=principal,
                action="review.login" if principal.role == Role.AUDITOR else "review.login_refused",
            )  # fmt: skip
    if principal is None:
        limiter.record_failure(client)
        return render(request, "login.html", page="login", principal=None, status_code=401,
                      error=translate(lang, "login_unknown"))  # fmt: skip
    limiter.reset(client)
    if principal.role != Role.AUDITOR:
        error = translate(lang, "login_refused_role", role=principal.role.value)
        return render(request, "login.html", page="login", principal=None, status_code=403,
                      error=error)  # fmt: skip
    response = RedirectResponse("/review", status.HTTP_303_SEE_OTHER, headers=SECURITY_HEADERS)
    value = sign_session(
        session_secret(request, settings), principal.key_id, hours=settings.session_hours
    )
    response.set_cookie(
        SESSION_COOKIE, value, max_age=int(settings.session_hours * 3600), path=COOKIE_PATH,
        httponly=True, secure=settings.session_cookie_secure, samesite="strict",
    )  # fmt: skip
    return response


@router.post("/logout")
def logout() -> Response:
    """End the session (the cookie is cleared)."""
    response = RedirectResponse("/review/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, principal: PageAuditor) -> HTMLResponse:
    """The open queue with filters, counts and progress."""
    return render(request, "queue.html", page="queue", principal=principal)


@router.get("/pair/{review_id}", response_class=HTMLResponse)
def pair_page(request: Request, review_id: RowId, principal: PageAuditor) -> HTMLResponse:
    """One pair's evidence and the decision buttons."""
    return render(request, "pair.html", page="pair", principal=principal, review_id=review_id)


@router.get("/person/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, person_id: str, principal: PageAuditor) -> HTMLResponse:
    """A person's records and history, with the split form."""
    return render(request, "person.html", page="person", principal=principal, person_id=person_id)


@router.get("/overview", response_class=HTMLResponse)
def overview_page(request: Request, principal: PageAuditor) -> HTMLResponse:
    """Charts over the whole store."""
    return render(request, "overview.html", page="overview", principal=principal)


__all__ = ["LoginRequired", "login_redirect", "router"]
