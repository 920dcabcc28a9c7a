"""Fixtures of the reliability tests: synthetic exports, databases, a live-server factory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.factories import Synthetic, make_synthetic
from tests.reliability import harness


@pytest.fixture(scope="session")
def synthetic() -> Synthetic:
    return make_synthetic()


@pytest.fixture(scope="session")
def files(synthetic: Synthetic) -> list[tuple[str, bytes]]:
    """The three provinces' exports in upload order (uploader name, CSV bytes)."""
    return [(f"up{p}", synthetic.csv(p)) for p in ("11", "31", "44")]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fresh_url(backend: str, tmp_path) -> Iterator[str]:
    """An empty database on the backend (PostgreSQL: the shared server, a new database)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'vaxlink.db'}"
        return
    try:
        with harness.shared_pg_database() as url:
            yield url
    except harness.Unavailable as exc:
        pytest.skip(str(exc))
