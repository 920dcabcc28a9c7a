"""Fixtures: an app per test on SQLite and on PostgreSQL, API keys per role, synthetic data."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.auth import Role
from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database
from api.db.models import Base
from api.logging import MaskingFilter
from api.main import create_app
from matcher.settings import MatchSettings
from tests.api.factories import Synthetic, make_synthetic

PG_URL = os.environ.get(
    "VAXLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FAST = MatchSettings(u_sample_pairs=10_000, em_max_pairs=50_000)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A uniquely named PostgreSQL database for this session, dropped at the end."""
    url = make_url(PG_URL)
    conninfo = {
        "host": url.host or "127.0.0.1", "port": url.port or 5432,
        "user": url.username or "postgres", "dbname": url.database or "postgres",
        "autocommit": True, "connect_timeout": 3,
    }  # fmt: skip
    if url.password:
        conninfo["password"] = url.password
    try:
        admin = psycopg.connect(**conninfo)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"PostgreSQL not reachable at {url.host}:{url.port} ({exc}); set VAXLINK_TEST_PG_URL"
        )
    name = f"vaxlink_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh, empty database per test on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vaxlink.db'}"
    url: str = request.getfixturevalue("pg_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        existing = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            ).scalars()
        )
        tables = [t.name for t in Base.metadata.sorted_tables if t.name in existing]
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@dataclass
class Service:
    """A running app with one key per role."""

    client: TestClient
    settings: Settings
    database: Database
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def upload(self, who: str, content: bytes, filename: str = "export.csv"):
        return self.client.post(
            "/v1/batches", headers=self.auth(who), files={"file": (filename, content, "text/csv")}
        )


def make_service(url: str, tmp_path, **overrides) -> Iterator[Service]:
    settings = Settings(database_url=url, matching=overrides.pop("matching", FAST),
                        upload_dir=tmp_path, **overrides)  # fmt: skip
    app = create_app(settings)
    database: Database = app.state.database
    keys: dict[str, str] = {}
    with database.transaction() as session:
        for who, role, province in (
            ("admin", Role.ADMIN, None), ("auditor", Role.AUDITOR, None),
            ("aggregator", Role.AGGREGATOR, None), ("up11", Role.UPLOADER, "11"),
            ("up31", Role.UPLOADER, "31"), ("up44", Role.UPLOADER, "44"),
        ):  # fmt: skip
            key = repo.create_key(session=session, role=role, province=province, label=who)
            assert key.token is not None
            keys[who] = key.token
    with TestClient(app) as client:
        yield Service(client, settings, database, keys)


@pytest.fixture
def service(database_url: str, tmp_path) -> Iterator[Service]:
    yield from make_service(database_url, tmp_path)


@pytest.fixture(scope="session")
def synthetic() -> Synthetic:
    return make_synthetic()


@pytest.fixture
def masked_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every log record through the service's masking filter."""
    caplog.handler.addFilter(MaskingFilter())
    caplog.set_level(logging.DEBUG)
    return caplog
