"""Dose rows → one person record per (source, person_ref), with conflicts kept as alternatives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c

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
    """Group normalised dose rows into person records (one per ``source``, ``person_ref``)."""
    source_codes, _ = pd.factorize(doses[c.SOURCE], sort=True)
    ref_codes, ref_uniques = pd.factorize(doses[c.PERSON_REF], sort=True)
    combined = source_codes.astype(np.int64) * (len(ref_uniques) + 1) + ref_codes
    _, rid = np.unique(combined, return_inverse=True)  # ordered by (source, person_ref)
    rid = rid.astype(np.int64)
    order = np.argsort(rid, kind="stable")
    starts = np.flatnonzero(np.r_[True, rid[order][1:] != rid[order][:-1]]) if len(rid) else order
    first_row = order[starts]  # the first dose row of every record, in record order
    present = [c.SOURCE, c.PERSON_REF, *(f for f in IDENTITY_FIELDS if f in doses.columns)]
    records = pd.concat(
        {col: pd.Series(doses[col].to_numpy()[first_row]) for col in present}, axis=1, copy=False
    )
    for field in present[2:]:
        _fill_from_later_rows(records, doses[field], rid, field)
    records.insert(0, c.RECORD_ID, np.arange(len(records), dtype=np.int64))
    records[N_DOSES] = np.bincount(rid, minlength=len(records))

    conflict_names = np.full(len(records), "", dtype=object)
    for field in CONFLICT_FIELDS:
        if field not in doses.columns:
            continue
        alt, conflicted = _other_value(records[field], doses[field], rid)
        records[f"{field}_alt"] = alt
        hit = np.flatnonzero(conflicted)
        conflict_names[hit] = [f"{t};{field}" if t else field for t in conflict_names[hit]]
    records[CONFLICTS] = conflict_names
    return PersonRecords(records=_derive(records), dose_record_ids=rid)


def _fill_from_later_rows(
    records: pd.DataFrame, values: pd.Series, rid: npt.NDArray[np.int64], field: str
) -> None:
    """Where a record's first row lacks ``field``, take the first later row that has it."""
    missing = records[field].isna().to_numpy()
    if not missing.any():
        return
    rows = np.flatnonzero(missing[rid])
    rows = rows[values.iloc[rows].notna().to_numpy()]
    if len(rows) == 0:
        return
    found = pd.Series(values.to_numpy()[rows]).groupby(rid[rows], sort=False).first()
    records.loc[found.index.to_numpy(), field] = found.to_numpy()


def _other_value(
    first: pd.Series, values: pd.Series, rid: npt.NDArray[np.int64]
) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """Per record, a non-missing value that differs from the record's own (NA if none)."""
    own = first.to_numpy()[rid]
    raw = values.to_numpy()
    differs = values.notna().to_numpy() & pd.notna(own) & (raw != own)
    rows = np.flatnonzero(differs)
    alt = pd.Series(np.full(len(first), None, dtype=object))
    if len(rows):
        found = pd.Series(raw[rows]).groupby(rid[rows], sort=False).first()
        alt.iloc[found.index.to_numpy()] = found.to_numpy()
    if values.dtype != object:
        alt = alt.astype(values.dtype)
    conflicted = np.zeros(len(first), dtype=bool)
    conflicted[rid[rows]] = True
    return alt, conflicted


def _date_key(dates: pd.Series) -> npt.NDArray[np.int64]:
    """datetime64 → int YYYYMMDD (0 where missing)."""
    d = pd.to_datetime(dates)
    key = (d.dt.year * 10000 + d.dt.month * 100 + d.dt.day).fillna(0)
    return np.asarray(key, dtype=np.int64)


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


def _derive(records: pd.DataFrame) -> pd.DataFrame:
    """Effective birth date, borrowed-ID and trusted-ID flags, sub-blocking keys."""
    stated = _date_key(records[c.BIRTH_DATE]) if c.BIRTH_DATE in records else None
    implied = _date_key(records[c.ID_BIRTH_DATE])
    status = records[c.ID_STATUS].astype(object)
    doc = records[c.ID_DOC_TYPE].astype(object)
    resident = doc.isin(list(RESIDENT_DOC_TYPES)).to_numpy()
    valid = (status == "valid").to_numpy() & resident
    if stated is None:
        stated = np.zeros(len(records), dtype=np.int64)
    both = (stated > 0) & (implied > 0)
    # A guardian's number: the stated birth date is a generation away from the ID's and no
    # single typo explains the difference.
    years_apart = np.abs(stated // 10000 - implied // 10000)
    explainable = (digit_differences(stated, implied) <= 1) | day_month_swapped(stated, implied)
    borrowed = valid & both & (years_apart >= BORROWED_MIN_YEARS) & ~explainable
    keys = records[c.ID_KEY].astype(object)
    # "...000" may be Excel damage that passed the checksum by chance: never a hard constraint.
    maybe_damaged = keys.str.endswith("000").eq(True).to_numpy(dtype=bool)
    trusted = valid & ~borrowed & ~maybe_damaged
    # Effective birth date: a trusted ID's digits beat a typed date; else the stated date;
    # else what a (possibly mistyped) ID implies.
    checksum_error = (status == "checksum_error").to_numpy() & resident
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
    id_sex = records[c.ID_SEX].astype(object).to_numpy()
    sex = records[c.SEX].astype(object).to_numpy()
    records[SEX_CONTRADICTS_ID] = (
        trusted & np.isin(sex, ["M", "F"]) & np.isin(id_sex, ["M", "F"]) & (sex != id_sex)
    )
    pinyin = records[c.NAME_PINYIN].astype(object).fillna("")
    surname_len = records[c.SURNAME_PINYIN].astype(object).fillna("").str.len().to_numpy()
    given = pd.Series("", index=records.index, dtype=object)
    for length in np.unique(surname_len):  # a handful of distinct surname lengths
        rows = surname_len == length
        given[rows] = pinyin[rows].str[int(length) : int(length) + 1]
    records[GIVEN_INITIAL] = given.where(given != "")
    return records
