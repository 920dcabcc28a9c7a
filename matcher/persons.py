"""Dose rows → one person record per (source, person_ref), with conflicts kept as alternatives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c
from matcher.dictionary import (
    as_object,
    dictionary_column,
    distinct,
    is_dictionary,
    sorted_dictionary,
    with_missing_slot,
)

# Identity fields carried from dose rows to the person record (first non-empty value wins).
IDENTITY_FIELDS: tuple[str, ...] = (
    c.ID_TYPE,
    c.ID_NUMBER,
    c.ID_KEY,
    c.ID_STATUS,
    c.ID_DOC_TYPE,
    c.ID_UPGRADED,
    c.ID_BIRTH_DATE,
    c.ID_SEX,
    c.ID_PROVINCE,
    c.NAME,
    c.NAME_NORM,
    c.NAME_SIMPLIFIED,
    c.NAME_PINYIN,
    c.NAME_TOKENS,
    c.SURNAME,
    c.SURNAME_PINYIN,
    c.NAME_IS_LATIN,
    c.BIRTH_DATE,
    c.SEX,
    c.PHONE,
)
# Fields whose disagreement inside one registration is flagged and kept as ``<field>_alt``.
CONFLICT_FIELDS: tuple[str, ...] = (c.ID_KEY, c.NAME_SIMPLIFIED, c.BIRTH_DATE, c.PHONE)

# Derived record columns used by blocking, comparison and clustering.
BIRTH_KEY = "birth_key"  # effective birth date as int YYYYMMDD (stated, else ID-implied); 0 = none
BIRTH_YEAR = "birth_year"
BIRTH_MONTH = "birth_month"
GIVEN_INITIAL = "given_initial"  # first letter of the given name's pinyin
ID_BORROWED = "id_borrowed"  # valid ID whose implied birth date contradicts the stated one
TRUSTED_ID = "trusted_id"  # id_key of a valid, non-borrowed resident-type ID, else NA
SEX_CONTRADICTS_ID = "sex_contradicts_id"
CONFLICTS = "conflicts"  # ';'-joined CONFLICT_FIELDS that disagree within the registration
N_DOSES = "n_doses"

BORROWED_MIN_YEARS = 12  # guardians are at least this much older than the child
RESIDENT_DOC_TYPES = frozenset({"resident_id", "residence_permit", "foreign_pr_new"})


@dataclass(frozen=True, slots=True)
class PersonRecords:
    """Person records and, for every dose row, the record it belongs to."""

    records: pd.DataFrame
    dose_record_ids: npt.NDArray[np.int64]


def build_person_records(doses: pd.DataFrame) -> PersonRecords:
    """Group normalised dose rows into person records (one per ``source``, ``person_ref``).

    Records are ordered by (source, person_ref). Each identity field takes the value of the
    record's first dose row that has one; for ``CONFLICT_FIELDS`` another value seen in the
    record is kept as ``<field>_alt`` and the field named in ``conflicts``. The work is done on
    integer codes (the dictionary codes when ``doses`` is dictionary-encoded). Dictionary in,
    dictionary out: a dictionary-encoded dose column gives a dictionary-encoded record column
    (``_alt`` columns and derived columns are plain).
    """
    rid = _record_ids(doses)
    n_records = int(rid.max()) + 1 if len(rid) else 0
    order = np.argsort(rid, kind="stable")
    starts = np.flatnonzero(np.r_[True, rid[order][1:] != rid[order][:-1]]) if len(rid) else order
    first_row = order[starts]  # the first dose row of every record, in record order
    present = [c.SOURCE, c.PERSON_REF, *(f for f in IDENTITY_FIELDS if f in doses.columns)]
    columns: dict[str, npt.NDArray[Any] | pd.Series] = {
        c.RECORD_ID: np.arange(n_records, dtype=np.int64)
    }
    conflict_names = np.full(n_records, "", dtype=object)
    alternatives: dict[str, npt.NDArray[Any]] = {}
    encoded: dict[str, pd.Series] = {}
    for field in present:
        codes, values = _codes(doses[field])
        own = codes[first_row]
        _fill_from_later_rows(own, codes, rid)
        if values.dtype == object:
            encoded[field] = dictionary_column(own, values[:-1])
        # Dictionary in, dictionary out: encoded doses give encoded record columns.
        columns[field] = encoded[field] if is_dictionary(doses[field]) else values.take(own)
        if field in CONFLICT_FIELDS:
            alt, conflicted = _other_value(own, codes, rid)
            alternatives[f"{field}_alt"] = values.take(alt)
            hit = np.flatnonzero(conflicted)
            conflict_names[hit] = [f"{t};{field}" if t else field for t in conflict_names[hit]]
    columns[N_DOSES] = np.bincount(rid, minlength=n_records)
    columns.update(alternatives)
    columns[CONFLICTS] = conflict_names
    records = pd.concat(
        {
            col: values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
            for col, values in columns.items()
        },
        axis=1,
        copy=False,
    )
    return PersonRecords(records=_derive(records, encoded), dose_record_ids=rid)


def _record_ids(doses: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Per dose row, its record number; records numbered in (source, person_ref) order."""
    source_codes, sources = _sorted_codes(doses[c.SOURCE])
    ref_codes, refs = _sorted_codes(doses[c.PERSON_REF])
    combined = source_codes.astype(np.int64) * (refs + 1) + ref_codes
    _, rid = np.unique(combined, return_inverse=True)
    return rid.astype(np.int64).ravel()


def _sorted_codes(values: pd.Series) -> tuple[npt.NDArray[np.int64], int]:
    """Codes that order like the values (as text), and how many distinct values there are."""
    if is_dictionary(values):
        codes, uniques = distinct(sorted_dictionary(values))
        return codes.astype(np.int64), len(uniques)
    sorted_codes, sorted_uniques = pd.factorize(values, sort=True)
    return sorted_codes.astype(np.int64), len(sorted_uniques)


def _codes(values: pd.Series) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """(codes, values + a last slot for missing): ``values.take(codes)`` is the column."""
    if is_dictionary(values) or values.dtype == object:
        codes, uniques = distinct(values)
        return codes, with_missing_slot(uniques)
    typed_codes, typed_uniques = pd.factorize(values, use_na_sentinel=True)
    typed = np.asarray(typed_uniques)
    missing = np.datetime64("NaT", "ns") if typed.dtype.kind == "M" else typed.dtype.type()
    return typed_codes, np.append(typed, np.array([missing], dtype=typed.dtype))


def _first_per_record(
    rows: npt.NDArray[np.intp], rid: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """(records, their first row) among ``rows`` (ascending dose-row order)."""
    records, first = np.unique(rid[rows], return_index=True)
    return records, rows[first]


def _fill_from_later_rows(
    own: npt.NDArray[np.intp], codes: npt.NDArray[np.intp], rid: npt.NDArray[np.int64]
) -> None:
    """Where a record's first row lacks the field (code -1), take the first row that has it."""
    missing = own < 0
    if not missing.any():
        return
    rows = np.flatnonzero(missing[rid] & (codes >= 0))
    if len(rows):
        records, first = _first_per_record(rows, rid)
        own[records] = codes[first]


def _other_value(
    own: npt.NDArray[np.intp], codes: npt.NDArray[np.intp], rid: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Per record, the code of a non-missing value that differs from its own (-1 if none)."""
    own_per_row = own[rid]
    rows = np.flatnonzero((codes >= 0) & (own_per_row >= 0) & (codes != own_per_row))
    alt = np.full(len(own), -1, dtype=codes.dtype)
    conflicted = np.zeros(len(own), dtype=bool)
    if len(rows):
        records, first = _first_per_record(rows, rid)
        alt[records] = codes[first]
        conflicted[records] = True
    return alt, conflicted


def _date_key(dates: pd.Series) -> npt.NDArray[np.int64]:
    """datetime64 → int YYYYMMDD (0 where missing)."""
    days = pd.to_datetime(dates).to_numpy(dtype="datetime64[D]")
    missing = np.isnat(days)
    months = days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return np.where(missing, 0, year * 10000 + month * 100 + day)


def digit_differences(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
    """Number of differing decimal digits between two YYYYMMDD integer arrays."""
    diff = np.zeros(len(a), dtype=np.int8)
    x, y = a.copy(), b.copy()
    for _ in range(8):
        diff += (x % 10 != y % 10).astype(np.int8)
        x //= 10
        y //= 10
    return diff


def day_month_swapped(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True where two YYYYMMDD dates differ only by swapping day and month."""
    ya, ma, da = a // 10000, a // 100 % 100, a % 100
    yb, mb, db = b // 10000, b // 100 % 100, b % 100
    return (ya == yb) & (ma == db) & (da == mb) & (ma != da)


def _derive(records: pd.DataFrame, encoded: dict[str, pd.Series]) -> pd.DataFrame:
    """Effective birth date, borrowed-ID and trusted-ID flags, sub-blocking keys.

    ``encoded`` holds the record's text fields dictionary-encoded, so the string tests below
    run once per distinct value.
    """
    stated = _date_key(records[c.BIRTH_DATE]) if c.BIRTH_DATE in records else None
    implied = _date_key(records[c.ID_BIRTH_DATE])
    status = encoded[c.ID_STATUS]
    resident = encoded[c.ID_DOC_TYPE].isin(list(RESIDENT_DOC_TYPES)).to_numpy(dtype=bool)
    valid = (status == "valid").to_numpy(dtype=bool) & resident
    if stated is None:
        stated = np.zeros(len(records), dtype=np.int64)
    both = (stated > 0) & (implied > 0)
    # A guardian's number: the stated birth date is a generation away from the ID's and no
    # single typo explains the difference.
    years_apart = np.abs(stated // 10000 - implied // 10000)
    explainable = (digit_differences(stated, implied) <= 1) | day_month_swapped(stated, implied)
    borrowed = valid & both & (years_apart >= BORROWED_MIN_YEARS) & ~explainable
    # "...000" may be Excel damage that passed the checksum by chance: never a hard constraint.
    maybe_damaged = encoded[c.ID_KEY].str.endswith("000").eq(True).to_numpy(dtype=bool)
    trusted = valid & ~borrowed & ~maybe_damaged
    # Effective birth date: a trusted ID's digits beat a typed date; else the stated date;
    # else what a (possibly mistyped) ID implies.
    checksum_error = (status == "checksum_error").to_numpy(dtype=bool) & resident
    birth_key = np.where(
        trusted & (implied > 0),
        implied,
        np.where(stated > 0, stated, np.where(checksum_error | (valid & ~borrowed), implied, 0)),
    )
    records[BIRTH_KEY] = birth_key
    records[BIRTH_YEAR] = birth_key // 10000
    records[BIRTH_MONTH] = birth_key // 100 % 100
    records[ID_BORROWED] = borrowed
    records[TRUSTED_ID] = records[c.ID_KEY].where(trusted)
    id_sex = encoded[c.ID_SEX].isin(["M", "F"]).to_numpy(dtype=bool)
    sex = encoded[c.SEX].isin(["M", "F"]).to_numpy(dtype=bool)
    differ = (as_object(encoded[c.SEX]) != as_object(encoded[c.ID_SEX])).astype(bool)
    records[SEX_CONTRADICTS_ID] = trusted & sex & id_sex & differ
    records[GIVEN_INITIAL] = _given_initials(encoded[c.NAME_PINYIN], encoded[c.SURNAME_PINYIN])
    return records


def _given_initials(pinyin: pd.Series, surname: pd.Series) -> npt.NDArray[np.object_]:
    """First letter of the given name's pinyin (after the surname's), None when there is none."""
    name_codes, names = distinct(pinyin)
    surname_codes, surnames = distinct(surname)
    # Code -1 (missing) → an extra "" slot at the end of each list.
    names = np.concatenate([names, np.array([""], dtype=object)])
    surnames = np.concatenate([surnames, np.array([""], dtype=object)])
    name_codes = np.where(name_codes < 0, len(names) - 1, name_codes)
    surname_codes = np.where(surname_codes < 0, len(surnames) - 1, surname_codes)
    base = len(surnames)
    pairs, unique_pairs = pd.factorize(name_codes.astype(np.int64) * base + surname_codes)
    initials = [
        names[p // base][len(surnames[p % base]) :][:1] or None for p in unique_pairs.tolist()
    ]
    return np.array([*initials, None], dtype=object).take(pairs)
