"""The auditor workbench in headless Chromium: sign-in, keyboard decisions, undo, split,
role refusal, overview charts, the evidence of the hand-made cases, the audited reveal, skip,
batch decisions, Chinese texts and the 390 px layout. Screenshots go to var/screenshots/
(docs/screenshots/ with VAXLINK_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import re

import pytest

from api.db import repository as repo
from api.db.repository import workbench as rrepo
from tests.api.workbench_cases import SHARED_ID, TWIN_A_ID, TWIN_B_ID
from tests.browser.conftest import screenshot
from tests.browser.page_checks import (
    horizontal_overflow,
    overlapping,
    small_text,
    text_outside_boxes,
    untranslated,
)

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
    # every item says why it is in the queue, in Chinese
    reasons = page.locator("#queue-body td.reason").all_inner_texts()
    assert len(reasons) == rows and all(r.strip() for r in reasons)
    assert any("未定区间" in r for r in reasons)
    # the lowest scores are the pairs a rule capped: sorted that way they lead the queue
    page.goto(f"{live.url}/review?sort=score_asc")
    page.wait_for_selector("#queue-body tr.row")
    lowest = page.locator("#queue-body td.reason").all_inner_texts()
    assert any("无证件且姓名不同" in r for r in lowest)
    assert untranslated(page) == []
    assert text_outside_boxes(page) == []
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
    page.wait_for_selector("#waterfall .wf-bar")
    page.wait_for_selector("#timeline .tl-dot")
    assert page.locator("#records mark.diff, #records .chars").count() > 0

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
    page.wait_for_selector("#waterfall .wf-bar")
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
    ):
        assert page.locator(f"#{chart} svg").count() == 1, chart
        assert page.locator(f"#{chart} svg {mark}").count() > 0, chart
    assert page.locator("#chart-flags .hbar-row .hbar").count() > 0
    assert page.locator("#chart-weights svg line.threshold").count() == 2
    assert overlapping(page, "#chart-weights text.threshold", "#chart-weights text.threshold") == []
    assert untranslated(page) == []
    assert text_outside_boxes(page) == []
    screenshot(page, "overview")


def _pair(context, live, review_id: int):
    page = _login(context, live)
    page.wait_for_selector("#queue-body tr.row")
    page.goto(f"{live.url}/review/pair/{review_id}")
    page.wait_for_selector(f"#pair[data-review-id='{review_id}'] .wf-row")
    return page


def _sides(page, field: str) -> list[str]:
    return page.locator(f"#records .rec-row[data-field='{field}'] .rec-val").all_inner_texts()


def _waterfall_is_clean(page) -> None:
    assert text_outside_boxes(page, "#waterfall") == []
    assert overlapping(page, "#wf-key-review", "#wf-key-match") == []
    assert overlapping(page, "#waterfall .wf-val", "#waterfall .wf-th") == []
    assert overlapping(page, "#waterfall .wf-level", "#waterfall .wf-th") == []


def test_auditor_tells_twins_apart(context, live, case_items):
    page = _pair(context, live, case_items["twin"])
    ids = [re.sub(r"\s", "", t) for t in page.locator("#records .chars.id").all_inner_texts()]
    # only the one differing digit (position 16, the sequence code) is shown, on both sides
    assert ids[0].startswith("*" * 15 + TWIN_B_ID[15] + "**")
    assert ids[1].startswith("*" * 15 + TWIN_A_ID[15] + "**")
    assert "顺序码" in page.locator("#id-relation").inner_text()
    assert "第 16 位" in page.locator("#id-positions").inner_text()
    names = _sides(page, "name")
    assert "陈思远" in names[0] and "陈思涵" in names[1]  # in full, for the auditor
    assert page.locator("#name-kinds [data-kind=different]").inner_text() == "不同"
    assert page.locator("#rules li").all_inner_texts() == ["证件号不一致且姓名不同"]
    body = page.content()
    assert TWIN_A_ID not in body and TWIN_B_ID not in body
    assert untranslated(page) == []
    assert text_outside_boxes(page) == []
    _waterfall_is_clean(page)
    # dose timeline: Chinese product names with their dates on screen, no product codes
    doses = page.locator("#timeline .tl-dose").all_inner_texts()
    assert doses and all(re.search(r"\d{4}-\d{2}-\d{2}", d) and "科兴" in d for d in doses)
    assert "CORONAVAC" not in page.locator("#timeline").inner_text()
    screenshot(page, "pair")


def test_guardian_number_and_homophone(context, live, case_items):
    page = _pair(context, live, case_items["guardian"])
    guardian = page.locator("#records li.guardian")
    assert guardian.count() == 1 and "监护人" in guardian.inner_text()
    assert "1980-03-07" in guardian.inner_text() and "36 年" in guardian.inner_text()
    assert page.locator("#name-kinds [data-kind=homophone]").inner_text() == "同音字"
    assert page.locator("#records mark.kind-homophone").all_inner_texts() == ["小", "晓"]
    assert "未定区间" in page.locator("#rules").inner_text()
    assert untranslated(page) == []


def test_waterfall_says_what_the_id_implies(context, live, case_items):
    page = _pair(context, live, case_items["shared_id"])
    birth = _sides(page, "birth")
    # the table and the waterfall agree: B gives no birth date, the ID implies one
    assert "缺失" in birth[1] and "证件号推出：1987-04-12" in birth[1]
    row = page.locator("#waterfall .wf-row[data-key=birth_date]")
    assert "implied" in (row.get_attribute("class") or "")
    assert "重复计分" in row.inner_text() and "证" in row.locator(".wf-tag").inner_text()
    assert "重复计分" in page.locator("#wf-repeat").inner_text()
    assert page.locator("#waterfall .wf-row[data-key=sex].implied").count() == 0
    assert page.locator("#rules li").all_inner_texts() == ["证件号相同但姓名不同"]
    assert page.locator("#name-kinds").inner_text().split() == ["缺字", "不同"]
    assert untranslated(page) == []
    _waterfall_is_clean(page)
    screenshot(page, "pair-shared-id")


def test_reveal_asks_why_and_is_audited(context, live, case_items):
    page = _pair(context, live, case_items["shared_id"])
    box = page.locator("#records .reveal[data-side=A]")
    box.locator(".reveal-open").click()
    box.locator(".reveal-reason").fill("x")
    box.locator(".reveal-confirm").click()
    page.wait_for_selector("#vx-toast.error")
    assert SHARED_ID not in page.content()
    box.locator(".reveal-reason").fill("核对原始登记表")
    box.locator(".reveal-confirm").click()
    page.wait_for_selector("#records .revealed")
    assert page.locator("#records .revealed").inner_text() == SHARED_ID
    assert SHARED_ID not in page.url
    with live.app.state.database.transaction() as session:
        item = repo.get_review(session=session, review_id=case_items["shared_id"])
        entries, _ = repo.list_audit(
            session=session, person_id=None, action="review.reveal_id", since=None, offset=0,
            limit=10,
        )  # fmt: skip
    assert item is not None and entries
    assert entries[0].reason == "核对原始登记表" and entries[0].target == f"record:{item.record_l}"
    assert entries[0].actor_role == "auditor" and entries[0].at is not None


def test_skip_walks_the_whole_filtered_queue(context, live):
    with live.app.state.database.transaction() as session:
        data, count = rrepo.queue_page(session=session, band="mid", limit=200)
    ids = [d.review_id for d in data]
    assert count >= 3
    page = _login(context, live)
    page.wait_for_selector("#queue-body tr.row")
    page.select_option("select[name=band]", "mid")
    page.wait_for_selector(f"#queue-body tr.row[data-review-id='{ids[0]}']:first-child")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#pair[data-review-id='{ids[0]}'] .wf-row")
    seen = [ids[0]]
    for _ in range(len(ids)):
        assert page.locator("#next-id").inner_text() == f"#{ids[(len(seen)) % len(ids)]}"
        page.keyboard.press("n")
        page.wait_for_selector(f"#pair:not([data-review-id='{seen[-1]}'])")
        seen.append(int(page.locator("#pair").get_attribute("data-review-id")))
    assert seen[:-1] == ids and seen[-1] == ids[0]  # the whole queue once, then round


def test_split_only_for_a_person_with_several_records(context, live, case_items):
    page = _pair(context, live, case_items["guardian"])
    link = page.locator("#records .rec-row[data-field=person] .rec-val[data-side=B] a")
    assert (
        "1 条记录"
        in page.locator("#records .rec-row[data-field=person] .rec-val[data-side=B]").inner_text()
    )
    link.click()
    page.wait_for_selector("#split-single")
    assert page.locator("#split-form").is_hidden()
    assert page.locator("input[name=record]").count() == 0
    assert untranslated(page) == []


def test_layout_at_390_px(phone, live, case_items):
    page = _login(phone, live)
    page.wait_for_selector("#queue-body tr.row")
    checks = {}
    for name, url, ready in (
        ("queue-390", "/review", "#queue-body tr.row"),
        ("pair-390", f"/review/pair/{case_items['shared_id']}", ".wf-row"),
        ("overview-390", "/review/overview", "#overview[data-ready='1']"),
    ):
        page.goto(live.url + url)
        page.wait_for_selector(ready)
        checks[name] = {
            "overflow": horizontal_overflow(page),
            "outside": text_outside_boxes(page, "body"),
            "small": small_text(page, "main", 10.5),
            "english": untranslated(page),
        }
        if name == "pair-390":  # records stacked: B under A, not beside it
            a, b = (page.locator(f"#records .rec-row[data-field=name] .rec-val[data-side={s}]")
                    .bounding_box() for s in "AB")  # fmt: skip
            assert a is not None and b is not None and b["y"] >= a["y"] + a["height"] - 1
            _waterfall_is_clean(page)
        # header words are never broken: each item on one line
        for item in page.locator("header.top nav a, header.top .brand").all():
            box = item.bounding_box()
            assert box is not None and box["height"] < 30, item.inner_text()
        screenshot(page, name)
    assert checks == {name: {"overflow": 0, "outside": [], "small": [], "english": []}
                      for name in checks}  # fmt: skip


def test_batch_decision_with_one_reason(context, live, case_items):
    page = _login(context, live)
    page.wait_for_selector("#queue-body tr.row")
    rows = page.locator("#queue-body tr.row")
    picked = []
    for i in range(rows.count()):
        rid = int(rows.nth(i).get_attribute("data-review-id"))
        if rid not in case_items.values():
            rows.nth(i).locator("input.pick").check()
            picked.append(rid)
        if len(picked) == 2:
            break
    assert page.locator("#batch-count").inner_text() == "已选 2 条"
    page.click("[data-batch=different]")
    page.wait_for_selector("#vx-toast.error")  # a reason is required
    page.fill("#batch-reason", "同一批次重复上报，非同一人")
    page.click("[data-batch=different]")
    page.wait_for_selector("#vx-toast.ok")
    assert page.locator("#vx-toast").inner_text() == "已批量判定 2 条"
    for rid in picked:
        assert _active_verdict(live, rid) == "different"
    page.reload()  # the queue as the server now lists it
    page.wait_for_selector("#queue-body tr")
    for rid in picked:
        assert page.locator(f"#queue-body tr.row[data-review-id='{rid}']").count() == 0
    with live.app.state.database.transaction() as session:
        decisions = [
            d for rid in picked for d in repo.decisions_for_review(session=session, review_id=rid)
        ]
    in_force = [d for d in decisions if d.undone_at is None]
    assert len(in_force) == 2 and {d.reason for d in in_force} == {"同一批次重复上报，非同一人"}
