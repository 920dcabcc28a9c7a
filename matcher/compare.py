"""Comparison levels per field for candidate pairs, computed in batch (no Python call per pair).

Every comparator returns an int8 array: -1 = missing on either side (neutral in the score),
0 = disagree, higher = closer. Levels are documented in ``LEVELS``.

``prepare_records`` turns every compared value into an integer code once per record set; a
comparison then gathers one row of codes per record of a pair (a few cache lines, in chunks)
and compares integers. Only names that agree on no code reach rapidfuzz's Jaro–Winkler.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Indel, JaroWinkler

from matcher import columns as c
from matcher import persons as p
from matcher.blocking import (
    ID_CHARS,
    ID_FORM,
    ID_FORM_CHECKSUM_OK,
    ID_FORM_OTHER,
    KEY_PREFIX,
    encode,
    id_encoding,
)
from matcher.dictionary import forget_text, is_dictionary
from matcher.frames import with_columns

__all__ = [
    "BIRTH_DAY",
    "FIELDS",
    "FUZZY_PINYIN",
    "LEFT",
    "LEVELS",
    "ONE_CHARACTER",
    "RIGHT",
    "compare_birth_dates",
    "compare_pairs",
    "level_column",
    "prepare_records",
]

Int8Array = npt.NDArray[np.int8]
IntArray = npt.NDArray[np.int64]
LEFT, RIGHT = f"{c.RECORD_ID}_l", f"{c.RECORD_ID}_r"
FUZZY_PINYIN = "name_pinyin_fuzzy"

LEVELS: dict[str, tuple[str, ...]] = {
    "id": ("different", "one_edit", "equal_after_upgrade", "exact"),
    "name": (
        "different",
        "jaro_winkler_low",
        "jaro_winkler_high",
        "one_character",  # one character dropped or added, or a placeholder for a rare one
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


# Integer code columns added by prepare_records (``key_<column>`` for plain column codes).
_NAME_COLUMNS = (c.NAME_NORM, c.NAME_SIMPLIFIED, c.NAME_PINYIN, c.NAME_TOKENS, FUZZY_PINYIN)
_PLAIN_COLUMNS = (*_NAME_COLUMNS, c.PHONE, c.ID_DOC_TYPE, c.ID_PROVINCE)
ID_CODE = KEY_PREFIX + c.ID_KEY
TRUSTED_CODE = KEY_PREFIX + p.TRUSTED_ID
ID_MASKED = KEY_PREFIX + "id_masked"  # id_key code, -1 where the ID is borrowed
PROVINCE_MASKED = KEY_PREFIX + "province_masked"  # id_province code, -1 where borrowed
UPGRADED = KEY_PREFIX + "upgraded"
DAMAGED = KEY_PREFIX + "maybe_damaged"  # 1 where the ID key may be Excel damage (…000)
SEX_CODE = KEY_PREFIX + "sex_effective"  # stated sex, else a trusted ID's sex
BIRTH_DAY = KEY_PREFIX + "birth_day"  # days since 1800-01-01 of birth_key, -1 if none

# The per-record row of codes a comparison gathers, and which fields need which columns.
_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": (ID_MASKED, KEY_PREFIX + c.ID_DOC_TYPE, UPGRADED, ID_FORM, DAMAGED),
    "name": tuple(KEY_PREFIX + col for col in _NAME_COLUMNS),
    "birth_date": (p.BIRTH_KEY, BIRTH_DAY),
    "sex": (SEX_CODE,),
    "phone": (KEY_PREFIX + c.PHONE,),
    "region": (PROVINCE_MASKED,),
}
_CHUNK = 1 << 15  # pairs per gathered block (two blocks of rows stay in cache)


def prepare_records(records: pd.DataFrame, *, columns: Iterable[str] = ()) -> pd.DataFrame:
    """Add integer codes per compared value (``key_*`` columns) so comparisons compare integers.

    Done once per record set; ``compare_pairs`` prepares on the fly when the codes are absent.
    ``columns``: more text columns to encode for later stages (blocking keys), as
    ``key_<column>``. Text columns may be object, string or categorical. Returns a shallow
    copy: the caller's frame is not changed.
    """
    id_codes, chars, form = id_encoding(records[c.ID_KEY])
    forget_text(records[c.ID_KEY])  # its Arrow form served the ID shapes (~20 MB at 1M)
    keys: dict[str, npt.NDArray[Any]] = {}

    def codes_of(name: str) -> npt.NDArray[Any]:
        return keys[name] if name in keys else records[name].to_numpy()

    for column in dict.fromkeys((*_PLAIN_COLUMNS, *columns)):
        name = KEY_PREFIX + column
        if name in records or name in keys:
            continue
        if column in records:
            if _is_number(records[column]):
                continue  # blocking takes numbers as they are
            keys[name] = id_codes if column == c.ID_KEY else encode(records[column])
        elif column == FUZZY_PINYIN:  # no dialect folding: the plain pinyin stands in
            keys[name] = codes_of(KEY_PREFIX + c.NAME_PINYIN).copy()
    borrowed = _bool(records[p.ID_BORROWED])
    keys[ID_CODE] = id_codes
    keys[ID_CHARS] = chars
    keys[ID_FORM] = form
    keys[ID_MASKED] = np.where(borrowed, np.int32(-1), id_codes)
    keys[TRUSTED_CODE] = _trusted_codes(records, id_codes)
    keys[UPGRADED] = _bool(records[c.ID_UPGRADED]).astype(np.int32)
    damaged = records[p.ID_MAYBE_DAMAGED] if p.ID_MAYBE_DAMAGED in records else None
    keys[DAMAGED] = (
        np.zeros(len(records), np.int32) if damaged is None else _bool(damaged).astype(np.int32)
    )
    province = codes_of(KEY_PREFIX + c.ID_PROVINCE).astype(np.int32, copy=False)
    keys[PROVINCE_MASKED] = np.where(borrowed, np.int32(-1), province)
    keys[SEX_CODE] = _effective_sex_codes(records)
    keys[BIRTH_DAY] = birth_days(records[p.BIRTH_KEY].to_numpy(dtype=np.int64))
    return with_columns(records, keys)


def _is_number(values: pd.Series) -> bool:
    dtype = values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _prepared(records: pd.DataFrame) -> pd.DataFrame:
    return records if BIRTH_DAY in records else prepare_records(records)


def _bool(values: pd.Series) -> npt.NDArray[np.bool_]:
    """A boolean array from a bool, nullable boolean or object column (missing → False)."""
    if values.dtype == bool:
        return values.to_numpy()
    return values.fillna(False).to_numpy(dtype=bool)


def _trusted_codes(records: pd.DataFrame, id_codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Code of the trusted ID per record (-1 when none); the id_key codes when it is the key."""
    trusted, keys = records[p.TRUSTED_ID], records[c.ID_KEY]
    has = trusted.notna().to_numpy()
    if is_dictionary(trusted) and is_dictionary(keys) and _same_categories(trusted, keys):
        same = trusted.cat.codes.to_numpy()[has] == keys.cat.codes.to_numpy()[has]
    else:
        same = trusted.to_numpy(dtype=object)[has] == keys.to_numpy(dtype=object)[has]
    if bool(np.all(same)):
        return np.where(has, id_codes, np.int32(-1))
    return encode(trusted)


def _same_categories(a: pd.Series, b: pd.Series) -> bool:
    """True when two dictionary-encoded columns share their categories, in the same order (the
    same codes then mean the same values)."""
    return bool(a.cat.categories.equals(b.cat.categories))


def _effective_sex_codes(records: pd.DataFrame) -> npt.NDArray[np.int32]:
    """Stated sex (M/F), else the sex implied by a trusted ID; -1 when unknown."""
    stated_codes, stated_values = pd.factorize(records[c.SEX])
    stated_table = np.array(
        [{c.MALE: 0, c.FEMALE: 1}.get(v, -1) for v in np.asarray(stated_values, dtype=object)]
        + [-1],
        dtype=np.int32,
    )
    implied_codes, implied_values = pd.factorize(records[c.ID_SEX])
    implied_table = np.array(
        [
            {c.MALE: 0, c.FEMALE: 1, "": -1}.get(v, 2 + k)
            for k, v in enumerate(np.asarray(implied_values, dtype=object).tolist())
        ]
        + [-1],
        dtype=np.int32,
    )
    stated = stated_table[stated_codes]
    implied = np.where(records[p.TRUSTED_ID].notna().to_numpy(), implied_table[implied_codes], -1)
    return np.where(stated >= 0, stated, implied).astype(np.int32)


_FIRST_DAY = np.datetime64("1800-01-01", "D")


def birth_days(keys: IntArray) -> IntArray:
    """Days since 1800-01-01 of YYYYMMDD integers; -1 where 0 or not a calendar date.

    Dates outside pandas' nanosecond range (1677-09-22 … 2262-04-11) count as not a date.
    Worked out once per distinct date.
    """
    codes, distinct = pd.factorize(keys)
    return _birth_days(np.asarray(distinct, dtype=np.int64))[codes]


def _birth_days(keys: IntArray) -> IntArray:
    year, month, day = keys // 10000, keys // 100 % 100, keys % 100
    plausible = (keys >= 16770922) & (keys <= 22620411) & (month >= 1) & (month <= 12)
    plausible &= (day >= 1) & (day <= 31)
    year = np.where(plausible, year, 1970)
    month = np.where(plausible, month, 1)
    day = np.where(plausible, day, 1)
    first_of_month = (year - 1970).astype("datetime64[Y]") + (month - 1).astype("timedelta64[M]")
    date = first_of_month.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    valid = plausible & (date.astype("datetime64[M]") == first_of_month)  # no day overflow
    return np.where(valid, (date - _FIRST_DAY).astype(np.int64), -1)


def compare_pairs(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    jw_thresholds: tuple[float, ...] = (0.92, 0.8),
    workers: int = -1,
) -> pd.DataFrame:
    """Comparison levels of every pair (``record_id_l``, ``record_id_r``) → ``level_<field>``."""
    left = pairs[LEFT].to_numpy(dtype=np.int64)
    right = pairs[RIGHT].to_numpy(dtype=np.int64)
    levels = _compare(records, left, right, FIELDS, jw_thresholds, workers)
    out = {LEFT: left, RIGHT: right, **{level_column(f): levels[f] for f in FIELDS}}
    return pd.DataFrame(out, index=pairs.index, copy=False)  # new arrays: no consolidating copy


def compare_ids(records: pd.DataFrame, left: IntArray, right: IntArray) -> Int8Array:
    """ID levels: exact / equal after 15→18 upgrade / one substitution or transposition / different.

    Missing when either side has no key, the document types differ, or either record's ID is
    borrowed (its implied birth date contradicts the stated one: a guardian's number).
    """
    return _compare(records, left, right, ("id",))["id"]


def compare_names(
    records: pd.DataFrame,
    left: IntArray,
    right: IntArray,
    jw_thresholds: tuple[float, ...],
    workers: int = -1,
) -> Int8Array:
    """Name levels: exact raw / same simplified / same pinyin or token set / same fuzzy pinyin /
    Jaro–Winkler bands on the simplified name / different."""
    return _compare(records, left, right, ("name",), jw_thresholds, workers)["name"]


def compare_birth_dates(records: pd.DataFrame, left: IntArray, right: IntArray) -> Int8Array:
    """Birth-date levels on the effective birth date (stated, else ID-implied)."""
    return _compare(records, left, right, ("birth_date",))["birth_date"]


def _compare(
    records: pd.DataFrame,
    left: IntArray,
    right: IntArray,
    fields: Sequence[str],
    jw_thresholds: tuple[float, ...] = (0.92, 0.8),
    workers: int = -1,
) -> dict[str, Int8Array]:
    """Levels of ``fields`` for the pairs: rows of codes are gathered and compared in chunks."""
    records = _prepared(records)
    names = [name for f in fields for name in _TABLE_COLUMNS[f]]
    col = {name: j for j, name in enumerate(names)}
    table = np.empty((len(records), len(names)), dtype=np.int32)  # one row per record
    for j, name in enumerate(names):
        table[:, j] = records[name].to_numpy()
    n = len(left)
    levels = {f: np.empty(n, dtype=np.int8) for f in fields}
    check_id: list[IntArray] = []  # pairs whose IDs may be one edit apart
    fuzzy_name: list[IntArray] = []  # pairs whose names need Jaro–Winkler
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        a = np.take(table, left[start:stop], axis=0)
        b = np.take(table, right[start:stop], axis=0)
        if "id" in levels:
            levels["id"][start:stop], check = _id_levels(a, b, col)
            check_id.append(start + np.flatnonzero(check))
        if "name" in levels:
            levels["name"][start:stop], fuzzy = _name_levels(a, b, col)
            fuzzy_name.append(start + np.flatnonzero(fuzzy))
        if "birth_date" in levels:
            levels["birth_date"][start:stop] = _birth_levels(a, b, col)
        for f in ("sex", "phone", "region"):
            if f in levels:
                j = col[_TABLE_COLUMNS[f][0]]
                levels[f][start:stop] = _equal_codes(a[:, j], b[:, j])
    del table
    if "id" in levels and check_id:
        idx = np.concatenate(check_id)
        chars = records[ID_CHARS].to_numpy()
        levels["id"][idx] = _one_edit(chars, left[idx], right[idx]).astype(np.int8)
    if "id" in levels and "region" in levels:
        # The ID's province is part of the ID: once the IDs are compared as equal or one typo
        # apart it adds nothing, and a typo in the first two digits must not count twice.
        levels["region"][levels["id"] >= 1] = -1
    if "name" in levels and fuzzy_name:
        idx = np.concatenate(fuzzy_name)
        levels["name"][idx] = _fuzzy_name_levels(
            records, left[idx], right[idx], jw_thresholds, workers
        )
    return levels


def _equal_codes(a: npt.NDArray[np.int32], b: npt.NDArray[np.int32]) -> Int8Array:
    """-1 missing, 0 different, 1 equal."""
    level = (a == b).view(np.int8).copy()
    level[(a < 0) | (b < 0)] = -1
    return level


def _id_levels(
    a: npt.NDArray[np.int32], b: npt.NDArray[np.int32], col: dict[str, int]
) -> tuple[Int8Array, npt.NDArray[np.bool_]]:
    """ID levels of a chunk, and which pairs need the one-edit check (level 0 until then)."""
    key, doc, upgraded, form = (
        col[ID_MASKED],
        col[KEY_PREFIX + c.ID_DOC_TYPE],
        col[UPGRADED],
        col[ID_FORM],
    )
    ka, kb = a[:, key], b[:, key]
    equal = ka == kb
    missing = (ka < 0) | (kb < 0) | (a[:, doc] != b[:, doc])
    # A key ending in 000 may be a number Excel cut to 15 digits: unequal keys then say
    # nothing (a twin's number shares the first 16 characters, so they cannot count for).
    damaged = col[DAMAGED]
    missing |= ~equal & ((a[:, damaged] == 1) | (b[:, damaged] == 1))
    level = np.where(equal, np.int8(3), np.int8(0))
    level[equal & (a[:, upgraded] != b[:, upgraded])] = 2
    fa, fb = a[:, form], b[:, form]
    # Two keys with a correct MOD 11-2 check character are never one edit apart (a single
    # substitution or adjacent transposition always changes the check), so only pairs with
    # at least one other 18-character key are checked character by character.
    check = ~equal & ~missing & (fa != ID_FORM_OTHER) & (fb != ID_FORM_OTHER)
    check &= (fa != ID_FORM_CHECKSUM_OK) | (fb != ID_FORM_CHECKSUM_OK)
    level[missing] = -1
    return level, check


def _one_edit(
    chars: npt.NDArray[np.bytes_], left: IntArray, right: IntArray
) -> npt.NDArray[np.bool_]:
    """True where two 18-character keys differ by one substitution or adjacent transposition."""
    a = chars[left].astype("S18").view(np.uint8).reshape(-1, 18)
    b = chars[right].astype("S18").view(np.uint8).reshape(-1, 18)
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


def _name_levels(
    a: npt.NDArray[np.int32], b: npt.NDArray[np.int32], col: dict[str, int]
) -> tuple[Int8Array, npt.NDArray[np.bool_]]:
    """Name levels of a chunk from the codes, and which pairs still need Jaro–Winkler."""
    norm, simplified, pinyin, tokens, fuzzy = (col[KEY_PREFIX + name] for name in _NAME_COLUMNS)
    missing = (a[:, simplified] < 0) | (b[:, simplified] < 0)
    level = np.zeros(len(a), dtype=np.int8)
    todo = ~missing
    for value, j in ((7, norm), (6, simplified), (5, pinyin), (5, tokens), (4, fuzzy)):
        hit = todo & (a[:, j] == b[:, j]) & (a[:, j] >= 0)
        level[hit] = value
        todo &= ~hit
    level[missing] = -1
    return level, todo


def _fuzzy_name_levels(
    records: pd.DataFrame,
    left: IntArray,
    right: IntArray,
    jw_thresholds: tuple[float, ...],
    workers: int,
) -> Int8Array:
    """Levels of simplified names (both present) that agree on no key: a one-character variant
    (``ONE_CHARACTER``), else a Jaro–Winkler band, else 0."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.int8)
    codes = records[KEY_PREFIX + c.NAME_SIMPLIFIED].to_numpy(dtype=np.int64)
    # One string object per distinct name (the first record carrying it): fewer cache misses.
    first = np.zeros(int(codes.max()) + 1 if len(codes) else 0, dtype=np.int64)
    order = np.flatnonzero(codes >= 0)[::-1]
    first[codes[order]] = order
    names = records[c.NAME_SIMPLIFIED].take(first).to_numpy(dtype=object)  # by code
    a, b = names[codes[left]], names[codes[right]]
    sim = process.cpdist(
        a, b, scorer=JaroWinkler.normalized_similarity, workers=workers, dtype=np.float32
    )
    bands = sorted(jw_thresholds, reverse=True)
    level = np.zeros(len(left), dtype=np.int8)
    for rank, threshold in enumerate(bands):
        level[(level == 0) & (sim >= threshold)] = len(bands) - rank
    level[_one_character_variants(names, codes[left], codes[right], workers)] = ONE_CHARACTER
    return level


ONE_CHARACTER = LEVELS["name"].index("one_character")
# What systems put where they could not type a rare character (DOMAIN §3): ?, □, ■, *, the
# replacement character; private-use code points (U+E000–U+F8FF) are placeholders too.
_PLACEHOLDERS = frozenset("?？□■*＊\ufffd")


def _one_character_variants(
    names: npt.NDArray[np.object_], left: IntArray, right: IntArray, workers: int
) -> npt.NDArray[np.bool_]:
    """Chinese names (same first character, the shorter of 2+) one character apart: one
    dropped or added (Indel distance 1), or equal where either holds a placeholder.

    ``names`` by code; ``left``/``right`` the codes of each pair's names.
    """
    used = np.unique(np.concatenate([left, right]))
    chinese = np.zeros(len(names), dtype=bool)
    marked = np.zeros(len(names), dtype=bool)
    initial = np.full(len(names), -1, dtype=np.int64)
    for code in used.tolist():  # once per distinct name
        name = names[code]
        chinese[code] = len(name) >= 2 and _is_chinese(name)
        marked[code] = any(_placeholder(ch) for ch in name)
        initial[code] = ord(name[0]) if name else -1
    a, b = names[left], names[right]
    ok = chinese[left] & chinese[right] & (initial[left] == initial[right])
    out = np.zeros(len(left), dtype=bool)
    idx = np.flatnonzero(ok)
    out[idx] = process.cpdist(a[idx], b[idx], scorer=Indel.distance, workers=workers) == 1
    for i in np.flatnonzero(ok & (marked[left] | marked[right]) & ~out):
        x, y = a[i], b[i]
        out[i] = len(x) == len(y) and all(
            p == q or _placeholder(p) or _placeholder(q) for p, q in zip(x, y, strict=True)
        )
    return out


def _placeholder(ch: str) -> bool:
    return ch in _PLACEHOLDERS or "\ue000" <= ch <= "\uf8ff"


def _is_chinese(name: str) -> bool:
    """Names of ideographs (CJK, with placeholders and the middle dot), not Latin letters."""
    return any("\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0003134f" for ch in name)


def _birth_levels(
    a: npt.NDArray[np.int32], b: npt.NDArray[np.int32], col: dict[str, int]
) -> Int8Array:
    """Birth-date levels of a chunk on the effective birth date (YYYYMMDD, 0 = none)."""
    key_a, key_b = a[:, col[p.BIRTH_KEY]], b[:, col[p.BIRTH_KEY]]
    level = np.full(len(a), 4, dtype=np.int8)
    level[(key_a == 0) | (key_b == 0)] = -1
    idx = np.flatnonzero((key_a != key_b) & (level == 4))  # only unequal dates need more
    x, y = key_a[idx].astype(np.int64), key_b[idx].astype(np.int64)
    day = col[BIRTH_DAY]
    day_a, day_b = a[idx, day], b[idx, day]
    same_year = x // 10000 == y // 10000
    finer = same_year.view(np.int8).copy()  # 1: same year
    # near: at most 31 days apart, the same day of a neighbouring year (exactly 10000 apart
    # as YYYYMMDD), or one digit apart (then the difference is d·10^k: only those are counted)
    diff = np.abs(x - y)
    near = (day_a >= 0) & (day_b >= 0) & (np.abs(day_a - day_b) <= 31)
    near |= diff == 10000
    maybe = np.flatnonzero(~near & _one_digit_difference(diff))
    near[maybe] = p.digit_differences(x[maybe], y[maybe]) == 1
    finer[near] = 2
    swap = np.flatnonzero(same_year)
    finer[swap[p.day_month_swapped(x[swap], y[swap])]] = 3
    level[idx] = finer
    return level


_ONE_DIGIT_STEPS = np.sort(
    np.array([d * 10**k for d in range(1, 10) for k in range(8)], dtype=np.int64)
)


def _one_digit_difference(diff: IntArray) -> npt.NDArray[np.bool_]:
    """True where ``diff`` is d·10^k (d = 1…9): necessary for two numbers one digit apart."""
    pos = np.minimum(np.searchsorted(_ONE_DIGIT_STEPS, diff), len(_ONE_DIGIT_STEPS) - 1)
    return _ONE_DIGIT_STEPS[pos] == diff
