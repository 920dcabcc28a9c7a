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
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.dictionary import ObjectArray, arrow_strings, distinct, with_missing_slot

__all__ = [
    "parse_dates",
]

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
# Common shapes, parsed without Python (see ``_common_ymd``).
_COMMON_FORM: Final = (
    "^(?P<y>[0-9]{4})(?P<s>[-/.年]?)(?P<m>[0-9]{1,2})(?P<t>[-/.月]?)(?P<d>[0-9]{1,2})"
    "(?P<u>[日号]?)$"
)
# Calendar dates pandas can hold in datetime64[ns].
_MIN_YEAR: Final = 1678
_MAX_YEAR: Final = 2261

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


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


def _common_ymd(uniques: ObjectArray) -> tuple[IntArray, BoolArray]:
    """(year, month, day) rows of the values in a common shape, parsed by Arrow with the same
    results as ``_ymd_of`` (other rows 0), and which values those are.

    Common shapes: ASCII digits as ``2021-6-1`` (one of ``-/.`` twice), ``2021年6月1日`` (no spaces
    or time) and ``20210601``. NFKC and ``strip`` leave texts of these characters unchanged.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.extract_regex(arrow_strings(uniques), _COMMON_FORM)
    parts = {name: found.field(name) for name in ("y", "s", "m", "t", "d", "u")}
    common = pc.and_(found.is_valid(), _common_shape(parts))
    ymd = np.zeros((len(uniques), 3), dtype=np.int64)
    for column, name in enumerate(("y", "m", "d")):
        ymd[:, column] = pc.cast(pc.if_else(common, parts[name], "0"), pa.int64()).to_numpy()
    return ymd, np.asarray(common.to_numpy(zero_copy_only=False), dtype=bool)


def _common_shape(parts: dict[str, Any]) -> Any:
    """Which ``_COMMON_FORM`` matches are a ``_YMD_FORMS`` shape: separators ``-/.`` twice the
    same, 年 and 月, or none with two-digit month and day (``_COMMON_FORM`` admits more)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sep, sep2 = parts["s"], parts["t"]
    same_sep = pc.and_(pc.equal(sep, sep2), pc.is_in(sep, pa.array(list("-/."))))
    month_day = pc.binary_join_element_wise(parts["m"], parts["d"], "")
    eight_digits = pc.and_(
        pc.equal(pc.binary_join_element_wise(sep, sep2, ""), ""),
        pc.equal(pc.binary_length(month_day), 4),
    )
    return pc.or_(
        pc.and_(pc.or_(same_sep, eight_digits), pc.equal(parts["u"], "")),
        pc.and_(pc.equal(sep, "年"), pc.equal(sep2, "月")),
    )


def _ymd(uniques: ObjectArray) -> tuple[IntArray, BoolArray]:
    """(year, month, day) rows of distinct cell values (0 where no form matches), and which
    values are empty (``EMPTY_TEXTS``, after NFKC and strip)."""
    ymd, common = _common_ymd(uniques)
    rest = np.flatnonzero(~common)
    texts = [_nfkc(_as_text(u)).strip() for u in uniques[rest].tolist()]
    ymd[rest] = np.array([_ymd_of(t) for t in texts], dtype=np.int64).reshape(-1, 3)
    empty = np.zeros(len(uniques), dtype=bool)
    empty[rest] = [t.casefold() in EMPTY_TEXTS for t in texts]
    return ymd, empty


def _calendar_ok(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    last = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    return month_ok & (day >= 1) & (day <= last) & (year >= 1)


def _judge(
    ymd: IntArray, empty: BoolArray, latest: pd.Timestamp, earliest: pd.Timestamp
) -> tuple[npt.NDArray[np.datetime64], ObjectArray]:
    """(dates, reasons) of (year, month, day) rows; ``empty`` rows get no reason."""
    year, month, day = ymd[:, 0], ymd[:, 1], ymd[:, 2]
    matched = year > 0
    valid = matched & _calendar_ok(year, month, day)
    in_range = valid & (year >= _MIN_YEAR) & (year <= _MAX_YEAR)
    dates = np.full(len(ymd), np.datetime64("NaT", "ns"))
    dates[in_range] = _dates(year[in_range], month[in_range], day[in_range])

    def label(i: int) -> str:
        return f"{year[i]:04d}-{month[i]:02d}-{day[i]:02d}"

    before = valid & ((year < _MIN_YEAR) | (dates < pd.Timestamp(earliest).to_datetime64()))
    future = valid & ((year > _MAX_YEAR) | (dates > pd.Timestamp(latest).to_datetime64()))
    reasons = np.full(len(ymd), None, dtype=object)
    reasons[~matched] = UNPARSABLE
    for i in np.flatnonzero(matched & ~valid).tolist():
        reasons[i] = f"impossible date {label(i)}"
    reasons[before] = f"date before {earliest:%Y-%m-%d}"
    for i in np.flatnonzero(future).tolist():
        reasons[i] = f"date {label(i)} is in the future"
    reasons[empty] = None
    bad = before | future
    dates[bad] = np.datetime64("NaT", "ns")
    return dates, reasons


def _dates(year: IntArray, month: IntArray, day: IntArray) -> npt.NDArray[np.datetime64]:
    """``datetime64[ns]`` of valid calendar dates."""
    months = ((year - 1970) * 12 + month - 1).astype("M8[M]")
    return (months.astype("M8[D]") + (day - 1).astype("m8[D]")).astype("M8[ns]")


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
    ymd, empty = _ymd(uniques)
    dates, reasons = _judge(ymd, empty, latest, earliest)
    date_values = np.append(dates, np.datetime64("NaT", "ns"))
    reason_values = with_missing_slot(reasons)
    return (
        pd.Series(
            date_values.take(codes), index=values.index, name=values.name, dtype="datetime64[ns]"
        ),
        pd.Series(reason_values.take(codes), index=values.index, name=values.name, dtype=object),
    )
