"""The auditor's evidence on the hand-made review cases: what is shown in full and what stays
masked, the audited reveal of a full ID, ID-implied facts in the waterfall, rule wording, skip,
batch decisions and the message table."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.db import repository as repo
from api.services import workbench
from api.services.pair_evidence import MAX_REVEALED, Facts, compare_ids
from api.services.review_labels import reasons, rule_keys
from api.web.i18n import messages
from matcher.compare import LEVELS
from matcher.decisions import Rule
from matcher.name_diff import NameDiffKind
from matcher.resident_id import IdStatus
from matcher.schedules import Flag
from matcher.vaccines import CATALOGUE
from tests.api.factories import make_synthetic
from tests.api.workbench_cases import (
    CASES,
    GUARDIAN_ID,
    SHARED_ID,
    TWIN_A_ID,
    TWIN_B_ID,
    with_cases,
)
from tests.api.workbench_seed import REVIEWING, Workbench, _settings, build_app, upload_all


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workbench, dict[str, int]]]:
    """A SQLite workbench with the synthetic provinces and the hand-made cases; the review item
    of each case by name."""
    tmp: Path = tmp_path_factory.mktemp("cases")
    app, keys = build_app(f"sqlite:///{tmp / 'vaxlink.db'}", tmp, matching=REVIEWING)
    with TestClient(app, base_url="https://testserver") as client:
        upload_all(client, keys, with_cases(make_synthetic()))
        wb = Workbench(app, client, app.state.database, _settings(app), keys)
        assert wb.login() == 303
        items: dict[str, int] = {}
        with wb.database.transaction() as session:
            records = repo.records_by_ids(
                session=session, record_ids=repo.all_record_ids(session=session)
            )
            by_ref = {(r.source, r.person_ref): r.record_id for r in records}
            for row in wb.api("GET", "/queue?limit=200").json()["data"]:
                item = repo.get_review(session=session, review_id=row["review_id"])
                assert item is not None
                for case in CASES:
                    if {item.record_l, item.record_r} == {by_ref[case.left], by_ref[case.right]}:
                        items[case.name] = item.review_id
        assert set(items) == {c.name for c in CASES}, items
        yield wb, items


def _view(wb: Workbench, review_id: int) -> dict:
    response = wb.api("GET", f"/items/{review_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _side(view: dict, ref: str) -> dict:
    (record,) = [r for r in view["records"] if r["person_ref"] == ref]
    return record


def test_twin_ids_show_only_the_differing_digit(cases):
    wb, items = cases
    view = _view(wb, items["twin"])
    first, second = (_side(view, ref)["id_number"] for ref in ("W000001", "W000002"))
    assert first["text"] == "*" * 15 + TWIN_A_ID[15] + "**"
    assert second["text"] == "*" * 15 + TWIN_B_ID[15] + "**"
    assert first["diff"] == [i == 15 for i in range(18)]
    cmp = view["id_comparison"]
    assert cmp == {"relation": "typo_or_twin", "positions": [16], "segments": ["sequence"],
                   "revealed": True}  # fmt: skip
    # the brothers' names are told apart by kind, in full
    names = {_side(view, ref)["name"]["text"] for ref in ("W000001", "W000002")}
    assert names == {"陈思涵", "陈思远"} and view["name_kinds"] == ["different"]
    # both records have ID numbers: the rule is not worded as "no ID"
    assert view["reasons"] == ["rule_other_name_ids_disagree"]
    assert TWIN_A_ID not in str(view) and TWIN_B_ID not in str(view)


def test_guardian_number_is_named_and_names_are_homophones(cases):
    wb, items = cases
    view = _view(wb, items["guardian"])
    child = _side(view, "G000001")
    checks = child["id_checks"]
    assert checks["guardian_id"] is True and checks["years_apart"] == 36
    assert checks["implied_birth"] == "1980-03-07" and child["birth_date"]["text"] == "2016-05-02"
    other = _side(view, "G000002")
    assert other["id_number"]["text"] == "" and view["id_comparison"]["relation"] == "one_missing"
    assert view["name_kinds"] == ["homophone"]
    assert [k for k in child["name"]["kinds"] if k != "same"] == ["homophone"]
    assert view["reasons"] == ["reason_band_mid"]  # no rule fired: the undecided band
    assert GUARDIAN_ID not in str(view)


def test_waterfall_says_which_facts_the_id_implies(cases):
    wb, items = cases
    view = _view(wb, items["shared_id"])
    steps = {s["key"]: s for s in view["waterfall"]}
    assert view["review"]["levels"]["id"] == 3  # the same number on both records
    # record S000002 gives no birth date: the compared one is what the shared number implies
    no_birth = _side(view, "S000002")
    assert no_birth["birth_date"]["text"] == ""
    assert no_birth["id_checks"]["implied_birth"] == "1987-04-12"
    assert steps["birth_date"]["sources"] == ["id", "id"]
    assert steps["birth_date"]["implied"] == "wf_implied_repeat"
    # the ID's province is not compared once the IDs agree (the matcher counts it once)
    assert view["review"]["levels"]["region"] == -1 and steps["region"]["weight"] == 0
    assert steps["sex"]["sources"] == ["stated", "stated"] and steps["sex"]["implied"] is None
    assert view["repeated_weight"] == pytest.approx(steps["birth_date"]["weight"], abs=0.01)
    assert steps["name"]["level"] == "level_name_different" and steps["id"]["implied"] is None
    assert view["reasons"] == ["rule_same_id_different_name"]
    assert view["id_comparison"]["relation"] == "same"
    assert set(_side(view, "S000001")["id_number"]["text"]) == {"*"}
    assert SHARED_ID not in str(view)


def test_no_id_wording_only_when_a_record_has_none(cases):
    wb, items = cases
    view = _view(wb, items["no_id"])
    assert view["reasons"] == ["rule_other_name_no_id"]
    assert view["id_comparison"]["relation"] == "one_missing"
    queue = wb.api("GET", "/queue?limit=200").json()["data"]
    why = {row["review_id"]: row["reasons"] for row in queue}
    assert why[items["no_id"]] == ["rule_other_name_no_id"]
    assert why[items["twin"]] == ["rule_other_name_ids_disagree"]
    assert why[items["guardian"]] == ["reason_band_mid"]
    assert all(why.values())


def test_reveal_is_audited_and_needs_a_reason(cases, caplog):
    wb, items = cases
    view = _view(wb, items["shared_id"])
    record = _side(view, "S000001")["record_id"]
    url = f"/items/{items['shared_id']}/reveal"
    assert wb.api("POST", url, json={"record_id": record}).status_code == 422
    assert wb.api("POST", url, json={"record_id": record, "reason": " "}).status_code == 422
    other = _side(_view(wb, items["twin"]), "W000001")["record_id"]
    assert wb.api("POST", url, json={"record_id": other, "reason": "x2"}).status_code == 404
    no_id = _side(_view(wb, items["guardian"]), "G000002")["record_id"]
    guardian_url = f"/items/{items['guardian']}/reveal"
    assert (
        wb.api("POST", guardian_url, json={"record_id": no_id, "reason": "ok"}).status_code == 404
    )
    with caplog.at_level(logging.DEBUG):
        response = wb.api(
            "POST", url, json={"record_id": record, "reason": f"对比原始证件 {SHARED_ID}"}
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"record_id": record, "id_number": SHARED_ID, "as_written": None}
    assert response.headers["cache-control"] == "no-store"
    assert SHARED_ID not in caplog.text
    audit = wb.client.get(
        "/v1/audit?action=review.reveal_id",
        headers={"Authorization": f"Bearer {wb.keys['admin']}"},
    ).json()
    entry = audit["data"][0]
    assert entry["target"] == f"record:{record}" and entry["at"]
    assert entry["reason"].startswith("对比原始证件") and SHARED_ID not in entry["reason"]
    assert entry["actor_role"] == "auditor" and entry["actor_key_id"] is not None
    assert entry["person_id"] == _side(view, "S000001")["person_id"]
    assert SHARED_ID not in str(audit)
    # the workbench refuses the reveal to anyone but an auditor, even called directly
    with wb.database.transaction() as session:
        admin = repo.principal_for_token(session=session, token=wb.keys["admin"])
        assert admin is not None
        from api.schemas.review import RevealCreate

        with pytest.raises(Exception, match="auditors only"):
            workbench.reveal(
                session, admin, items["shared_id"], RevealCreate(record_id=record, reason="ok")
            )


def test_skip_walks_the_whole_filtered_queue(cases):
    wb, _ = cases
    for query in ("band=mid&sort=age_asc",):
        queue = wb.api("GET", f"/queue?limit=200&{query}").json()
        ids = [row["review_id"] for row in queue["data"]]
        assert len(ids) >= 3
        seen = [ids[0]]
        for _ in range(len(ids)):
            nxt = wb.api("GET", f"/items/{seen[-1]}?{query}").json()["next_review_id"]
            seen.append(nxt)
        assert seen[:-1] == ids  # every item once, in queue order
        assert seen[-1] == ids[0]  # then round to the first


def _fake(**values: object) -> Facts:
    base: dict[str, object] = {
        "record_id": 1, "name": "张伟", "id_key": "", "id_written": "", "status": "valid",
        "doc_type": "resident_id", "upgraded": False, "id_birth": "", "id_sex": None, "birth": "",
        "sex": None, "phone": "", "trusted": True, "borrowed": False, "birth_key": 0,
        "id_province": None,
    }  # fmt: skip
    base.update(values)
    return Facts(**base)  # type: ignore[arg-type]


def test_id_relations():
    from matcher.resident_id import checksum_char

    def valid(first17: str) -> str:
        return first17 + checksum_char(first17)

    one = valid("11010519491231002")
    twin = valid("11010519491231004")
    typo_birth = one[:9] + ("1" if one[9] != "1" else "2") + one[10:]
    far = valid("44052418800101001")
    auditor = "auditor"
    cmp = compare_ids(_fake(id_key=one), _fake(id_key=twin), auditor)
    assert cmp.relation == "twin" and cmp.segments == ["sequence", "check"] and cmp.revealed
    cmp = compare_ids(_fake(id_key=one), _fake(id_key=typo_birth, status="checksum_error"), auditor)
    assert cmp.relation == "typo" and cmp.positions == [10] and cmp.segments == ["birth"]
    swapped = one[:7] + one[8] + one[7] + one[9:]
    assert compare_ids(_fake(id_key=one), _fake(id_key=swapped), auditor).relation == "typo"
    cmp = compare_ids(_fake(id_key=one), _fake(id_key=far), auditor)
    assert cmp.relation == "different" and len(cmp.positions) > MAX_REVEALED and not cmp.revealed
    assert compare_ids(_fake(id_key=one), _fake(id_key=twin), "masked").revealed is False
    assert compare_ids(_fake(id_key=one), _fake(id_key=one), auditor).relation == "same"
    upgraded = compare_ids(_fake(id_key=one), _fake(id_key=one, upgraded=True), auditor)
    assert upgraded.relation == "upgraded"
    passport = _fake(id_key="E12345678", doc_type="passport")
    assert compare_ids(_fake(id_key=one), passport, auditor).relation == "other_documents"
    assert compare_ids(_fake(), _fake(), auditor).relation == "none_given"


def test_rule_wording():
    rule = [Rule.OTHER_NAME_WITHOUT_ID.value]
    assert rule_keys(rule, has_ids=(True, False), id_level=-1) == ["rule_other_name_no_id"]
    assert rule_keys(rule, has_ids=(True, True), id_level=1) == ["rule_other_name_ids_disagree"]
    both = {"has_ids": (True, True), "id_level": -1}
    assert rule_keys(rule, **both, guardian=True) == ["rule_other_name_guardian_id"]  # type: ignore[arg-type]
    assert rule_keys(rule, **both, other_documents=True) == ["rule_other_name_other_documents"]  # type: ignore[arg-type]
    assert rule_keys(rule, **both) == ["rule_other_name_id_unusable"]  # type: ignore[arg-type]
    assert reasons([], "high", has_ids=(True, True), id_level=3) == ["reason_band_high"]
    assert reasons(["dose_conflict"], "low", has_ids=(False, False), id_level=-1) == [
        "rule_dose_conflict"
    ]


def test_every_displayed_key_has_both_languages():
    """Levels, rules (and their wordings), flags, statuses, name kinds, ID relations and
    segments, products, states, bands: a missing text would show a raw key on the page."""
    keys = {"level_missing", "rules_adjust", "no_rules"}
    keys |= {f"level_{f}_{name}" for f, names in LEVELS.items() for name in names}
    keys |= {f"rule_{r.value}" for r in Rule}
    keys |= {f"rule_other_name_{v}" for v in ("no_id", "ids_disagree", "guardian_id",
                                                "other_documents", "id_unusable")}  # fmt: skip
    keys |= {f"reason_band_{b}" for b in ("low", "mid", "high")} | {
        f"band_{b}" for b in ("low", "mid", "high")
    }
    keys |= {f"flag_{str(f.name).lower()}" for f in Flag}
    keys |= {f"status_{s.value}" for s in IdStatus}
    keys |= {f"namekind_{k.value}" for k in NameDiffKind if k != NameDiffKind.SAME}
    keys |= {f"idrel_{r}" for r in ("same", "upgraded", "typo", "typo_or_twin", "twin", "different",
                                     "other_documents", "one_missing", "none_given")}  # fmt: skip
    keys |= {f"idseg_{s}" for s in ("region", "birth", "sequence", "check")}
    keys |= {f"product_{code}" for code in CATALOGUE}
    keys |= {
        f"state_{s}"
        for s in ("not_vaccinated", "primary_in_progress", "primary_complete", "booster")
    }
    keys |= {f"wf_implied_{s}" for s in ("repeat", "both", "left", "right")}
    keys |= {f"source_{s}" for s in ("stated", "id", "missing")} | {"kind_primary", "kind_booster"}
    for lang in ("zh", "en"):
        table = messages(lang)
        assert not keys - set(table), (lang, sorted(keys - set(table)))
    zh = messages("zh")
    for key in keys:  # the Chinese texts are Chinese (a product code may stay as it is)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh[key]), (key, zh[key])
