"""The normalise stage: canonical export frame → normalised dose frame, rejects and field issues.

A dose is never dropped for a bad identity field: the field becomes missing and the row gets a
field issue (``issues``: file, row, source, field, reason; no raw personal data). Field issues:

- the birth date is given but unusable: unparsable, impossible (1966-90-20) or after ``today``
  (``field=birth_date``; the ID-implied birth date, if any, still stands in for it);
- the row has neither a name nor an ID number (``field=name``): it becomes a person record of its
  own, linkable on phone, birth date and sex.

Only rows that cannot be a dose are rejected (one rejects row each; ``field`` is the first failing
check, ``reason`` lists every failing check):

- ``source`` is not a 2-digit GB/T 2260 province code (``field=source``): the row does not say
  which system reported it;
- the dose date is missing, unparsable, impossible (2021-02-30) or after ``today``
  (``field=dose_date``).

Doses dated before the birth date are kept (a history flag for later stages). The normalisers work
once per distinct value, so the cost follows the number of distinct IDs, names and texts more than
the number of dose rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c
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
from matcher.dictionary import (
    as_object,
    constant,
    distinct,
    forget_text,
    is_dictionary,
    known_text,
)
from matcher.errors import MissingColumnError
from matcher.frames import as_series
from matcher.ingest import empty_rejects
from matcher.masking import mask_id, scrub_text
from matcher.names import normalise_names
from matcher.regions import PROVINCES
from matcher.resident_id import normalise_ids
from matcher.vaccines import map_vaccines

__all__ = [
    "normalise_doses",
    "safe_text",
]

_PROVINCE_CODES: Final = sorted(PROVINCES)
_SEP: Final = "; "
_ID_RUN: Final = re.compile(r"(?<![0-9A-Za-z])[0-9]{14,17}[0-9Xx](?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class NormaliseResult:
    """Output of ``normalise_doses``.

    Attributes:
        doses: the normalised dose frame (see ``docs/ARCHITECTURE.md``), RangeIndex.
        rejects: one row per rejected dose row, as ``REJECT_COLUMNS``.
        issues: one row per kept dose row with a field treated as missing, as
            ``REJECT_COLUMNS``.
    """

    doses: pd.DataFrame
    rejects: pd.DataFrame
    issues: pd.DataFrame


def _distinct_text(values: pd.Series) -> tuple[npt.NDArray[np.intp], Any]:
    """Codes (-1 missing) and the Arrow text of the distinct values of a text column."""
    import pyarrow as pa

    codes, uniques = distinct(values)
    text = known_text(uniques)
    if text is None:
        if pd.api.types.infer_dtype(uniques, skipna=False) != "string":
            uniques = np.array([u if isinstance(u, str) else str(u) for u in uniques], dtype=object)
        text = pa.array(uniques, type=pa.string())
    return codes, text


def _blank(values: pd.Series) -> npt.NDArray[np.bool_]:
    """True where a cell is missing or only whitespace (checked once per distinct value)."""
    import pyarrow.compute as pc

    codes, text = _distinct_text(values)
    empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
    blank = np.append(np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool), True)
    return blank[codes]


# Longer cells are rejected before they are normalised: no name or reference is this long,
# and one 1 MB name would take the name keys half a minute.
MAX_CHARS: Final[dict[str, int]] = {NAME: 100, c.PERSON_REF: 100}


def _longer_than(values: pd.Series, limit: int) -> npt.NDArray[np.bool_]:
    """True where a cell has more than ``limit`` characters (once per distinct value)."""
    import pyarrow.compute as pc

    codes, text = _distinct_text(values)
    long = pc.greater(pc.utf8_length(text), limit)
    return np.append(np.asarray(long.to_numpy(zero_copy_only=False), dtype=bool), False)[codes]


def _without(values: pd.Series, drop: npt.NDArray[np.bool_]) -> pd.Series:
    """``values`` missing where ``drop`` (and, dictionary-encoded, without the dropped values
    among its categories: they are never normalised)."""
    out = values.where(~drop)
    if isinstance(out.dtype, pd.CategoricalDtype):
        out = out.cat.remove_unused_categories()
    return out


def safe_text(text: str) -> str:
    """Text safe for a reason: 15- to 18-character ID-like runs and mobile numbers masked.

    The explicit ID pass backs up ``scrub_text``, whose pattern stops at 17 characters.
    """
    return scrub_text(_ID_RUN.sub(lambda m: mask_id(m.group(0)), text))


def _scrubbed(values: pd.Series) -> pd.Series:
    """``safe_text`` of each value (used on rejected rows only)."""
    return values.map(lambda v: safe_text(str(v))).astype(object)


# Text columns that stay dictionary-encoded with ``dictionary=True``: the ones person records
# are built from, and the dose-level text (vaccine, lot, dose number, site, file), which repeats
# on thousands of rows (plain objects would add ~0.1 GB at 1M persons).
DICTIONARY_COLUMNS: Final = frozenset(
    {SOURCE, c.PERSON_REF, ID_TYPE, ID_NUMBER, NAME, SEX, PHONE, c.ID_KEY, c.ID_STATUS}
    | {c.ID_DOC_TYPE, c.ID_SEX, c.ID_PROVINCE, c.NAME_NORM, c.NAME_SIMPLIFIED, c.NAME_PINYIN}
    | {c.NAME_TOKENS, c.SURNAME, c.SURNAME_PINYIN}
    | {c.VACCINE, c.LOT_NUMBER, c.DOSE_SEQ, c.SITE, c.FILE}
)


def normalise_doses(
    frame: pd.DataFrame, *, today: pd.Timestamp, dictionary: bool = False
) -> NormaliseResult:
    """Normalise a canonical export frame (as read by ``matcher.ingest``).

    Args:
        frame: the canonical columns as text (missing optional columns count as empty), with
            ``file`` and ``row`` when it came from the readers; other columns are kept as they are.
        today: dates after this day are rejected as future dates.
        dictionary: keep the text columns of ``DICTIONARY_COLUMNS`` dictionary-encoded
            (pandas Categorical, see ``matcher.dictionary``) when the input's are: faster person
            records and less memory. Otherwise every text column is plain objects (``None``
            when missing).

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
    n = len(frame)
    # Text columns may be dictionary-encoded (as the readers give them) or plain objects: every
    # check below works per distinct value either way.
    canonical = {
        col: frame[col] if col in frame.columns else constant(None, n) for col in CANONICAL_COLUMNS
    }
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vaxlink-normalise") as pool:
        # The ID numbers, the longest part, on a second core from the start (rows rejected below
        # are dropped from its columns afterwards); everything else on this one.
        ids = pool.submit(
            normalise_ids, canonical[ID_NUMBER], canonical[ID_TYPE], latest=today.date()
        )
        return _normalise_rest(frame, canonical, ids, today=today, dictionary=dictionary)


def _normalise_rest(
    frame: pd.DataFrame,
    canonical: dict[str, pd.Series],
    ids: Future[pd.DataFrame],
    *,
    today: pd.Timestamp,
    dictionary: bool,
) -> NormaliseResult:
    """``normalise_doses`` once the ID numbers are being normalised (``ids``)."""
    extra = [c for c in frame.columns if c not in CANONICAL_COLUMNS]

    source = canonical[SOURCE]
    bad_source = ~source.isin(_PROVINCE_CODES).to_numpy(dtype=bool)
    # A name past the length limit (a 1 MB cell) is no name: made missing, the dose kept. A
    # person_ref that long cannot key a registration: the row is rejected.
    long_name = _longer_than(canonical[NAME], MAX_CHARS[NAME])
    if long_name.any():
        canonical[NAME] = _without(canonical[NAME], long_name)
    long_ref = _longer_than(canonical[c.PERSON_REF], MAX_CHARS[c.PERSON_REF])
    no_person = _blank(canonical[NAME]) & _blank(canonical[ID_NUMBER])

    # parse_dates gives NaT with a reason for a bad date, NaT without one for an empty cell.
    dose_dates, dose_reason = parse_dates(canonical[DOSE_DATE], latest=today)
    bad_dose = dose_dates.isna().to_numpy()
    birth_dates, birth_reason = parse_dates(canonical[BIRTH_DATE], latest=today)
    bad_birth = birth_dates.isna().to_numpy() & birth_reason.notna().to_numpy()

    bad = bad_source | bad_dose | long_ref
    rejects = _row_notes(
        frame,
        bad=bad,
        checks=[
            (c.PERSON_REF, long_ref, lambda i: pd.Series(
                f"person_ref longer than {MAX_CHARS[c.PERSON_REF]} characters", index=i)),
            (SOURCE, bad_source, lambda i: "source " + _scrubbed(_text(source, i).fillna(""))
             .map(repr) + " is not a 2-digit province code"),
            (DOSE_DATE, bad_dose, lambda i: ("dose date: " + _scrubbed(dose_reason[i]))
             .where(dose_reason[i].notna(), "dose date missing")),
        ],
    )  # fmt: skip
    issues = _row_notes(
        frame,
        bad=(long_name | no_person | bad_birth) & ~bad,
        checks=[
            (NAME, long_name, lambda i: pd.Series(
                f"name longer than {MAX_CHARS[NAME]} characters; treated as missing", index=i)),
            (NAME, no_person, lambda i: pd.Series(
                "neither name nor ID number: a person record of its own, linked on phone, "
                "birth date and sex", index=i)),
            (BIRTH_DATE, bad_birth, lambda i: "birth date: " + _scrubbed(birth_reason[i])
             + "; treated as missing"),
        ],
    )  # fmt: skip

    keep = ~bad
    all_kept = bool(keep.all())
    if not all_kept:  # drop rejected rows before the per-row outputs are built
        canonical = {col: _rows(series, keep) for col, series in canonical.items()}
        dose_dates, birth_dates = _rows(dose_dates, keep), _rows(birth_dates, keep)
        bad_birth = bad_birth[keep]
        if long_ref.any() and isinstance(canonical[c.PERSON_REF].dtype, pd.CategoricalDtype):
            # the long values leave the categories too
            canonical[c.PERSON_REF] = canonical[c.PERSON_REF].cat.remove_unused_categories()

    columns: dict[str, pd.Series | npt.NDArray[Any]] = {}
    derived = [normalise_names(canonical[NAME]), map_vaccines(canonical[VACCINE])]
    columns.update(canonical)
    columns[BIRTH_DATE] = birth_dates
    columns[c.BIRTH_DATE_UNUSABLE] = bad_birth
    columns[DOSE_DATE] = dose_dates
    columns[SEX] = normalise_sex(canonical[SEX])
    columns[PHONE] = normalise_phones(canonical[PHONE])
    id_columns = ids.result()
    if not all_kept:
        id_columns = pd.DataFrame(
            {col: _rows(id_columns[col], keep) for col in id_columns.columns}, copy=False
        )
    derived.insert(0, id_columns)
    derived_columns = {col for part in derived for col in part.columns}
    for col in extra:
        if col not in derived_columns:  # a derived column in the input is recomputed
            columns[col] = frame[col] if all_kept else _rows(frame[col], keep)
    for part in derived:
        for col in part.columns:
            columns[col] = part[col]
    for col, values in columns.items():
        if isinstance(values, pd.Series) and is_dictionary(values):
            if not (dictionary and col in DICTIONARY_COLUMNS):
                columns[col] = as_object(values)
    for col in (ID_NUMBER, PHONE, NAME, BIRTH_DATE, DOSE_DATE):
        forget_text(canonical[col])  # the raw text's Arrow form: no use after this (~35 MB)
    # Column-wise assembly without consolidating the object columns into one block (a full
    # copy of every column at 1M persons), and without copying any column.
    index = pd.RangeIndex(int(keep.sum()))
    doses = pd.concat(
        {col: as_series(values, index) for col, values in columns.items()},
        axis=1,
        copy=False,
    )
    return NormaliseResult(doses=doses, rejects=rejects, issues=issues)


def _rows(values: pd.Series, keep: npt.NDArray[np.bool_]) -> pd.Series:
    """The kept rows, renumbered from 0 (one copy)."""
    return pd.Series(values.array[keep], name=values.name, copy=False)


def _text(values: pd.Series, rows: pd.Index) -> pd.Series:
    """The given rows of a text column as objects (``None`` for missing)."""
    return pd.Series(as_object(values.iloc[rows]), index=rows, dtype=object)


def _row_notes(
    frame: pd.DataFrame,
    *,
    bad: npt.NDArray[np.bool_],
    checks: list[tuple[str, npt.NDArray[np.bool_], Callable[[pd.Index], pd.Series]]],
) -> pd.DataFrame:
    """One row (``REJECT_COLUMNS``) per flagged row: the first failing field, every failing reason."""
    if not bad.any():
        return empty_rejects()
    index = pd.Index(np.flatnonzero(bad))
    field = pd.Series(None, index=index, dtype=object)
    reason = pd.Series("", index=index, dtype=object)
    for name, flag, make_reason in checks:
        hit = flag[index]
        if not hit.any():
            continue
        where = index[hit]
        field[where] = field[where].fillna(name)
        text = make_reason(where).astype(str)
        prev = reason[where]
        reason[where] = prev.where(prev == "", prev + _SEP) + text
    rows = (
        frame[ROW].iloc[index].astype("int64")
        if ROW in frame.columns
        else pd.Series(index.to_numpy() + 2, index=index, dtype="int64")
    )
    files = _text(frame[FILE], index) if FILE in frame.columns else pd.Series(None, index=index)
    return pd.DataFrame(
        {
            FILE: files.astype(object).to_numpy(),
            ROW: rows.to_numpy(),
            SOURCE: _text(frame[SOURCE], index).to_numpy(),
            FIELD: field.to_numpy(),
            REASON: reason.to_numpy(),
        }
    )
