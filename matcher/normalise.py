"""The normalise stage: canonical export frame → normalised dose frame plus rejects.

Rows are rejected (one rejects row each; ``field`` is the first failing check, ``reason`` lists
every failing check, without raw personal data) when:

- ``source`` is not a 2-digit GB/T 2260 province code (``field=source``);
- the row has neither a name nor an ID number (``field=name``);
- the dose date is missing, unparsable, impossible (2021-02-30) or after ``today``
  (``field=dose_date``);
- the birth date is given but unusable: unparsable, impossible or after ``today``
  (``field=birth_date``). An empty birth date is fine.

Everything else is kept, including doses dated before the birth date (a history flag for later
stages, not a reason to drop the dose). The normalisers work once per distinct value, so the
cost follows the number of distinct IDs, names and texts more than the number of dose rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from matcher.columns import (
    BIRTH_DATE,
    CANONICAL_COLUMNS,
    DOSE_DATE,
    FIELD,
    FILE,
    ID_NUMBER,
    ID_TYPE,
    NAME,
    PHONE,
    REASON,
    REQUIRED_COLUMNS,
    ROW,
    SEX,
    SOURCE,
    VACCINE,
)
from matcher.dates import parse_dates
from matcher.demographics import normalise_phones, normalise_sex
from matcher.errors import MissingColumnError
from matcher.ingest import empty_rejects
from matcher.masking import mask_id, scrub_text
from matcher.names import normalise_names
from matcher.regions import PROVINCES
from matcher.resident_id import normalise_ids
from matcher.vaccines import map_vaccines

_PROVINCE_CODES: Final = np.array(sorted(PROVINCES), dtype=object)
_SEP: Final = "; "
_ID_RUN: Final = re.compile(r"(?<![0-9A-Za-z])[0-9]{14,17}[0-9Xx](?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class NormaliseResult:
    """Output of ``normalise_doses``.

    Attributes:
        doses: the normalised dose frame (see ``docs/ARCHITECTURE.md``), RangeIndex.
        rejects: one row per rejected dose row, as ``REJECT_COLUMNS``.
    """

    doses: pd.DataFrame
    rejects: pd.DataFrame


def _blank(values: pd.Series) -> pd.Series:
    """True where a cell is missing or only whitespace."""
    text = values.astype(object)
    missing = text.isna()
    as_str = text.where(~missing, "").astype(str).str.strip()
    return missing | (as_str == "")


def safe_text(text: str) -> str:
    """Text safe for a reason: 15- to 18-character ID-like runs and mobile numbers masked.

    The explicit ID pass backs up ``scrub_text``, whose pattern stops at 17 characters.
    """
    return scrub_text(_ID_RUN.sub(lambda m: mask_id(m.group(0)), text))


def _scrubbed(values: pd.Series) -> pd.Series:
    """``safe_text`` of each value (used on rejected rows only)."""
    return values.map(lambda v: safe_text(str(v))).astype(object)


def normalise_doses(frame: pd.DataFrame, *, today: pd.Timestamp) -> NormaliseResult:
    """Normalise a canonical export frame (as read by ``matcher.ingest``).

    Args:
        frame: the canonical columns as text (missing optional columns count as empty), with
            ``file`` and ``row`` when it came from the readers; other columns are kept as they are.
        today: dates after this day are rejected as future dates.

    Returns:
        The kept rows with raw ``id_number``/``name``/``vaccine`` etc., ``birth_date`` and
        ``dose_date`` as ``datetime64[ns]``, ``sex`` in M/F/U, ``phone`` as an 11-digit mobile
        or NA, plus the derived ID, name and vaccine columns; and the rejects.

    Raises:
        MissingColumnError: a required column is absent from ``frame``.
    """
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise MissingColumnError("<frame>", column, [str(c) for c in frame.columns])
    today = pd.Timestamp(today).normalize()
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame = frame.reset_index(drop=True)
    extra = [c for c in frame.columns if c not in CANONICAL_COLUMNS]
    canonical = {
        col: pd.Series(frame[col].to_numpy(dtype=object), dtype=object)
        if col in frame.columns
        else pd.Series(np.full(len(frame), None, dtype=object))
        for col in CANONICAL_COLUMNS
    }

    source = canonical[SOURCE]
    bad_source = ~pd.Series(np.isin(source.to_numpy(dtype=object), _PROVINCE_CODES))
    no_person = _blank(canonical[NAME]) & _blank(canonical[ID_NUMBER])

    # parse_dates gives NaT with a reason for a bad date, NaT without one for an empty cell.
    dose_dates, dose_reason = parse_dates(canonical[DOSE_DATE], latest=today)
    bad_dose = dose_dates.isna()
    birth_dates, birth_reason = parse_dates(canonical[BIRTH_DATE], latest=today)
    bad_birth = birth_dates.isna() & birth_reason.notna()

    bad = bad_source | no_person | bad_dose | bad_birth
    rejects = _rejects(
        frame,
        bad=bad,
        checks=[
            (SOURCE, bad_source, lambda i: "source " + _scrubbed(source[i].fillna("")).map(repr)
             + " is not a 2-digit province code"),
            (NAME, no_person, lambda i: pd.Series("neither name nor ID number", index=i)),
            (DOSE_DATE, bad_dose, lambda i: ("dose date: " + _scrubbed(dose_reason[i]))
             .where(dose_reason[i].notna(), "dose date missing")),
            (BIRTH_DATE, bad_birth, lambda i: "birth date: " + _scrubbed(birth_reason[i])),
        ],
    )  # fmt: skip

    keep = ~bad.to_numpy()
    all_kept = bool(keep.all())

    def kept(series: pd.Series) -> pd.Series:
        values = series.to_numpy() if all_kept else series.to_numpy()[keep]
        return pd.Series(values, dtype=series.dtype)

    columns = {col: kept(series) for col, series in canonical.items()}
    columns[BIRTH_DATE] = kept(birth_dates)
    columns[DOSE_DATE] = kept(dose_dates)
    columns[SEX] = normalise_sex(columns[SEX])
    columns[PHONE] = normalise_phones(columns[PHONE])
    derived = [
        normalise_ids(columns[ID_NUMBER], columns[ID_TYPE], latest=today.date()),
        normalise_names(columns[NAME]),
        map_vaccines(columns[VACCINE]),
    ]
    derived_columns = {col for part in derived for col in part.columns}
    for col in extra:
        if col not in derived_columns:  # a derived column in the input is recomputed
            columns[col] = kept(frame[col])
    for part in derived:
        for col in part.columns:
            columns[col] = part[col].reset_index(drop=True)
    # Column-wise assembly without consolidating the object columns into one block (a full
    # copy of every column at 1M persons).
    doses = pd.concat(columns, axis=1, copy=False)
    return NormaliseResult(doses=doses, rejects=rejects)


def _rejects(
    frame: pd.DataFrame,
    *,
    bad: pd.Series,
    checks: list[tuple[str, pd.Series, Callable[[pd.Index], pd.Series]]],
) -> pd.DataFrame:
    """One rejects row per bad row: the first failing field, every failing reason."""
    if not bad.any():
        return empty_rejects()
    index = bad.index[bad.to_numpy()]
    field = pd.Series(None, index=index, dtype=object)
    reason = pd.Series("", index=index, dtype=object)
    for name, flag, make_reason in checks:
        hit = flag[index]
        if not hit.any():
            continue
        where = hit.index[hit.to_numpy()]
        field[where] = field[where].fillna(name)
        text = make_reason(where).astype(str)
        prev = reason[where]
        reason[where] = prev.where(prev == "", prev + _SEP) + text
    rows = (
        frame[ROW][index].astype("int64")
        if ROW in frame.columns
        else pd.Series(index.to_numpy() + 2, index=index, dtype="int64")
    )
    files = frame[FILE][index] if FILE in frame.columns else pd.Series(None, index=index)
    return pd.DataFrame(
        {
            FILE: files.astype(object),
            ROW: rows,
            SOURCE: frame[SOURCE][index].astype(object),
            FIELD: field,
            REASON: reason,
        }
    ).reset_index(drop=True)
