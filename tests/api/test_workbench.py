"""Auditor workbench over HTTP: sign-in, cookie flags, role refusal, every JSON endpoint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.db import repository as repo
from api.web.i18n import messages
from api.web.review_auth import read_session, sign_session
from tests.api.workbench_seed import Workbench, make_workbench

API = Path(__file__).resolve().parents[2] / "api" / "web"


@pytest.fixture
def wb(database_url, tmp_path, synthetic):
    yield from make_workbench(database_url, tmp_path, synthetic)


def _set_cookie(response) -> str:
    return response.headers.get("set-cookie", "")


def test_login_cookie_flags_and_logout(wb: Workbench):
    page = wb.client.get("/review", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/review/login"
    form = wb.client.get("/review/login")
    assert form.status_code == 200 and 'name="key"' in form.text and 'method="post"' in form.text

    response = wb.client.post(
        "/review/login", data={"key": wb.keys["auditor"]}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/review"
    cookie = _set_cookie(response)
    assert cookie.startswith("vx_session=")
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/review"} <= flags
    assert wb.keys["auditor"] not in cookie  # the key itself never goes to the browser
    assert "key=" not in response.headers["location"]

    queue = wb.client.get("/review")
    assert queue.status_code == 200 and 'id="queue"' in queue.text
    assert "default-src 'self'" in queue.headers["content-security-policy"]
    assert queue.headers["cache-control"] == "no-store"

    out = wb.client.post("/review/logout", follow_redirects=False)
    assert out.status_code == 303 and 'vx_session=""' in _set_cookie(out)
    wb.client.cookies.clear()
    assert wb.client.get("/review", follow_redirects=False).status_code == 303
    assert wb.api("GET", "/queue").status_code == 401


@pytest.mark.parametrize("who", ["up11", "aggregator", "admin"])
def test_other_roles_are_refused(wb: Workbench, who: str):
    response = wb.client.post("/review/login", data={"key": wb.keys[who]}, follow_redirects=False)
    assert response.status_code == 403
    assert "vx_session" not in _set_cookie(response)
    assert "审核员" in response.text  # Chinese by default
    english = wb.client.post(
        "/review/login?lang=en", data={"key": wb.keys[who]}, follow_redirects=False
    )
    assert "auditors only" in english.text


def test_unknown_key_and_forged_cookies(wb: Workbench):
    bad = wb.client.post("/review/login", data={"key": "vxk_nope"}, follow_redirects=False)
    assert bad.status_code == 401 and "vx_session" not in _set_cookie(bad)
    # a Bearer header is not a workbench session
    bearer = wb.client.get(
        "/review/api/queue", headers={"Authorization": f"Bearer {wb.keys['auditor']}"}
    )
    assert bearer.status_code == 401
    # a cookie signed with another secret, or for an uploader's key id, is refused
    with wb.database.transaction() as session:
        uploader = repo.principal_for_token(session=session, token=wb.keys["up11"])
        auditor = repo.principal_for_token(session=session, token=wb.keys["auditor"])
    assert uploader is not None and auditor is not None
    forged = sign_session(b"other-secret", auditor.key_id, hours=1)
    wb.client.cookies.set("vx_session", forged, domain="testserver", path="/review")
    assert wb.api("GET", "/queue").status_code == 401
    wb.client.cookies.clear()
    upl = sign_session(b"test-secret", uploader.key_id, hours=1)
    wb.client.cookies.set("vx_session", upl, domain="testserver", path="/review")
    assert wb.api("GET", "/queue").status_code == 401
    wb.client.cookies.clear()
    expired = sign_session(b"test-secret", auditor.key_id, hours=1, now=0)
    assert read_session(b"test-secret", expired) is None
    assert read_session(b"test-secret", expired.replace(".", "x", 1)) is None


def test_writes_need_the_request_header(wb: Workbench):
    assert wb.login() == 303
    item = wb.api("GET", "/queue").json()["data"][0]["review_id"]
    response = wb.client.post(
        f"/review/api/items/{item}/decision", json={"decision": "same", "reason": "x"}
    )
    assert response.status_code == 403


def test_queue_filters_sorting_counts_progress(wb: Workbench):
    wb.login()
    page = wb.api("GET", "/queue?limit=5")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    body = page.json()
    assert body["count"] >= 3 and len(body["data"]) == min(5, body["count"])
    assert body["progress"]["open"] == body["count"]
    weights = [d["match_weight"] for d in body["data"]]
    assert weights == sorted(weights, reverse=True)
    asc = [
        d["match_weight"] for d in wb.api("GET", "/queue?sort=score_asc&limit=200").json()["data"]
    ]
    assert asc == sorted(asc)
    ids = [d["review_id"] for d in wb.api("GET", "/queue?sort=newest&limit=200").json()["data"]]
    assert ids == sorted(ids, reverse=True)
    top = weights[0]
    high = wb.api("GET", f"/queue?score_min={top - 0.01}").json()
    assert high["count"] >= 1 and all(d["match_weight"] >= top - 0.01 for d in high["data"])
    province = body["data"][0]["provinces"][0]
    only = wb.api("GET", f"/queue?province={province}&limit=200").json()
    assert only["count"] >= 1 and all(province in d["provinces"] for d in only["data"])
    assert wb.api("GET", "/queue?age_min=200").status_code == 422
    nobody = wb.api("GET", "/queue?age_min=120&age_max=125").json()
    assert nobody["count"] == 0
    second = wb.api("GET", "/queue?limit=1&offset=1").json()
    assert second["data"][0]["review_id"] == body["data"][1]["review_id"]


def test_pair_view_for_the_auditor(wb: Workbench, synthetic):
    wb.login()
    first = wb.api("GET", "/queue").json()["data"][0]["review_id"]
    response = wb.api("GET", f"/items/{first}")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["view"] == "auditor"
    assert [r["record_id"] for r in view["records"]] == [
        view["review"]["left"]["record_id"], view["review"]["right"]["record_id"],
    ]  # fmt: skip
    written = set(synthetic.doses["name"])  # the names as the provinces wrote them
    for record in view["records"]:
        for field in ("name", "id_number", "birth_date", "phone"):
            shown = record[field]
            assert len(shown["diff"]) == len(shown["text"])
        assert record["name"]["text"] == "" or "*" not in record["name"]["text"]
        assert len(record["name"]["kinds"]) == len(record["name"]["text"])
        if record["id_number"]["text"]:  # only differing characters (at most 4) are shown
            shown = sum(ch != "*" for ch in record["id_number"]["text"])
            assert shown <= 4 and shown == sum(record["id_number"]["diff"]) * (shown > 0)
        birth = record["birth_date"]["text"]
        assert birth == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth)
        assert set(record["id_checks"]) >= {"checksum_valid", "upgraded_15_to_18",
                                            "implied_birth_matches", "implied_sex_matches"}  # fmt: skip
    assert all(r["name"]["text"] in written for r in view["records"])  # in full
    steps = view["waterfall"]
    assert steps[0]["key"] == "prior" and steps[-1]["key"] == "rules"
    assert steps[-1]["running"] == pytest.approx(view["review"]["match_weight"], abs=0.01)
    assert view["thresholds"] == {"review": 0.0, "match": 60.0}
    assert view["review"]["merged_history"] is not None
    assert view["next_review_id"] != first
    assert view["reasons"] and view["id_comparison"]["relation"]
    text = response.text
    for person in synthetic.persons:  # never a full ID number
        assert person.id_number not in text
    audit = wb.client.get(
        "/v1/audit?action=review.read", headers={"Authorization": f"Bearer {wb.keys['admin']}"}
    ).json()
    assert audit["count"] >= 1 and audit["data"][0]["target"] == f"review:{first}"
    assert wb.api("GET", "/items/999999").status_code == 404


def test_pair_view_stays_masked_for_other_roles(wb: Workbench, synthetic):
    from api.services import workbench

    wb.login()
    first = wb.api("GET", "/queue").json()["data"][0]["review_id"]
    with wb.database.transaction() as session:
        admin = repo.principal_for_token(session=session, token=wb.keys["admin"])
        assert admin is not None
        view = workbench.pair_view(session, wb.settings, admin, first, {})
    assert view.view == "masked"
    text = view.model_dump_json()
    for record in view.records:
        assert record.name.text == "" or record.name.text[1:] == "*" * (len(record.name.text) - 1)
        assert record.name.kinds == []
        assert record.birth_date.text == "" or record.birth_date.text.endswith("**")
        assert record.id_checks.implied_birth is None or len(record.id_checks.implied_birth) == 7
        if record.id_number.text:
            assert "*" in record.id_number.text
    for person in synthetic.persons:
        assert person.id_number not in text
        assert re.search(rf'"{re.escape(person.name)}"', text) is None


def test_diff_flags_mark_the_differing_character():
    from api.services.pair_evidence import masked_pair
    from matcher.masking import mask_name

    left, right = masked_pair("张伟明", "张玮明", mask_name)
    assert left.text == "张**" and left.diff == [False, True, False]
    assert right.diff == [False, True, False]


def test_decide_next_and_undo(wb: Workbench):
    wb.login()
    queue = wb.api("GET", "/queue").json()
    first, second = (d["review_id"] for d in queue["data"][:2])
    decided = wb.api("POST", f"/items/{first}/decision", json={"decision": "different"})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["decision"]["verdict"] == "different" and body["decision"]["reason"]
    assert body["next_review_id"] == second
    after = wb.api("GET", "/queue").json()
    assert after["count"] == queue["count"] - 1
    assert after["progress"]["mine_today"] == 1 and after["progress"]["mine_total"] == 1
    again = wb.api("POST", f"/items/{first}/decision", json={"decision": "same"})
    assert again.status_code == 409

    undone = wb.api("POST", "/undo", json={"reason": "misclick"})
    assert undone.status_code == 200, undone.text
    assert undone.json()["decision"]["undone_at"] is not None
    assert undone.json()["next_review_id"] == first
    assert wb.api("GET", "/queue").json()["count"] == queue["count"]
    assert wb.api("POST", "/undo", json={}).status_code == 409  # nothing left to undo
    # another auditor's decisions are not "mine"
    wb.api("POST", f"/items/{first}/decision", json={"decision": "unsure", "reason": "?"})
    wb.client.cookies.clear()
    wb.login("auditor2")
    assert wb.api("POST", "/undo", json={}).status_code == 409


def test_person_and_split(wb: Workbench):
    wb.login()
    first = wb.api("GET", "/queue").json()["data"][0]["review_id"]
    same = wb.api("POST", f"/items/{first}/decision", json={"decision": "same", "reason": "ok"})
    (pid,) = same.json()["decision"]["person_ids"]
    person = wb.api("GET", f"/persons/{pid}")
    assert person.status_code == 200
    records = person.json()["person"]["records"]
    assert all("*" in r["name_masked"] for r in records)
    moving = records[-1]["record_id"]
    split = wb.api(
        "POST", f"/persons/{pid}/split", json={"record_ids": [moving], "reason": "twins"}
    )
    assert split.status_code == 200, split.text
    persons = split.json()["persons"]
    assert len(persons) == 2
    assert any({r["record_id"] for r in p["records"]} == {moving} for p in persons)
    assert wb.api("GET", "/persons/Pnobody").status_code == 404
    page = wb.client.get(f"/review/person/{pid}")
    assert page.status_code == 200 and f'data-person-id="{pid}"' in page.text


def test_overview_figures(wb: Workbench):
    wb.login()
    first = wb.api("GET", "/queue").json()["data"][0]["review_id"]
    wb.api("POST", f"/items/{first}/decision", json={"decision": "same", "reason": "ok"})
    response = wb.api("GET", "/overview")
    assert response.status_code == 200, response.text
    data = response.json()
    provinces = {p["province"]: p for p in data["provinces"]}
    assert set(provinces) == {"11", "31", "44"}
    assert all(p["records"] >= p["persons"] >= 0 for p in provinces.values())
    with wb.database.transaction() as session:
        partition = repo.person_partition(session=session)
    assert sum(p["persons"] for p in provinces.values()) == len(set(partition.values()))
    assert sum(p["records"] for p in provinces.values()) == len(partition)
    assert data["flows"] and all(f["from"] < f["to"] for f in data["flows"])
    outcomes = {w["outcome"] for w in data["weights"]}
    assert "open" in outcomes and "same" in outcomes
    assert data["thresholds"]["match"] > data["thresholds"]["review"]
    assert data["backlog"] and data["backlog"][-1]["backlog"] >= 0
    assert all(f["count"] > 0 for f in data["flags"])


@pytest.mark.parametrize("path", ["/review", "/review/overview", "/review/pair/1"])
def test_pages_in_both_languages(wb: Workbench, path: str):
    wb.login()
    zh = wb.client.get(path)
    assert zh.status_code == 200 and 'lang="zh-CN"' in zh.text
    en = wb.client.get(path + "?lang=en")
    assert 'lang="en"' in en.text and "vx_lang=en" in _set_cookie(en)
    assert 'lang="en"' in wb.client.get(path).text  # the choice sticks


def test_static_assets_are_local_and_texts_complete():
    for name in ("app.css", "common.js", "queue.js", "pair.js", "person.js", "overview.js"):
        text = (API / "static" / name).read_text(encoding="utf-8")
        urls = re.findall(r"https?://[^\s\"'`)]+", text)
        assert urls in ([], ["http://www.w3.org/2000/svg"]), (name, urls)
    sources = [p.read_text(encoding="utf-8") for p in (API / "templates").glob("*.html")]
    sources += [p.read_text(encoding="utf-8") for p in (API / "static").glob("*.js")]
    keys = {k for s in sources for k in re.findall(r"\bt\(\s*['\"]([a-z0-9_]+)['\"]\s*[,)]", s)}
    for lang in ("zh", "en"):
        missing = keys - set(messages(lang))
        assert not missing, (lang, missing)


def test_static_served(wb: Workbench):
    response = wb.client.get("/review/static/pair.js")
    assert response.status_code == 200 and "decide" in response.text


def test_sign_in_is_paused_after_repeated_failures(wb: Workbench):
    limiter = wb.client.app.state.login_failures
    for _ in range(limiter.max_failures):
        wrong = wb.client.post("/review/login", data={"key": "vxk_wrong"}, follow_redirects=False)
        assert wrong.status_code == 401
    paused = wb.client.post(
        "/review/login", data={"key": wb.keys["auditor"]}, follow_redirects=False
    )
    assert paused.status_code == 429 and int(paused.headers["retry-after"]) > 0
    assert "vx_session" not in _set_cookie(paused)  # even the right key waits
    limiter.reset("testclient")
    ok = wb.client.post("/review/login", data={"key": wb.keys["auditor"]}, follow_redirects=False)
    assert ok.status_code == 303


def test_failure_limiter_window() -> None:
    from api.web.rate_limit import FailureLimiter

    now = [0.0]
    limiter = FailureLimiter(2, 60.0, clock=lambda: now[0])
    limiter.record_failure("a")
    assert limiter.retry_after("a") == 0.0
    limiter.record_failure("a")
    assert limiter.retry_after("a") == 60.0 and limiter.retry_after("b") == 0.0
    now[0] = 59.0
    assert limiter.retry_after("a") == 1.0
    now[0] = 60.5
    assert limiter.retry_after("a") == 0.0  # the first failure left the window
    limiter.record_failure("a")
    limiter.reset("a")
    assert limiter.retry_after("a") == 0.0


def test_skip_order_and_batch_decisions(wb: Workbench):
    wb.login()
    queue = wb.api("GET", "/queue?limit=200").json()
    ids = [d["review_id"] for d in queue["data"]]
    assert len(ids) >= 4 and all(d["reasons"] for d in queue["data"])
    # the next item after each one is the one after it in the queue, then round to the first
    sample = [*ids[:4], ids[-1]]
    nexts = [wb.api("GET", f"/items/{i}").json()["next_review_id"] for i in sample]
    assert nexts == [*ids[1:5], ids[0]]
    body = {"review_ids": ids[:2], "decision": "different", "reason": "two registrations"}
    for blank in ("", "  "):
        blank_body = {**body, "reason": blank}
        assert wb.api("POST", "/decisions/batch", json=blank_body).status_code == 422
    done = wb.api("POST", "/decisions/batch", json=body)
    assert done.status_code == 200, done.text
    result = done.json()
    assert [d["review_id"] for d in result["decisions"]] == ids[:2] and result["skipped"] == []
    assert {d["reason"] for d in result["decisions"]} == {"two registrations"}
    after = wb.api("GET", "/queue?limit=200").json()
    assert after["count"] == queue["count"] - 2 and after["progress"]["mine_today"] == 2
    again = wb.api("POST", "/decisions/batch", json={**body, "review_ids": [ids[1], ids[2]]})
    assert again.json()["skipped"] == [ids[1]] and len(again.json()["decisions"]) == 1
    # after a decided item, "next" is still the item after it in the queue order
    assert wb.api("GET", f"/items/{ids[0]}").json()["next_review_id"] == ids[3]
    undone = wb.api("POST", "/undo", json={"reason": "misclick"})
    assert undone.json()["decision"]["review_id"] == ids[2]
