"""A live workbench on 127.0.0.1 (uvicorn in a thread) and headless Chromium via Playwright.

Skips with a message when Playwright or a Chromium binary is missing: install them with
``apt-get install -y chromium`` and ``pip install playwright`` (never ``playwright install``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.factories import make_synthetic
from tests.api.workbench_cases import with_cases
from tests.api.workbench_seed import REVIEWING, build_app, ensure_reviews, upload_all

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
ROOT = Path(__file__).resolve().parents[2]
# Test runs keep their screenshots out of the tracked tree; VAXLINK_UPDATE_SCREENSHOTS=1
# writes them over the documentation's (docs/screenshots/).
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("VAXLINK_UPDATE_SCREENSHOTS") == "1"
    else ROOT / "var" / "screenshots"
)


def chromium_path() -> str | None:
    """The Chromium to drive: ``VAXLINK_CHROMIUM`` or the first one on PATH."""
    explicit = os.environ.get("VAXLINK_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Live:
    """The running service."""

    url: str
    app: FastAPI
    keys: dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app on a seeded SQLite store (synthetic provinces and the hand-made review cases),
    served by uvicorn in a background thread."""
    uvicorn = pytest.importorskip("uvicorn")
    tmp = tmp_path_factory.mktemp("workbench")
    app, keys = build_app(f"sqlite:///{tmp / 'vaxlink.db'}", tmp, matching=REVIEWING)
    with TestClient(app) as client:
        upload_all(client, keys, with_cases(make_synthetic()))
    ensure_reviews(app.state.database, minimum=6)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", app, keys)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium, or a skip saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: .venv/bin/pip install playwright")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium found: apt-get install -y chromium (or set VAXLINK_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(
                executable_path=executable,
                args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage"],
            )
        except Exception as exc:  # a broken or sandboxed browser: say so, do not fail the suite
            pytest.skip(f"Chromium at {executable} could not start: {exc}")
        yield instance
        instance.close()


WIDE, NARROW = 1440, 390  # the widths the layout is checked and photographed at


@pytest.fixture
def context(browser):
    """A fresh browser profile (no cookies) per test, 1440 px wide."""
    ctx = browser.new_context(viewport={"width": WIDE, "height": 1000}, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture
def phone(browser):
    """A fresh 390 px wide profile (a phone held upright)."""
    ctx = browser.new_context(viewport={"width": NARROW, "height": 844}, locale="zh-CN")
    yield ctx
    ctx.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under ``SCREENSHOTS``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def case_items(live: Live) -> dict[str, int]:
    """The review item of each hand-made case (``tests.api.workbench_cases.CASES``) by name."""
    from api.db import repository as repo
    from api.db.repository import workbench as rrepo
    from tests.api.workbench_cases import CASES

    found: dict[str, int] = {}
    with live.app.state.database.transaction() as session:
        records = repo.records_by_ids(
            session=session, record_ids=repo.all_record_ids(session=session)
        )
        by_ref = {(r.source, r.person_ref): r.record_id for r in records}
        data, _ = rrepo.queue_page(session=session, limit=500)
        for row in data:
            item = repo.get_review(session=session, review_id=row.review_id)
            assert item is not None
            for case in CASES:
                if {item.record_l, item.record_r} == {by_ref[case.left], by_ref[case.right]}:
                    found[case.name] = row.review_id
    assert set(found) == {c.name for c in CASES}, found
    return found
