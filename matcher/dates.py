"""Date cells of provincial exports → ``datetime64[ns]`` plus a short reason for each bad value.

Accepted forms (after NFKC, so full-width digits work), always year-month-day:
``2021-06-01``, ``2021/6/1``, ``2021.06.01``, ``2021年6月1日``, ``20210601`` (optionally followed
by ``HHMMSS``), any of those followed by a time of day (ignored), five-digit Excel serial
numbers from 10000 = 1927-05-18 (``44348`` → 2021-06-01; a fraction is ignored) and datetime
objects. Day-first or month-first forms such as ``01/06/2021`` are never guessed: unparsable.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.dictionary import distinct

EARLIEST: Final = pd.Timestamp("1890-01-01")
# Excel's 1900 date system counts 1900-02-29, which did not exist, so from serial 61 on (all
# five-digit serials) day 0 is 1899-12-30.
EXCEL_EPOCH: Final = pd.Timestamp("1899-12-30")
UNPARSABLE: Final = "unparsable date"
# Cell texts meaning "no value"; they give NaT without a reason, like an empty cell.
EMPTY_TEXTS: Final = frozenset({"", "nan", "nat", "none", "null", "-", "/", "无", "不详"})

_TIME: Final = r"(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
# Tried in order on each distinct text; every pattern names its groups y, m, d.
_YMD_FORMS: Final[tuple[re.Pattern[str], ...]] = (
    re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME),
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?" + _TIME),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\d{6})?(?:\.0+)?"),
)
_EXCEL: Final = re.compile(r"[1-9]\d{4}(?:\.\d+)?")
_DAYS_IN_MONTH: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
# Calendar dates pandas can hold in datetime64[ns].
_MIN_YEAR: Final = 1678
_MAX_YEAR: Final = 2261


def _as_text(value: object) -> str:
    """Cell value → text; whole floats lose Excel's ``.0`` and datetimes become ISO dates."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _nfkc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _ymd_of(text: str) -> tuple[int, int, int]:
    """(year, month, day) of one text; (0, 0, 0) when no form matches."""
    for form in _YMD_FORMS:
        found = form.fullmatch(text)
        if found is not None:
            return int(found["y"]), int(found["m"]), int(found["d"])
    if _EXCEL.fullmatch(text):
        day = EXCEL_EPOCH + dt.timedelta(days=int(text.split(".")[0]))
        return day.year, day.month, day.day
    return 0, 0, 0


def _ymd(texts: pd.Series) -> pd.DataFrame:
    """Integer year/month/day columns, 0 where no form matched."""
    rows = [_ymd_of(t) for t in texts.tolist()]
    return pd.DataFrame(
        np.array(rows, dtype=np.int64).reshape(-1, 3),
        index=texts.index,
        columns=["year", "month", "day"],
    )


def _calendar_ok(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    last = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    return month_ok & (day >= 1) & (day <= last) & (year >= 1)


def _parse_texts(
    texts: pd.Series, latest: pd.Timestamp, earliest: pd.Timestamp
) -> tuple[pd.Series, pd.Series]:
    """(dates, reasons) of already-normalised texts, index-aligned."""
    empty = texts.str.casefold().isin(EMPTY_TEXTS).to_numpy()
    parts = _ymd(texts)
    year, month, day = (parts[c].to_numpy() for c in ("year", "month", "day"))
    matched = year > 0
    valid = matched & _calendar_ok(year, month, day)
    in_range = valid & (year >= _MIN_YEAR) & (year <= _MAX_YEAR)
    dates = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    dates[in_range] = pd.to_datetime(parts[in_range], errors="coerce")

    def label(i: int) -> str:
        return f"{year[i]:04d}-{month[i]:02d}-{day[i]:02d}"

    before = valid & ((year < _MIN_YEAR) | (dates < earliest).to_numpy())
    future = valid & ((year > _MAX_YEAR) | (dates > latest).to_numpy())
    reasons = np.full(len(texts), None, dtype=object)
    reasons[~matched] = UNPARSABLE
    for i in np.flatnonzero(matched & ~valid).tolist():
        reasons[i] = f"impossible date {label(i)}"
    reasons[before] = f"date before {earliest:%Y-%m-%d}"
    for i in np.flatnonzero(future).tolist():
        reasons[i] = f"date {label(i)} is in the future"
    reasons[empty] = None
    bad = before | future
    dates[bad] = pd.NaT
    return dates, pd.Series(reasons, index=texts.index, dtype=object)


def parse_dates(
    values: pd.Series, *, latest: pd.Timestamp, earliest: pd.Timestamp = EARLIEST
) -> tuple[pd.Series, pd.Series]:
    """Parse date cells; bad values become NaT with a reason.

    Args:
        values: raw cells (strings, numbers, datetimes, missing).
        latest: dates after it are "in the future" (naive timestamp, usually the export date).
        earliest: dates before it are rejected.

    Returns:
        ``(dates, reasons)``, both index-aligned with ``values`` and named like it: dates as
        ``datetime64[ns]`` (NaT when empty or bad); reasons as strings such as
        ``"unparsable date"``, ``"impossible date 2021-02-30"``,
        ``"date 2031-01-01 is in the future"`` or ``"date before 1890-01-01"``, and ``None`` for
        good and for empty cells (missing, blank, or one of ``EMPTY_TEXTS``).
    """
    codes, uniques = distinct(values)
    texts = pd.Series([_nfkc(_as_text(u)).strip() for u in uniques], dtype=object)
    dates, reasons = _parse_texts(texts, latest, earliest)
    date_values = np.append(dates.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    reason_values = np.array([*reasons.tolist(), None], dtype=object)
    return (
        pd.Series(
            date_values.take(codes), index=values.index, name=values.name, dtype="datetime64[ns]"
        ),
        pd.Series(reason_values.take(codes), index=values.index, name=values.name, dtype=object),
    )
