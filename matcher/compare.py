"""Comparison levels per field for candidate pairs, computed in batch (no Python call per pair).

Every comparator returns an int8 array: -1 = missing on either side (neutral in the score),
0 = disagree, higher = closer. Levels are documented in ``LEVELS``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from matcher import columns as c
from matcher import persons as p

Int8Array = npt.NDArray[np.int8]
LEFT, RIGHT = f"{c.RECORD_ID}_l", f"{c.RECORD_ID}_r"
FUZZY_PINYIN = "name_pinyin_fuzzy"

LEVELS: dict[str, tuple[str, ...]] = {
    "id": ("different", "one_edit", "equal_after_upgrade", "exact"),
    "name": (
        "different",
        "jaro_winkler_low",
        "jaro_winkler_high",
        "same_fuzzy_pinyin",
        "same_pinyin_or_tokens",
        "same_simplified",
        "exact",
    ),
    "birth_date": ("different", "same_year", "near", "day_month_swap", "exact"),
    "sex": ("different", "same"),
    "phone": ("different", "same"),
    "region": ("different", "same_id_province"),
}
FIELDS: tuple[str, ...] = tuple(LEVELS)


def level_column(field: str) -> str:
    """Name of the comparison-level column of a field."""
    return f"level_{field}"


KEY_PREFIX = "key_"  # integer code columns added by prepare_records
_CODED: dict[str, str] = {
    "norm": c.NAME_NORM,
    "simplified": c.NAME_SIMPLIFIED,
    "pinyin": c.NAME_PINYIN,
    "tokens": c.NAME_TOKENS,
    "fuzzy": "name_pinyin_fuzzy",
    "phone": c.PHONE,
    "doc": c.ID_DOC_TYPE,
}


def prepare_records(records: pd.DataFrame) -> pd.DataFrame:
    """Add integer codes per compared value (``key_*``) so comparisons are integer compares.

    Done once per record set; ``compare_pairs`` prepares on the fly when the codes are absent.
    Returns a shallow copy: the caller's frame is not changed.
    """
    out = records.copy(deep=False)
    for name, column in _CODED.items():
        source = records[column] if column in records else records[c.NAME_PINYIN]
        out[KEY_PREFIX + name] = _codes(source)
    borrowed = records[p.ID_BORROWED].to_numpy(dtype=bool)
    out[KEY_PREFIX + "id"] = np.where(borrowed, -1, _codes(records[c.ID_KEY]))
    ids = records[c.ID_KEY].astype(object)
    out[KEY_PREFIX + "id_chars"] = np.where(ids.str.len() == 18, ids, "").astype("S18")
    out[KEY_PREFIX + "upgraded"] = records[c.ID_UPGRADED].fillna(False).to_numpy(dtype=np.int64)
    out[KEY_PREFIX + "province"] = np.where(borrowed, -1, _codes(records[c.ID_PROVINCE]))
    out[KEY_PREFIX + "sex"] = _codes(_effective_sex(records))
    key = records[p.BIRTH_KEY].to_numpy(dtype=np.int64)
    days = pd.to_datetime(
        pd.Series(key).where(key > 0).astype("Int64").astype(str), format="%Y%m%d", errors="coerce"
    )
    out[KEY_PREFIX + "birth_day"] = (
        (days - pd.Timestamp("1800-01-01")).dt.days.fillna(-1).to_numpy(dtype=np.int64)
    )
    return out


def _prepared(records: pd.DataFrame) -> pd.DataFrame:
    return records if KEY_PREFIX + "birth_day" in records else prepare_records(records)


def _key(records: pd.DataFrame, name: str) -> npt.NDArray[np.int64]:
    return np.asarray(records[KEY_PREFIX + name], dtype=np.int64)


def compare_pairs(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    jw_thresholds: tuple[float, ...] = (0.92, 0.8),
    workers: int = -1,
) -> pd.DataFrame:
    """Comparison levels of every pair (``record_id_l``, ``record_id_r``) → ``level_<field>``."""
    records = _prepared(records)
    left = pairs[LEFT].to_numpy(dtype=np.int64)
    right = pairs[RIGHT].to_numpy(dtype=np.int64)
    out = pd.DataFrame({LEFT: left, RIGHT: right}, index=pairs.index)
    comparators: dict[str, Callable[[], Int8Array]] = {
        "id": lambda: compare_ids(records, left, right),
        "name": lambda: compare_names(records, left, right, jw_thresholds, workers),
        "birth_date": lambda: compare_birth_dates(records, left, right),
        "sex": lambda: _equal_codes(_key(records, "sex"), left, right),
        "phone": lambda: _equal_codes(_key(records, "phone"), left, right),
        "region": lambda: _equal_codes(_key(records, "province"), left, right),
    }
    for field in FIELDS:
        out[level_column(field)] = comparators[field]()
    return out


def _codes(values: pd.Series) -> npt.NDArray[np.int64]:
    """Integer code per record (-1 for missing or empty), so equality is an integer compare."""
    codes, uniques = pd.factorize(values)
    codes = codes.astype(np.int64)
    empty = np.flatnonzero(np.asarray(uniques, dtype=object) == "")
    if len(empty):
        codes[codes == empty[0]] = -1
    return codes


def _equal_codes(
    codes: npt.NDArray[np.int64], left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> Int8Array:
    """-1 missing, 0 different, 1 equal."""
    a, b = codes[left], codes[right]
    return np.where((a < 0) | (b < 0), -1, (a == b).astype(np.int8)).astype(np.int8)


def _effective_sex(records: pd.DataFrame) -> pd.Series:
    """Stated sex, else the sex implied by a trusted ID; NA when unknown."""
    stated = records[c.SEX].astype(object).where(records[c.SEX].isin(["M", "F"]))
    implied = records[c.ID_SEX].astype(object).where(records[p.TRUSTED_ID].notna())
    return stated.where(stated.notna(), implied)


def compare_ids(
    records: pd.DataFrame, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> Int8Array:
    """ID levels: exact / equal after 15→18 upgrade / one substitution or transposition / different.

    Missing when either side has no key, the document types differ, or either record's ID is
    borrowed (its implied birth date contradicts the stated one: a guardian's number).
    """
    records = _prepared(records)
    key_codes = _key(records, "id")
    doc_codes = _key(records, "doc")
    upgraded = _key(records, "upgraded")
    a, b = key_codes[left], key_codes[right]
    missing = (a < 0) | (b < 0) | (doc_codes[left] != doc_codes[right])
    equal = a == b
    level = np.zeros(len(left), dtype=np.int8)
    level[equal] = 3
    level[equal & (upgraded[left] != upgraded[right])] = 2
    candidates = np.flatnonzero(~equal & ~missing)
    if len(candidates):
        level[candidates] = np.where(
            _one_edit(
                records[KEY_PREFIX + "id_chars"].to_numpy(), left[candidates], right[candidates]
            ),
            1,
            0,
        )
    level[missing] = -1
    return level


def _one_edit(
    chars: npt.NDArray[np.bytes_], left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """True where two 18-character keys differ by one substitution or adjacent transposition."""
    a = chars[left].view(np.uint8).reshape(-1, 18)
    b = chars[right].view(np.uint8).reshape(-1, 18)
    both_full = (a[:, 17] != 0) & (b[:, 17] != 0)  # shorter keys are zero-padded
    diff = a != b
    n_diff = diff.sum(axis=1)
    substitution = n_diff == 1
    first = diff.argmax(axis=1)
    nxt = np.minimum(first + 1, 17)
    rows = np.arange(len(left))
    transposed = (
        (n_diff == 2)
        & diff[rows, nxt]
        & (a[rows, first] == b[rows, nxt])
        & (a[rows, nxt] == b[rows, first])
    )
    return (substitution | transposed) & both_full


def compare_names(
    records: pd.DataFrame,
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    jw_thresholds: tuple[float, ...],
    workers: int = -1,
) -> Int8Array:
    """Name levels: exact raw / same simplified / same pinyin or token set / same fuzzy pinyin /
    Jaro–Winkler bands on the simplified name / different."""
    records = _prepared(records)
    norm, simplified = _key(records, "norm"), _key(records, "simplified")
    pinyin, tokens, fuzzy = _key(records, "pinyin"), _key(records, "tokens"), _key(records, "fuzzy")
    missing = (simplified[left] < 0) | (simplified[right] < 0)
    level = np.zeros(len(left), dtype=np.int8)
    todo = ~missing
    for value, codes in ((6, norm), (5, simplified), (4, pinyin), (4, tokens), (3, fuzzy)):
        hit = todo & (codes[left] == codes[right]) & (codes[left] >= 0)
        level[hit] = value
        todo &= ~hit
    idx = np.flatnonzero(todo)
    if len(idx):
        names = records[c.NAME_SIMPLIFIED].astype(object).fillna("").to_numpy()
        sim = process.cpdist(
            names[left[idx]],
            names[right[idx]],
            scorer=JaroWinkler.normalized_similarity,
            workers=workers,
            dtype=np.float32,
        )
        bands = sorted(jw_thresholds, reverse=True)
        fuzzy_level = np.zeros(len(idx), dtype=np.int8)
        for rank, threshold in enumerate(bands):
            fuzzy_level = np.where(
                (fuzzy_level == 0) & (sim >= threshold), len(bands) - rank, fuzzy_level
            ).astype(np.int8)
        level[idx] = fuzzy_level
    level[missing] = -1
    return level


def compare_birth_dates(
    records: pd.DataFrame, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> Int8Array:
    """Birth-date levels on the effective birth date (stated, else ID-implied)."""
    records = _prepared(records)
    key = records[p.BIRTH_KEY].to_numpy(dtype=np.int64)
    day = _key(records, "birth_day")
    a, b = key[left], key[right]
    level = np.full(len(left), 4, dtype=np.int8)
    level[(a == 0) | (b == 0)] = -1
    idx = np.flatnonzero((a != b) & (level == 4))  # only unequal dates need the finer checks
    a, b = a[idx], b[idx]
    finer = np.zeros(len(idx), dtype=np.int8)
    finer[a // 10000 == b // 10000] = 1
    finer[_near_dates(a, b, day[left[idx]], day[right[idx]])] = 2
    finer[p.day_month_swapped(a, b)] = 3
    level[idx] = finer
    return level


def _near_dates(
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    day_a: npt.NDArray[np.int64],
    day_b: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """One digit apart, at most 31 days apart, or the same day of a neighbouring year."""
    valid = (a > 0) & (b > 0)
    close = (day_a >= 0) & (day_b >= 0) & (np.abs(day_a - day_b) <= 31)
    neighbour_year = (a % 10000 == b % 10000) & (np.abs(a // 10000 - b // 10000) == 1)
    return valid & ((p.digit_differences(a, b) == 1) | close | neighbour_year)
