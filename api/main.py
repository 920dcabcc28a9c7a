"""The FastAPI application: ``create_app(settings)`` wires the database, routers and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import Settings, get_settings
from api.db.engine import Database
from api.deps import KeyCache
from api.metrics import Metrics
from api.routes import admin, batches, ops, persons, review_api, reviews
from api.services.errors import (
    Conflict,
    Failed,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    TooLarge,
    Unavailable,
)
from api.services.uploads import recover_interrupted
from api.web import pages as review_pages
from api.web.rate_limit import FailureLimiter
from api.web.review_auth import LoginRequired

logger = logging.getLogger("vaxlink.api")
STATIC_DIR = review_pages.STATIC_DIR

DESCRIPTION = """Merge API of vaxlink: provincial uploads, incremental linking, merged dose
histories for the national aggregator, the auditors' review queue, roles and audit.

Authenticate with `Authorization: Bearer <key>` (`vaxlink keys create --role …`). ID numbers
and names go in request bodies only, never in URLs; every answer masks identifiers."""


def _route_template(scope: Scope) -> str:
    """The matched route's path template (never the raw path), for metrics and logs."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class ObserveRequests:
    """Count and time every HTTP request per route template, and log it.

    A plain ASGI middleware: ``@app.middleware("http")`` (BaseHTTPMiddleware) costs a task and
    a stream per request, a large share of a ~3 ms history query.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            method = str(scope["method"])
            self.metrics.observe(method, route, status, seconds)
            logger.info("%s %s %d %.1fms", method, route, status, seconds * 1000)


def database_unavailable(_request: Request, exc: Exception) -> Response:
    """The database could not be reached (down, restarting): 503, try again shortly."""
    logger.warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse(
        {"detail": "database unavailable; try again shortly"}, status_code=503,
        headers={"Retry-After": "5"},
    )  # fmt: skip


async def invalid_request(_request: Request, exc: Exception) -> Response:
    """422 naming each wrong field and why, without echoing its value (ID numbers, names)."""
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k not in ("input", "url")} for e in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


# Each kind of service error and its HTTP status (the first class of an error's MRO found).
SERVICE_ERROR_STATUS: dict[type[ServiceError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Invalid: 422,
    TooLarge: 413,
    Unavailable: 503,
    Failed: 500,
}


def service_status(exc: ServiceError) -> int:
    """The HTTP status of a service error."""
    for kind in type(exc).__mro__:
        if kind in SERVICE_ERROR_STATUS:
            return SERVICE_ERROR_STATUS[kind]
    return 400


def service_error(_request: Request, exc: Exception) -> Response:
    """A service's refusal as JSON ``{..details, "detail": message}`` with its status."""
    assert isinstance(exc, ServiceError)
    return JSONResponse({**exc.details, "detail": str(exc)}, status_code=service_status(exc))


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured app; the schema is migrated at start-up unless disabled."""
    settings = settings or get_settings()
    database = Database(settings)
    if settings.migrate_on_start:
        database.migrate()
        recover_interrupted(database)  # batches a killed process left ``processing``

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        database.dispose()

    app = FastAPI(
        title="vaxlink merge API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = Metrics()
    app.state.key_cache = KeyCache()
    app.state.login_failures = FailureLimiter(
        settings.login_max_failures, settings.login_window_seconds
    )
    for router in (
        batches.router, persons.router, reviews.router, admin.router, ops.router,
        review_pages.router, review_api.router,
    ):  # fmt: skip
        app.include_router(router)
    app.mount("/review/static", StaticFiles(directory=STATIC_DIR), name="review-static")
    app.add_exception_handler(LoginRequired, review_pages.login_redirect)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)

    app.add_middleware(ObserveRequests, metrics=app.state.metrics)
    return app
