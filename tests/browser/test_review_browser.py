"""The auditor workbench in headless Chromium: sign-in, keyboard decisions, undo, split,
role refusal, overview charts. Screenshots go to var/screenshots/ (docs/screenshots/ with
VAXLINK_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import re

import pytest

from api import repository as repo
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def _login(context, live, who: str = "auditor"):
    page = context.new_page()
    page.goto(f"{live.url}/review")
    assert page.url.endswith("/review/login")
    page.fill("#key", live.keys[who])
    page.click("#login-submit")
    return page


def _active_verdict(live, review_id: int) -> str | None:
    with live.app.state.database.transaction() as session:
        decisions = repo.decisions_for_review(session=session, review_id=review_id)
    active = [d for d in decisions if d.undone_at is None]
    return active[-1].verdict if active else None


def test_auditor_signs_in_and_sees_the_queue(context, live):
    page = _login(context, live)
    page.wait_for_selector("#queue-body tr.row")
    assert re.fullmatch(rf"{re.escape(live.url)}/review(\?sort=score_desc)?", page.url)
    assert live.keys["auditor"] not in page.url
    cookie = next(c for c in context.cookies() if c["name"] == "vx_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("vx_session") == -1  # invisible to scripts
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#count-open").inner_text() != "–"
    rows = page.locator("#queue-body tr.row").count()
    assert rows >= 6
    screenshot(page, "queue")
    page.click("text=English")
    page.wait_for_selector("text=Score, high to low", state="attached")
    page.click("text=中文")


def test_decide_with_keyboard_then_undo(context, live):
    page = _login(context, live)
    page.wait_for_selector("#queue-body tr.row")
    first = int(page.locator("#queue-body tr.row").first.get_attribute("data-review-id"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/review/pair/{first}$"))
    page.wait_for_selector("#waterfall svg rect.wf-bar")
    page.wait_for_selector("#timeline svg circle.dose-dot")
    assert page.locator("#records mark.diff, #records .chars").count() > 0
    screenshot(page, "pair")

    page.keyboard.press("d")
    page.wait_for_selector(f"#pair:not([data-review-id='{first}'])", timeout=15000)
    assert _active_verdict(live, first) == "different"
    nxt = int(page.locator("#pair").get_attribute("data-review-id"))
    assert nxt != first and page.url.endswith(f"/review/pair/{nxt}")

    page.keyboard.press("z")
    page.wait_for_selector(f"#pair[data-review-id='{first}'][data-status='open']", timeout=15000)
    assert _active_verdict(live, first) is None
    assert page.locator("#btn-same").is_enabled()


def test_split_a_person(context, live):
    page = _login(context, live)
    page.wait_for_selector("#queue-body tr.row")
    target = int(page.locator("#queue-body tr.row").nth(1).get_attribute("data-review-id"))
    page.goto(f"{live.url}/review/pair/{target}")
    page.wait_for_selector("#waterfall svg rect.wf-bar")
    page.fill("#reason", "same lot numbers and phone")
    page.click("#btn-same")
    page.wait_for_selector(f"#pair:not([data-review-id='{target}'])", timeout=15000)
    assert _active_verdict(live, target) == "same"
    with live.app.state.database.transaction() as session:
        item = repo.get_review(session=session, review_id=target)
        assert item is not None
        pids = set(
            repo.person_ids_of(session=session, record_ids=[item.record_l, item.record_r]).values()
        )
    assert len(pids) == 1
    (pid,) = pids
    page.goto(f"{live.url}/review/person/{pid}")
    page.wait_for_selector("input[name=record]")
    assert page.locator("input[name=record]").count() == 2
    page.locator("input[name=record]").last.check()
    page.fill("#split-reason", "twins: different lot numbers")
    page.click("#split-submit")
    page.wait_for_selector("#split-result")
    assert page.locator(".person-card").count() == 2
    with live.app.state.database.transaction() as session:
        after = set(
            repo.person_ids_of(session=session, record_ids=[item.record_l, item.record_r]).values()
        )
    assert len(after) == 2


@pytest.mark.parametrize("who", ["up11", "aggregator"])
def test_other_roles_are_refused(context, live, who):
    page = _login(context, live, who)
    page.wait_for_selector("#login-error")
    assert "审核员" in page.locator("#login-error").inner_text()
    assert not [c for c in context.cookies() if c["name"] == "vx_session"]
    page.goto(f"{live.url}/review")
    assert page.url.endswith("/review/login")


def test_overview_draws_its_charts(context, live):
    page = _login(context, live)
    page.wait_for_selector("#queue-body tr.row")
    page.goto(f"{live.url}/review/overview")
    page.wait_for_selector("#overview[data-ready='1']")
    for chart, mark in (
        ("chart-provinces", "rect.bar"),
        ("chart-flows", "path.flow"),
        ("chart-weights", "rect.hist"),
        ("chart-backlog", "polyline.backlog"),
        ("chart-flags", "rect.bar"),
    ):
        assert page.locator(f"#{chart} svg").count() == 1, chart
        assert page.locator(f"#{chart} svg {mark}").count() > 0, chart
    assert page.locator("#chart-weights svg line.threshold").count() == 2
    screenshot(page, "overview")
