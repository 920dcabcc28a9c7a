"""Merged dose histories: dose-event dedup across provinces, provenance, flags, documents."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from matcher.columns import (
    BIRTH_DATE,
    DOSE_DATE,
    DOSE_SEQ,
    ID_KEY,
    LOT_NUMBER,
    NAME,
    PERSON_ID,
    PERSON_REF,
    PRODUCT_CODE,
    RECORD_ID,
    SEX,
    SITE,
    SOURCE,
    VACCINE,
)
from matcher.histories import Histories, build_histories, compare_dose_histories, history_documents
from matcher.schedules import flag_names

TODAY = pd.Timestamp("2023-06-01")


def report(
    date: str | None,
    product: str | None = "BBIBP",
    *,
    person: str = "p",
    source: str = "44",
    ref: str = "a",
    lot: str | None = None,
    site: str | None = None,
    seq: str | None = None,
    birth: str = "1980-01-01",
    name: str = "张三",
    id_key: str | None = "110101198001010011",
    sex: str = "M",
) -> dict[str, Any]:
    return {
        PERSON_ID: person,
        SOURCE: source,
        PERSON_REF: ref,
        DOSE_DATE: pd.Timestamp(date) if date else pd.NaT,
        PRODUCT_CODE: product,
        VACCINE: product or "新冠疫苗",
        LOT_NUMBER: lot,
        SITE: site,
        DOSE_SEQ: seq,
        BIRTH_DATE: pd.Timestamp(birth),
        NAME: name,
        ID_KEY: id_key,
        SEX: sex,
    }


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    out = pd.DataFrame(list(rows))
    out[PRODUCT_CODE] = out[PRODUCT_CODE].astype("string")
    return out


def build(*rows: dict[str, Any]) -> Histories:
    return build_histories(frame(*rows), today=TODAY)


def flags_of(events: pd.DataFrame) -> list[list[str]]:
    return [flag_names(int(f)) for f in events["flags"]]


def test_same_dose_reported_by_two_provinces_is_one_event() -> None:
    h = build(
        report("2021-05-01", source="44", ref="a", lot="202104A", site="440101001", seq="1"),
        report("2021-05-01", source="62", ref="b", lot=None, site="620102003", seq="1"),
        report("2021-06-01", source="62", ref="b", lot="202105B", site="620102003", seq="2"),
    )
    ev = h.events
    assert len(ev) == 2
    assert ev["reported_by"].iloc[0] == [
        {"source": "44", "person_ref": "a", "dose_seq": "1"},
        {"source": "62", "person_ref": "b", "dose_seq": "1"},
    ]
    assert ev["lot_number"].tolist() == ["202104A", "202105B"]
    assert ev["dose_number"].tolist() == [1, 2]
    assert h.persons["status"].tolist() == ["primary_complete"]
    assert h.reports["event_id"].tolist() == [0, 0, 1]


def test_survivor_prefers_the_administering_province_and_fills_gaps() -> None:
    # Gansu (62) re-entered a dose given in Guangdong (44): the site code says 44 gave it.
    h = build(
        report("2021-05-01", source="62", ref="b", lot="LOT-62", site="440101001"),
        report("2021-05-01", source="44", ref="a", lot=None, site="440101001"),
    )
    row = h.events.iloc[0]
    assert row["administering_source"] == "44"
    assert row["site"] == "440101001"
    assert row["lot_number"] == "LOT-62"  # missing in the preferred report, filled from the other
    assert [r["source"] for r in row["reported_by"]] == ["44", "62"]


def test_dose_re_entered_elsewhere_with_own_lot_text_is_one_flagged_event() -> None:
    # A second province re-enters the dose from the paper certificate: other lot text, other
    # product wording (unknown here), a day off. One injection, the disagreement flagged.
    h = build(
        report("2021-05-01", source="44", lot="202105B4218"),
        report("2021-05-02", None, source="62", ref="b", lot="B4218-2021"),
    )
    assert len(h.events) == 1
    assert "reports_disagree" in flags_of(h.events)[0]
    assert len(h.events["reported_by"].iloc[0]) == 2


@pytest.mark.parametrize("gap", [21, 28, 60, 200])
def test_real_doses_21_days_or_more_apart_are_never_merged(gap: int) -> None:
    second = (pd.Timestamp("2021-05-01") + pd.Timedelta(days=gap)).strftime("%Y-%m-%d")
    h = build(report("2021-05-01", lot="SAME"), report(second, source="62", ref="b", lot="SAME"))
    assert len(h.events) == 2
    assert h.events["dose_number"].tolist() == [1, 2]


def test_date_typo_between_provinces_is_merged_and_flagged() -> None:
    h = build(report("2021-05-01", source="44"), report("2021-05-03", source="62", ref="b"))
    assert len(h.events) == 1
    assert "reports_disagree" in flags_of(h.events)[0]


def test_unsure_pairs_go_to_review_not_merged() -> None:
    h = build(report("2021-05-01", source="44"), report("2021-05-11", source="62", ref="b"))
    assert len(h.events) == 2
    assert "review_possible_duplicate" in flags_of(h.events)[0]
    assert "interval_too_short" in flags_of(h.events)[1]


def test_same_lot_inside_window_is_one_event() -> None:
    h = build(report("2021-05-01", lot="X1"), report("2021-05-11", source="62", ref="b", lot="x-1"))
    assert len(h.events) == 1


def test_contradicting_reports_are_not_merged_at_all() -> None:
    # A ~ B (same day) and B ~ C (a date typo between provinces), but A and C come from one
    # province two days apart with two lots: never guessed.
    h = build(
        report("2021-05-01", source="44", lot="L1"),
        report("2021-05-01", source="62", ref="b"),
        report("2021-05-03", source="44", ref="c", lot="L2"),
    )
    assert len(h.events) == 3
    assert all("review_possible_duplicate" in f for f in flags_of(h.events))
    assert "same_day_events" in flags_of(h.events)[1]


def test_renumbering_across_provinces_keeps_reported_dose_seq() -> None:
    h = build(
        report("2021-04-01", source="44", ref="a", seq="1"),
        report("2021-05-01", source="62", ref="b", seq="1"),  # Gansu only knows its own dose
        report("2022-01-01", source="62", ref="b", seq="2"),
    )
    assert h.events["dose_number"].tolist() == [1, 2, 3]
    assert h.events["kind"].tolist() == ["primary", "primary", "booster"]
    assert [r[0]["dose_seq"] for r in h.events["reported_by"]] == ["1", "1", "2"]
    assert h.persons["status"].tolist() == ["booster"]


def test_persons_are_kept_apart() -> None:
    h = build(report("2021-05-01", person="p1"), report("2021-05-01", person="p2"))
    assert len(h.events) == 2
    assert h.persons["person_id"].tolist() == ["p1", "p2"]


@pytest.mark.parametrize(
    ("rows", "flag"),
    [
        ([report("1979-05-01")], "dose_before_birth"),
        ([report("2023-07-01")], "dose_in_future"),
        ([report("2021-05-01", None)], "unknown_vaccine"),
        (
            [report("2021-05-01"), report("2021-05-15", lot="A"), report("2021-06-20", lot="B")],
            "interval_too_short",
        ),
    ],
)
def test_event_flags(rows: list[dict[str, Any]], flag: str) -> None:
    h = build(*rows)
    assert any(flag in f for f in flags_of(h.events))
    assert flag in flag_names(int(h.persons["flags"].iloc[0]))


@pytest.mark.parametrize(
    ("field", "a", "b", "flag"),
    [
        ("name", "张三", "李四", "conflicting_name"),
        ("id_key", "110101198001010011", "110101198001010038", "conflicting_id"),
        ("sex", "M", "F", "conflicting_sex"),
        ("birth", "1980-01-01", "1981-01-01", "conflicting_birth_date"),
    ],
)
def test_conflicting_person_fields(field: str, a: str, b: str, flag: str) -> None:
    h = build(report("2021-04-01", **{field: a}), report("2021-05-01", ref="b", **{field: b}))
    assert flag in flag_names(int(h.persons["flags"].iloc[0]))


def test_unknown_sex_and_missing_id_are_not_conflicts() -> None:
    h = build(report("2021-04-01", sex="U", id_key=None), report("2021-05-01", ref="b"))
    assert flag_names(int(h.persons["flags"].iloc[0])) == []


def test_history_documents_shape_and_masking() -> None:
    rows = frame(
        report("2021-04-01", source="44", ref="a", lot="L1", site="440101001", seq="1"),
        report("2021-04-01", source="62", ref="b", seq="1"),
        report("2021-05-01", source="62", ref="b", seq="2"),
    )
    h = build_histories(rows, today=TODAY)
    (doc,) = list(history_documents(h, rows))
    assert doc["person_id"] == "p"
    assert doc["records"] == [
        {"source": "44", "person_ref": "a"},
        {"source": "62", "person_ref": "b"},
    ]
    assert doc["identifiers"] == ["110101********0011"]
    assert doc["name"] == "张*"
    assert (doc["birth_date"], doc["sex"]) == ("1980-01", "M")  # month only beside a masked ID
    assert [d["date"] for d in doc["doses"]] == ["2021-04-01", "2021-05-01"]
    first = doc["doses"][0]
    assert first["product"] == "BBIBP"
    assert first["manufacturer"] == "北京生物制品研究所有限责任公司"
    assert (first["dose_number"], first["kind"], first["lot_number"]) == (1, "primary", "L1")
    assert len(first["reported_by"]) == 2
    assert doc["status"] == {
        "state": "primary_complete",
        "date": "2021-05-01",
        "primary_complete_date": "2021-05-01",
        "booster_count": 0,
        "doses": [1, 2],
    }
    assert doc["flags"] == []


def test_random_histories_invariants() -> None:
    rng = np.random.default_rng(7)
    n = 500
    per = rng.integers(1, 5, n)
    person = np.repeat(np.arange(n), per)
    pos = np.arange(len(person)) - np.repeat(np.cumsum(per) - per, per)
    start = np.datetime64("2021-03-01") + rng.integers(0, 100, n).astype("timedelta64[D]")
    dates = start[person] + np.array([0, 30, 220, 420])[pos].astype("timedelta64[D]")
    dup = rng.random(len(person)) < 0.3
    take = np.r_[np.arange(len(person)), np.flatnonzero(dup)]
    df = pd.DataFrame(
        {
            PERSON_ID: person[take],
            SOURCE: np.r_[np.full(len(person), "44"), np.full(dup.sum(), "62")],
            PERSON_REF: person[take].astype(str),
            DOSE_DATE: dates[take].astype("datetime64[ns]"),
            PRODUCT_CODE: pd.array(np.where(pos[take] < 2, "BBIBP", "ZF2001"), dtype="string"),
            VACCINE: "x",
            LOT_NUMBER: None,
            SITE: None,
            DOSE_SEQ: (pos[take] + 1).astype(str),
            BIRTH_DATE: pd.Timestamp("1970-01-01"),
            NAME: "n",
            ID_KEY: person[take].astype(str),
            SEX: "F",
        }
    ).sample(frac=1, random_state=3)
    h = build_histories(df, today=TODAY)
    assert len(h.events) == len(person)  # every duplicate merged, no real dose merged
    assert (h.reports["event_id"] >= 0).all()
    expected = np.concatenate([np.arange(1, k + 1) for k in per])
    assert h.events["dose_number"].to_numpy().tolist() == expected.tolist()
    assert h.persons["dose_count"].tolist() == per.tolist()
    assert h.events["reported_by"].map(len).sum() == len(df)


# --- Dose histories as match evidence -------------------------------------------------------


def evidence(left: list[tuple[str, str, str | None]], right: list[tuple[str, str, str | None]]) -> int:  # fmt: skip
    doses = pd.DataFrame(
        [(1, d, p, lot) for d, p, lot in left] + [(2, d, p, lot) for d, p, lot in right],
        columns=[RECORD_ID, DOSE_DATE, PRODUCT_CODE, LOT_NUMBER],
    )
    doses[DOSE_DATE] = pd.to_datetime(doses[DOSE_DATE])
    pairs = pd.DataFrame({"record_id_l": [1], "record_id_r": [2]})
    return int(compare_dose_histories(pairs, doses)[0])


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ([("2021-05-01", "BBIBP", None)], [], -1),
        ([("2021-05-01", "BBIBP", "L1")], [("2021-05-01", "BBIBP", "L2")], 3),  # re-entered
        ([("2021-05-01", "BBIBP", "L1")], [("2021-05-06", "BBIBP", "L2")], 0),  # 5 days, 2 lots
        ([("2021-05-01", "BBIBP", None)], [("2021-05-09", "BBIBP", None)], 0),  # 8 days apart
        ([("2021-05-01", "BBIBP", None)], [("2021-05-01", "AD5", None)], 3),  # one day: one event
        ([("2021-05-01", "BBIBP", None)], [("2021-05-06", "AD5", None)], 0),
        ([("2021-05-01", "KCONVAC", None)], [("2021-05-24", "KCONVAC", None)], 1),  # < 28 days
        ([("2021-05-01", "BBIBP", None)], [("2021-05-29", "BBIBP", None)], 2),  # complement
        ([("2021-05-01", "BBIBP", "L1")], [("2021-05-01", "BBIBP", "L1")], 3),  # same event
        (
            [("2021-05-01", "BBIBP", None), ("2021-06-01", "BBIBP", None)],
            [("2021-06-01", "BBIBP", None), ("2022-01-01", "ZF2001", None)],
            3,
        ),
    ],
)
def test_compare_dose_histories(left: list[tuple[str, str, str | None]], right: list[tuple[str, str, str | None]], level: int) -> None:  # fmt: skip
    assert evidence(left, right) == level


def test_compare_dose_histories_is_aligned_with_pairs() -> None:
    doses = pd.DataFrame(
        {
            RECORD_ID: [0, 1, 2],
            DOSE_DATE: pd.to_datetime(["2021-05-01", "2021-05-01", "2021-06-01"]),
            PRODUCT_CODE: ["BBIBP", "BBIBP", "BBIBP"],
            LOT_NUMBER: [None, None, None],
        }
    )
    pairs = pd.DataFrame({"record_id_l": [0, 0, 1, 0], "record_id_r": [1, 2, 2, 9]})
    assert compare_dose_histories(pairs, doses).tolist() == [3, 2, 2, -1]


def test_survivor_is_the_report_not_typed_again_from_the_certificate() -> None:
    # The original in Henan names its site in words; the re-entry in Xinjiang writes its own
    # clinic's code, generic wording, a re-typed lot and a date one day off.
    h = build(
        report("2022-01-25", "BBIBP", source="41", ref="a", lot="202110C184", site="新华区体育馆"),
        report("2022-01-26", None, source="65", ref="b", lot="批号202110C184", site="6542260001"),
    )
    assert len(h.events) == 1
    assert h.events["dose_date"].iloc[0] == pd.Timestamp("2022-01-25")
    assert h.events["reported_by"].iloc[0][0]["source"] == "41"


def test_a_site_code_of_another_province_marks_a_historical_copy() -> None:
    h = build(
        report("2021-05-01", source="44", ref="a", lot="L1", site="620102003"),  # Gansu's code
        report("2021-05-02", source="62", ref="b", site="620102003"),
    )
    assert h.events["dose_date"].iloc[0] == pd.Timestamp("2021-05-02")


def test_survivor_is_not_the_second_registration_of_the_person_in_its_province() -> None:
    # Dose 1 was given in Yunnan; after the move, a Shandong clinic re-entered it from the
    # certificate under a new registration, a day off, beside the person's Shandong one.
    # Both reports are equally complete and each is its registration's only dose.
    h = build(
        report("2021-05-30", source="37", ref="s2", lot="202101B481", site="城阳区卫生服务站"),
        report("2021-06-27", source="37", ref="s1", lot="202104D221", site="兰陵县中医院"),
        report("2022-01-17", source="37", ref="s1", lot="202109E814", site="兰陵县中医院"),
        report("2021-05-29", source="53", ref="y", lot="202101B481", site="5301810002"),
    )
    assert len(h.events) == 3
    first = h.events.sort_values("dose_date").iloc[0]
    assert first["dose_date"] == pd.Timestamp("2021-05-29")
    assert first["reported_by"][0]["source"] == "53"
