"""Schedule rules of DOMAIN.md §4: primary series, boosters, status (table tests)."""

from __future__ import annotations

from collections.abc import Sequence

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
    SEX,
    SITE,
    SOURCE,
    VACCINE,
)
from matcher.histories import build_histories
from matcher.schedules import (
    CONFLICT,
    DISTINCT,
    DUPLICATE,
    UNSURE,
    Flag,
    add_months,
    classify_report_pairs,
    flag_names,
)

TODAY = pd.Timestamp("2023-06-01")
ADULT = "1980-06-15"
SENIOR = "1955-03-01"
CHILD = "2010-01-01"


def history(doses: Sequence[tuple[str, str | None]], birth: str = ADULT, texts: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.Series]:  # fmt: skip
    """Build one person's history from (date, product code) pairs, one province, distinct lots."""
    frame = pd.DataFrame(
        {
            PERSON_ID: "p",
            SOURCE: "44",
            PERSON_REF: "r",
            DOSE_DATE: pd.to_datetime([d for d, _ in doses]),
            PRODUCT_CODE: pd.array([p for _, p in doses], dtype="string"),
            VACCINE: list(texts) if texts else [p or "新冠疫苗" for _, p in doses],
            LOT_NUMBER: [f"L{i}" for i in range(len(doses))],
            SITE: "440101001",
            DOSE_SEQ: [str(i + 1) for i in range(len(doses))],
            BIRTH_DATE: pd.Timestamp(birth),
            NAME: "张三",
            ID_KEY: "440101198006150011",
            SEX: "M",
        }
    )
    h = build_histories(frame, today=TODAY)
    return h.events, h.persons.iloc[0]


def kinds(events: pd.DataFrame) -> list[str]:
    return [f"{k}{'' if v else '!'}" for k, v in zip(events["kind"], events["valid"], strict=True)]


def event_flags(events: pd.DataFrame) -> list[list[str]]:
    return [flag_names(int(f)) for f in events["flags"]]


@pytest.mark.parametrize(
    ("doses", "status", "status_date", "labels"),
    [
        # Two-dose inactivated products.
        ([("2021-04-01", "BBIBP")], "primary_in_progress", "2021-04-01", ["primary"]),
        (
            [("2021-04-01", "BBIBP"), ("2021-04-22", "BBIBP")],
            "primary_complete",
            "2021-04-22",
            ["primary", "primary"],
        ),
        (
            [("2021-04-01", "WIBP"), ("2021-05-20", "WIBP")],
            "primary_complete",
            "2021-05-20",
            ["primary", "primary"],
        ),
        (
            [("2021-04-01", "CORONAVAC"), ("2021-04-29", "CORONAVAC")],
            "primary_complete",
            "2021-04-29",
            ["primary", "primary"],
        ),
        (
            [("2021-06-01", "IMBCAMS"), ("2021-06-29", "IMBCAMS")],
            "primary_complete",
            "2021-06-29",
            ["primary", "primary"],
        ),
        # KCONVAC needs 28 days: dose 2 after 21 days does not count.
        (
            [("2021-06-01", "KCONVAC"), ("2021-06-22", "KCONVAC")],
            "primary_in_progress",
            "2021-06-01",
            ["primary", "primary!"],
        ),
        (
            [("2021-06-01", "KCONVAC"), ("2021-06-29", "KCONVAC")],
            "primary_complete",
            "2021-06-29",
            ["primary", "primary"],
        ),
        # A late dose 2 is caught up: the series is not restarted.
        (
            [("2021-04-01", "BBIBP"), ("2021-12-01", "BBIBP")],
            "primary_complete",
            "2021-12-01",
            ["primary", "primary"],
        ),
        # One-dose Ad5.
        ([("2021-05-01", "AD5")], "primary_complete", "2021-05-01", ["primary"]),
        # Three-dose ZF2001.
        (
            [("2021-05-01", "ZF2001"), ("2021-06-01", "ZF2001")],
            "primary_in_progress",
            "2021-06-01",
            ["primary", "primary"],
        ),
        (
            [("2021-05-01", "ZF2001"), ("2021-06-01", "ZF2001"), ("2021-09-01", "ZF2001")],
            "primary_complete",
            "2021-09-01",
            ["primary"] * 3,
        ),
        # Mixed inactivated makers form a valid primary series.
        (
            [("2021-04-01", "BBIBP"), ("2021-05-01", "CORONAVAC")],
            "primary_complete",
            "2021-05-01",
            ["primary", "primary"],
        ),
        (
            [("2021-04-01", "CORONAVAC"), ("2021-05-01", "KCONVAC")],
            "primary_complete",
            "2021-05-01",
            ["primary", "primary"],
        ),
        # Booster-only product first: no primary series.
        ([("2022-10-01", "AD5_INH")], "primary_in_progress", None, ["booster!"]),
        # Unknown product after a known one: the series is completed with the same product.
        (
            [("2021-04-01", "BBIBP"), ("2021-05-01", None)],
            "primary_complete",
            "2021-05-01",
            ["primary", "primary"],
        ),
        # Only unknown products, the text naming no platform: never towards the status.
        (
            [("2021-04-01", None), ("2021-05-01", None)],
            "primary_in_progress",
            None,
            ["primary!", "primary!"],
        ),
        # Unknown product too soon after a known one: not counted.
        (
            [("2021-04-01", "KCONVAC"), ("2021-04-23", None)],
            "primary_in_progress",
            "2021-04-01",
            ["primary", "primary!"],
        ),
    ],
)
def test_primary_series(
    doses: list[tuple[str, str | None]], status: str, status_date: str | None, labels: list[str]
) -> None:
    events, person = history(doses)
    assert person["status"] == status
    if status_date is None:
        assert pd.isna(person["status_date"])
    else:
        assert person["status_date"] == pd.Timestamp(status_date)
    assert kinds(events) == labels
    assert events["dose_number"].tolist() == list(range(1, len(doses) + 1))


def test_a_text_naming_the_inactivated_platform_counts_as_inactivated() -> None:
    frame_doses = [("2021-04-01", None), ("2021-05-01", None)]
    events, person = history(frame_doses, texts=["新冠病毒灭活疫苗（Vero细胞）"] * 2)
    assert person["status"] == "primary_complete"
    assert all("unknown_vaccine" in f for f in event_flags(events))  # still flagged


def test_mixed_platform_primary_is_flagged_not_completed() -> None:
    events, person = history([("2021-04-01", "BBIBP"), ("2021-05-01", "ZF2001")])
    assert person["status"] == "primary_in_progress"
    assert "mixed_primary_platforms" in event_flags(events)[1]


def test_ad5_after_one_inactivated_completes_by_itself() -> None:
    events, person = history([("2021-04-01", "CORONAVAC"), ("2021-05-01", "AD5")])
    assert person["status"] == "primary_complete"
    assert events["justifies_status"].tolist() == [False, True]


INACT2 = [("2021-04-01", "BBIBP"), ("2021-05-01", "BBIBP")]


@pytest.mark.parametrize(
    ("booster", "birth", "status", "flag"),
    [
        # Homologous booster ≥ 6 months after the primary series.
        (("2021-11-01", "BBIBP"), ADULT, "booster", None),
        (("2021-11-01", "CORONAVAC"), ADULT, "booster", None),
        (("2021-10-28", "BBIBP"), ADULT, "booster", None),  # 4 days early: the grace period
        (("2021-10-27", "BBIBP"), ADULT, "primary_complete", "booster_too_early"),
        # Heterologous booster (ZF2001 / Ad5) only from 2022-02-19.
        (("2022-02-19", "ZF2001"), ADULT, "booster", None),
        (("2022-02-19", "AD5"), ADULT, "booster", None),
        (("2022-02-18", "ZF2001"), ADULT, "primary_complete", "booster_not_indicated"),
        (("2022-01-10", "AD5"), ADULT, "primary_complete", "booster_not_indicated"),
        (("2022-10-01", "AD5_INH"), ADULT, "booster", None),
        # No booster for under-18s.
        (("2021-11-01", "BBIBP"), CHILD, "primary_complete", "booster_not_indicated"),
    ],
)
def test_first_booster(booster: tuple[str, str], birth: str, status: str, flag: str | None) -> None:
    events, person = history([*INACT2, booster], birth=birth)
    assert person["status"] == status
    assert events["kind"].tolist()[-1] == "booster"
    assert person["booster_count"] == (1 if status == "booster" else 0)
    if flag:
        assert flag in event_flags(events)[-1]
    else:
        assert event_flags(events)[-1] == []
        assert person["status_date"] == pd.Timestamp(booster[0])


@pytest.mark.parametrize(
    ("primary_end", "booster_day", "birth", "status"),
    [
        # 60+ at ≥3 months from 2022-11-29 (国卫明电〔2022〕484号).
        ("2022-08-29", "2022-11-29", SENIOR, "booster"),
        ("2022-09-03", "2022-11-29", SENIOR, "booster"),  # 4 days short: the grace period
        ("2022-09-04", "2022-11-29", SENIOR, "primary_complete"),  # 5 days short of 3 months
        ("2022-08-01", "2022-11-28", SENIOR, "primary_complete"),  # before the notice
        ("2022-08-29", "2022-11-29", ADULT, "primary_complete"),  # under 60: 6 months
        ("2022-05-29", "2022-11-29", ADULT, "booster"),
    ],
)
def test_elderly_three_month_booster(primary_end: str, booster_day: str, birth: str, status: str) -> None:  # fmt: skip
    start = (pd.Timestamp(primary_end) - pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    events, person = history(
        [(start, "BBIBP"), (primary_end, "BBIBP"), (booster_day, "ZF2001")], birth=birth
    )
    assert person["status"] == status
    if status != "booster":
        assert "booster_too_early" in event_flags(events)[-1]


@pytest.mark.parametrize(
    ("second", "count", "flag"),
    [
        ("2022-12-20", 2, None),  # second-booster plan of 2022-12-13, ≥6 months later
        ("2022-12-12", 1, "booster_not_indicated"),  # before the plan
        ("2023-02-01", 1, "booster_too_early"),  # < 6 months after the first booster
    ],
)
def test_second_booster(second: str, count: int, flag: str | None) -> None:
    first = "2022-03-01" if flag != "booster_too_early" else "2022-09-01"
    events, person = history([*INACT2, (first, "BBIBP"), (second, "SCTV01E")])
    assert person["status"] == "booster"
    assert person["booster_count"] == count
    if flag:
        assert flag in event_flags(events)[-1]


def test_too_many_doses() -> None:
    doses = [*INACT2, ("2022-03-01", "BBIBP"), ("2022-12-20", "ZF2001"), ("2023-05-01", "AD5")]
    events, person = history(doses)
    assert person["booster_count"] == 2
    assert "too_many_doses" in event_flags(events)[-1]
    assert "too_many_doses" in flag_names(int(person["flags"]))


def test_status_doses_justify_the_status() -> None:
    events, _ = history([("2021-04-01", "BBIBP"), ("2021-04-05", "WIBP"), ("2021-05-01", "BBIBP"), ("2022-03-01", "ZF2001")])  # fmt: skip
    assert events["justifies_status"].tolist() == [True, False, True, True]
    assert "interval_too_short" in event_flags(events)[1]


def test_not_vaccinated_when_no_dated_dose() -> None:
    frame = pd.DataFrame(
        {
            PERSON_ID: ["p"],
            SOURCE: ["44"],
            PERSON_REF: ["r"],
            DOSE_DATE: pd.Series([pd.NaT], dtype="datetime64[ns]"),
            PRODUCT_CODE: pd.array(["BBIBP"], dtype="string"),
            VACCINE: ["科兴"],
            LOT_NUMBER: [None],
            SITE: [None],
            DOSE_SEQ: ["1"],
            BIRTH_DATE: pd.to_datetime(["1980-01-01"]),
            NAME: ["张三"],
            ID_KEY: [None],
            SEX: ["M"],
        }
    )
    h = build_histories(frame, today=TODAY)
    assert len(h.events) == 0
    assert h.persons["status"].tolist() == ["not_vaccinated"]
    assert flag_names(int(h.persons["flags"].iloc[0])) == ["missing_dose_date"]
    assert h.reports["event_id"].tolist() == [-1]


def test_add_months_clamps_to_month_end() -> None:
    days = np.array(["2021-08-31", "2022-01-15", "2023-12-31", "NaT"], dtype="datetime64[D]")
    out = add_months(days, 6)
    assert out[:3].tolist() == np.array(["2022-02-28", "2022-07-15", "2024-06-30"], dtype="datetime64[D]").tolist()  # fmt: skip
    assert np.isnat(out[3])


@pytest.mark.parametrize(
    ("gap", "prod_l", "prod_r", "lot_l", "lot_r", "same_source", "expected"),
    [
        (0, 0, 0, -1, -1, False, DUPLICATE),  # same date and product
        (0, 0, 0, 1, 2, False, DUPLICATE),  # re-entered elsewhere: own lot text, same day
        (1, 0, 0, 1, 2, False, DUPLICATE),  # ... and dated a day off
        (-1, 0, 2, 1, 2, True, DUPLICATE),  # a day apart, other wording: still one event
        (0, 0, -1, -1, -1, False, DUPLICATE),  # unknown product, same day
        (2, 0, 0, -1, -1, False, DUPLICATE),  # date typo between two provinces
        (3, 0, -1, 4, 5, False, DUPLICATE),  # ... with an unknown product and other lot text
        (2, 0, 0, -1, -1, True, UNSURE),  # same province, two dates
        (2, 0, 0, 1, 2, True, CONFLICT),  # same province, two dates, two lots
        (4, 0, 0, 1, 2, False, CONFLICT),  # beyond the date tolerance, different lots
        (4, 0, 2, -1, -1, False, UNSURE),  # different products 4 days apart
        (10, 0, 0, 5, 5, True, DUPLICATE),  # same lot inside the window
        (10, 0, 0, -1, -1, False, UNSURE),
        (21, 0, 0, 5, 5, False, DISTINCT),  # 21 days: two real doses, never merged
        (-30, 0, 0, -1, -1, False, DISTINCT),
    ],
)
def test_classify_report_pairs(gap: int, prod_l: int, prod_r: int, lot_l: int, lot_r: int, same_source: bool, expected: int) -> None:  # fmt: skip
    def a(v: object) -> np.ndarray:
        return np.array([v])

    got = classify_report_pairs(a(gap), a(prod_l), a(prod_r), a(lot_l), a(lot_r), a(same_source))
    assert got.tolist() == [expected]


def test_flag_names_round_trip() -> None:
    mask = Flag.DOSE_IN_FUTURE | Flag.UNKNOWN_VACCINE
    assert flag_names(int(mask)) == ["dose_in_future", "unknown_vaccine"]
