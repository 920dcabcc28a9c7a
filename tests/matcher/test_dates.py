"""Date parsing: accepted forms, reasons for bad values, Excel serials, round trips."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import dates as dates_module
from matcher.dates import UNPARSABLE, parse_dates

LATEST = pd.Timestamp("2022-12-31")
JUNE_1 = pd.Timestamp("2021-06-01")


def parse_one(value: object, latest: pd.Timestamp = LATEST) -> tuple[object, object]:
    dates, reasons = parse_dates(pd.Series([value], dtype=object), latest=latest)
    return dates.iloc[0], reasons.iloc[0]


@pytest.mark.parametrize(
    "value",
    [
        "2021-06-01",
        "2021/6/1",
        "2021/06/01",
        "20210601",
        "2021年6月1日",
        "2021 年 6 月 1 日",
        "2021年06月01号",
        "2021.06.01",
        "2021-06-01 10:23:00",
        "2021-06-01T10:23:00+08:00",
        "2021/6/1 0:00",
        "20210601102300",
        "20210601.0",
        " 2021-06-01 ",
        "２０２１－０６－０１",
        "２０２１年６月１日",
        "44348",
        "44348.0",
        "44348.4375",
        44348,
        44348.0,
        20210601,
        pd.Timestamp("2021-06-01 10:23"),
        dt.date(2021, 6, 1),
        dt.datetime(2021, 6, 1, 23, 59),
    ],
)
def test_accepted_forms(value: object) -> None:
    assert parse_one(value) == (JUNE_1, None)


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (10000, "1927-05-18"),
        (36526, "2000-01-01"),
        (43831, "2020-01-01"),
        (44348, "2021-06-01"),
        (44926, "2022-12-31"),
    ],
)
def test_excel_serials_use_the_1900_system(serial: int, expected: str) -> None:
    assert parse_one(str(serial)) == (pd.Timestamp(expected), None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2021-02-30", "impossible date 2021-02-30"),
        ("2021-13-01", "impossible date 2021-13-01"),
        ("2021-04-31", "impossible date 2021-04-31"),
        ("1900-02-29", "impossible date 1900-02-29"),
        ("2021年2月30日", "impossible date 2021-02-30"),
        ("20210230", "impossible date 2021-02-30"),
        ("2031-01-01", "date 2031-01-01 is in the future"),
        ("2023-01-01", "date 2023-01-01 is in the future"),
        ("9999-12-31", "date 9999-12-31 is in the future"),
        ("99999", "date 2173-10-13 is in the future"),
        ("1889-12-31", "date before 1890-01-01"),
        ("0999-01-01", "date before 1890-01-01"),
        ("01/06/2021", UNPARSABLE),
        ("06/01/2021", UNPARSABLE),
        ("1/6/21", UNPARSABLE),
        ("2021-06/01", UNPARSABLE),
        ("210601", UNPARSABLE),
        ("00001", UNPARSABLE),
        ("4434", UNPARSABLE),
        ("abc", UNPARSABLE),
        ("二〇二一年六月一日", UNPARSABLE),
    ],
)
def test_bad_values_give_nat_and_a_reason(value: str, reason: str) -> None:
    date, got = parse_one(value)
    assert pd.isna(date)
    assert got == reason


def test_leap_day_is_fine() -> None:
    assert parse_one("2020-02-29") == (pd.Timestamp("2020-02-29"), None)


def test_latest_and_earliest_are_inclusive() -> None:
    values = pd.Series(["2022-12-31", "1950-01-01", "1949-12-31"])
    dates, reasons = parse_dates(values, latest=LATEST, earliest=pd.Timestamp("1950-01-01"))
    assert dates.tolist()[:2] == [LATEST, pd.Timestamp("1950-01-01")]
    assert reasons.tolist() == [None, None, "date before 1950-01-01"]


@pytest.mark.parametrize("empty", [None, float("nan"), "", "   ", "NULL", "nan", "NaT", "无"])
def test_empty_values_have_no_reason(empty: object) -> None:
    date, reason = parse_one(empty)
    assert pd.isna(date) and reason is None


def test_alignment_dtypes_and_names() -> None:
    values = pd.Series(
        ["2021-06-01", None, "bad", "2021-06-01"], index=[9, 3, 5, 1], name="dose_date"
    )
    dates, reasons = parse_dates(values, latest=LATEST)
    assert dates.dtype == np.dtype("datetime64[ns]") and reasons.dtype == object
    assert dates.index.equals(values.index) and reasons.index.equals(values.index)
    assert dates.name == reasons.name == "dose_date"
    assert reasons.tolist() == [None, None, UNPARSABLE, None]
    assert dates.loc[1] == dates.loc[9] == JUNE_1


def test_datetime_column_is_range_checked() -> None:
    values = pd.Series([pd.Timestamp("2021-06-01 08:00"), pd.Timestamp("2030-01-01"), pd.NaT])
    dates, reasons = parse_dates(values, latest=LATEST)
    assert dates.iloc[0] == JUNE_1 and dates.iloc[1:].isna().all()
    assert reasons.tolist() == [None, "date 2030-01-01 is in the future", None]


def test_empty_series() -> None:
    dates, reasons = parse_dates(pd.Series([], dtype=object), latest=LATEST)
    assert dates.empty and reasons.empty and dates.dtype == np.dtype("datetime64[ns]")


FORMATS = (
    lambda d: d.strftime("%Y-%m-%d"),
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: d.strftime("%Y%m%d"),
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: d.strftime("%Y.%m.%d"),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2022, 12, 31)), max_size=20),
    st.integers(min_value=0, max_value=len(FORMATS) - 1),
)
def test_formatted_dates_round_trip(days: list[dt.date], which: int) -> None:
    values = pd.Series([FORMATS[which](d) for d in days], dtype=object)
    dates, reasons = parse_dates(values, latest=LATEST)
    assert dates.tolist() == [pd.Timestamp(d) for d in days]
    assert reasons.isna().all()


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=dt.date(1927, 5, 18), max_value=dt.date(2022, 12, 31)))
def test_excel_serial_round_trip(day: dt.date) -> None:
    serial = (day - dt.date(1899, 12, 30)).days
    assert parse_one(serial) == (pd.Timestamp(day), None)


def _date_texts() -> list[object]:
    """Common and uncommon shapes, valid and not, for comparing the Arrow and Python paths."""
    years = ["0000", "1677", "1900", "2000", "2021", "2262", "9999"]
    months = ["0", "00", "1", "01", "2", "02", "12", "13"]
    days = ["0", "00", "1", "01", "28", "29", "30", "31", "32"]
    forms = (
        "{}-{}-{}",
        "{}/{}/{}",
        "{}.{}.{}",
        "{}-{}/{}",
        "{}{}{}",
        "{}年{}月{}日",
        "{}年{}月{}号",
    )
    texts: list[object] = [
        form.format(y, m, d) for y in years for m in months for d in days for form in forms
    ]
    marks = ["", "-", "/", ".", "年", "月", "日"]
    texts += [
        f"{y}{first}{m}{second}{d}{suffix}"
        for y, m, d in [("2000", "2", "29"), ("2021", "06", "01"), ("1999", "1", "31")]
        for first in marks
        for second in marks
        for suffix in ("", "日", "号", "-")
    ]
    texts += [
        "20000229",
        "19000229",
        "00000000",
        "2021年6月1",
        "2021年6月1日日",
        "2021-06-01 10:00",
    ]
    texts += ["2021-06-01T10:00", "２０２１-06-01", " 20210601", "202106011", "2021061", "44348"]
    texts += ["2021-6-1-", "-2021-6-1", "2021--6-1", "", "NULL", None, 20210601, 44348.0]
    return texts


def test_arrow_path_agrees_with_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    values = pd.Series(_date_texts(), dtype=object)
    fast = parse_dates(values, latest=LATEST)
    common = dates_module._common_ymd(np.array(values.dropna().tolist(), dtype=object))[1]
    assert common.sum() > 1500  # most of the mix takes the Arrow path

    def python_only(uniques: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.int64], object]:
        return np.zeros((len(uniques), 3), dtype=np.int64), np.zeros(len(uniques), dtype=bool)

    monkeypatch.setattr(dates_module, "_common_ymd", python_only)
    slow = parse_dates(values, latest=LATEST)
    pd.testing.assert_series_equal(fast[0], slow[0])
    pd.testing.assert_series_equal(fast[1], slow[1])


def test_arrow_path_values() -> None:
    texts = np.array(
        ["2021-6-1", "20000229", "2021年06月1号", "2021-6/1", "2021 -6-1"], dtype=object
    )
    ymd, common = dates_module._common_ymd(texts)
    assert common.tolist() == [True, True, True, False, False]
    assert ymd.tolist() == [[2021, 6, 1], [2000, 2, 29], [2021, 6, 1], [0, 0, 0], [0, 0, 0]]
