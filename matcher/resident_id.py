"""Resident identity numbers (GB 11643-1999) and other identity documents (DOMAIN.md §1).

Scalar helpers here are the reference; the vectorised normaliser is ``normalise_ids``.

``ID_KEY`` policy of ``normalise_ids``:

- missing, placeholder and damaged numbers: NA, whatever the document;
- resident_id / residence_permit / foreign_pr_new: the 18-character number (15-digit numbers
  upgraded) when ``valid`` or ``checksum_error`` (so a one-digit typo can still be blocked on);
  NA when ``malformed``;
- hkmo_permit: the first 9 characters (H/M + lifelong 8 digits); tw_permit: the first 8 digits;
  passport, birth_cert, foreign_pr_old, other: the cleaned number. A number that does not fit its
  document's shape is ``malformed`` and keyed on the cleaned number only if it is 4-20 Latin
  letters and digits.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher import doc_types as dtp
from matcher.columns import (
    FEMALE,
    ID_BIRTH_DATE,
    ID_DOC_TYPE,
    ID_KEY,
    ID_PROVINCE,
    ID_SEX,
    ID_STATUS,
    ID_UPGRADED,
    MALE,
    UNKNOWN_SEX,
)
from matcher.dictionary import (
    ascii_matrix,
    distinct,
    expand,
    first_seen_numbers,
    is_dictionary,
    text_ids,
)
from matcher.doc_types import DocType
from matcher.regions import PROVINCES

__all__ = [
    "DocType",
    "IdStatus",
    "check_bytes",
    "checksum_char",
    "implied_birth_date",
    "implied_sex",
    "is_valid_resident_id",
    "normalise_ids",
    "resident_id_status",
    "single_digit_repairs",
    "upgrade_15_to_18",
]

WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final[str] = "10X98765432"  # indexed by S mod 11


class IdStatus(StrEnum):
    """Outcome of cleaning and validating one identity number."""

    VALID = "valid"
    CHECKSUM_ERROR = "checksum_error"  # well-formed resident number, wrong check character
    MALFORMED = "malformed"  # wrong length/charset, O/I look-alikes, bad address code or date
    DAMAGED = "damaged"  # spreadsheet damage: 1.10105E+17, or an 18-digit number ending in 000
    PLACEHOLDER = "placeholder"  # 000000…, 111111…, 123456789…
    MISSING = "missing"


_CENTENARIAN_SEQ: Final = frozenset({"996", "997", "998", "999"})
_PERMIT_ADDRESSES: Final = frozenset({"810000", "820000", "830000"})


# --- The MOD 11-2 check character (GB 11643, ISO 7064): the one implementation --------------
_CHECK_BYTES: Final = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)


def check_bytes(digit_rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """ASCII check characters of many numbers from their first 17 digits, given as digit values
    (0-9) with one contiguous row per position: shape (17, n), or (17,) for one number.

    A row with non-digit values gives a meaningless character (callers mask such numbers).
    """
    total = np.zeros(digit_rows.shape[1:], dtype=np.uint16)  # at most 17 · 255 · 10
    for row, weight in zip(digit_rows[:17], WEIGHTS, strict=True):
        total += row.astype(np.uint16) * np.uint16(weight)
    return _CHECK_BYTES[total % 11]


def checksum_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    digits = np.frombuffer(first17.encode("ascii"), dtype=np.uint8) - np.uint8(48)
    return chr(int(check_bytes(digits)))


def is_valid_resident_id(number: str) -> bool:
    """True when an 18-character number has 17 digits and the right check character."""
    return (
        len(number) == 18
        and number[:17].isdigit()
        and number[17] in "0123456789X"
        and checksum_char(number[:17]) == number[17]
    )


def upgrade_15_to_18(number: str) -> str:
    """Upgrade a legacy 15-digit number: insert the century, append the check character.

    Sequence codes 996-999 were reserved for centenarians and get century 18 (DOMAIN.md §1.1).
    """
    century = "18" if number[12:15] in _CENTENARIAN_SEQ else "19"
    first17 = number[:6] + century + number[6:]
    return first17 + checksum_char(first17)


def _today() -> dt.date:
    return dt.date.today()


def implied_birth_date(number: str, *, latest: dt.date | None = None) -> dt.date | None:
    """Birth date encoded in a cleaned 18- or 15-digit number; None when impossible.

    Impossible means not a calendar date, a year before 1800, or after ``latest`` (default today).
    """
    if len(number) == 18:
        text = number[6:14]
    elif len(number) == 15:
        text = ("18" if number[12:15] in _CENTENARIAN_SEQ else "19") + number[6:12]
    else:
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        date = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return date if 1800 <= date.year and date <= (latest or _today()) else None


def implied_sex(number: str) -> str:
    """Sex from the sequence code's last digit (odd = "M", even = "F"); "U" if not readable."""
    position = {18: 16, 15: 14}.get(len(number))
    if position is None or not number[position].isdigit():
        return UNKNOWN_SEX
    return MALE if int(number[position]) % 2 else FEMALE


def _address_ok(number: str) -> bool:
    if len(number) == 15:
        return number[:2] in PROVINCES
    return number[:2] in PROVINCES or number[0] == "9" or number[:6] == "830000"


def resident_id_status(number: str, *, latest: dt.date | None = None) -> IdStatus:
    """Validation ladder of DOMAIN.md §1.1 for one cleaned resident-family number (scalar)."""
    if not number:
        return IdStatus.MISSING
    if number in dtp.PLACEHOLDERS:
        return IdStatus.PLACEHOLDER
    if len(number) == 15 and number.isascii() and number.isdigit():
        ok = _address_ok(number) and implied_birth_date(number, latest=latest) is not None
        return IdStatus.VALID if ok else IdStatus.MALFORMED
    shaped = len(number) == 18 and number[:17].isascii() and number[:17].isdigit()
    if not (shaped and number[17] in "0123456789X" and _address_ok(number)):
        return IdStatus.MALFORMED
    checksum_ok = is_valid_resident_id(number)
    if not checksum_ok and number.endswith("000"):
        return IdStatus.DAMAGED
    if number[0] != "9" and implied_birth_date(number, latest=latest) is None:
        return IdStatus.MALFORMED
    return IdStatus.VALID if checksum_ok else IdStatus.CHECKSUM_ERROR


def single_digit_repairs(number: str, *, latest: dt.date | None = None) -> list[str]:
    """All one-character substitutions of a failing 18-char number that pass the ladder.

    Evidence for auditors only: never use these to correct a number automatically.
    Returns [] for a number that already passes or is not 17 digits + [0-9X].
    """
    if len(number) != 18 or not number[:17].isdigit() or is_valid_resident_id(number):
        return []
    repairs = []
    for position in range(18):
        for char in "0123456789X" if position == 17 else "0123456789":
            if char == number[position]:
                continue
            candidate = number[:position] + char + number[position + 1 :]
            if resident_id_status(candidate, latest=latest) is IdStatus.VALID:
                repairs.append(candidate)
    return repairs


# --- Vectorised normaliser -----------------------------------------------------------------
_SCIENTIFIC: Final = r"^\d+(?:\.\d*)?E\+?\d+$"
_RESIDENT_LIKE: Final = r"^[0-9OILX]{14,20}$"  # with ≥ 12 digits: a mistyped resident number
_TWELVE_DIGITS: Final = r"(?:\d\D*){12}"
_PROVINCE_INTS: Final = np.array(sorted(int(code) for code in PROVINCES), dtype=np.int64)
_DAYS_IN_MONTH: Final = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
_STATUS: Final = {status: np.int8(i) for i, status in enumerate(IdStatus)}
_DOC: Final = {doc: np.int8(i) for i, doc in enumerate(dtp.DOC_TYPES)}
_FAMILY_CODES: Final = [_DOC[doc] for doc in dtp.RESIDENT_FAMILY]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.integer[Any]]


def normalise_ids(
    id_number: pd.Series, id_type: pd.Series | None = None, *, latest: dt.date | None = None
) -> pd.DataFrame:
    """Clean, classify and key identity numbers (vectorised; work is done once per unique value).

    Args:
        id_number: raw numbers (str, or int/float from spreadsheets); NA allowed.
        id_type: raw document-type text or code per row (see ``doc_types.ID_TYPE_CODES``).
        latest: birth dates after this day are impossible (default today).

    Returns:
        Frame with the input's index and columns ID_KEY, ID_STATUS, ID_UPGRADED, ID_BIRTH_DATE,
        ID_SEX, ID_PROVINCE, ID_DOC_TYPE (policy in the module docstring).
    """
    if id_type is not None and not id_type.index.equals(id_number.index):
        id_type = id_type.reindex(id_number.index)
    declared = dtp.declared_codes(id_type, len(id_number))
    number_codes, uniques = distinct(id_number)
    number_codes = np.where(number_codes < 0, len(uniques), number_codes)  # NA → extra slot
    texts = dtp.arrow_text(uniques)
    texts = pa.concat_arrays([texts, pa.nulls(1, texts.type)])  # the missing number's slot
    if len(declared) and (declared == declared[0]).all():  # one declared type: items = numbers
        row_item, item_declared = number_codes, np.full(len(texts), declared[0], dtype=np.int8)
        item_number: IntArray = np.arange(len(texts))
    else:  # items = distinct (number, declared type) pairs
        row_item, item_number, item_declared = _pairs(number_codes, declared, len(texts))
        texts = texts.take(pa.array(item_number))
    items = _analyse(dtp.clean_numbers(texts), item_declared, latest or _today())
    key_text = items[ID_KEY][0]
    items[ID_KEY] = (_reuse_raw_text(key_text, texts, uniques, item_number), items[ID_KEY][1])
    dictionary = is_dictionary(id_number)
    columns = {
        name: expand(
            row_item,
            values,
            ids=ids,
            index=id_number.index,
            dictionary=dictionary,
            name=name,
            text=key_text if name == ID_KEY else None,
        )
        for name, (values, ids) in items.items()
    }
    return pd.DataFrame(columns, index=id_number.index, copy=False)


def _reuse_raw_text(keys: Any, texts: Any, uniques: npt.NDArray[Any], item_number: IntArray) -> Any:
    """The keys as Python strings, reusing the raw number's own string object where the key is
    that same text (most numbers need no cleaning): a million fewer new strings at 1M persons.
    Keys stay an Arrow array when the raw numbers are not all text."""
    if pd.api.types.infer_dtype(uniques, skipna=True) != "string":
        return keys
    same = np.asarray(pc.fill_null(pc.equal(keys, texts), False), dtype=bool)
    raw = np.append(uniques, [None]).astype(object)  # the last item is the missing number
    out: npt.NDArray[np.object_] = raw[item_number]
    other = np.flatnonzero(~same)
    if len(other):
        changed = keys.take(pa.array(other)).to_numpy(zero_copy_only=False)
        out[other] = np.asarray(changed, dtype=object)
    return out


def _pairs(
    number_codes: IntArray, declared: npt.NDArray[np.int8], n_numbers: int
) -> tuple[npt.NDArray[np.intp], IntArray, npt.NDArray[np.int8]]:
    """The distinct (number, declared type) pairs in order of first row, as ``pd.factorize``
    numbers them: each row's pair, and each pair's number and declared code.

    Counted in a dense table (numbers × declared codes present) rather than by hashing rows.
    """
    n = len(number_codes)
    slots = len(dtp.DOC_TYPES) + 1  # declared codes -1 (unknown) … len(DOC_TYPES) - 1
    present = np.flatnonzero(np.bincount(declared.astype(np.intp) + 1, minlength=slots)) - 1
    size = n_numbers * len(present)
    if not n or size > 4 * n:  # many declared types: a dense table would be too large
        row_pair, pairs = pd.factorize(number_codes.astype(np.int64) * 16 + declared + 1)
        return row_pair, pairs // 16, (pairs % 16 - 1).astype(np.int8)
    kind = np.zeros(slots, dtype=np.int64)
    kind[present + 1] = np.arange(len(present))
    key = number_codes.astype(np.int64) * len(present) + kind[declared + 1]
    row_pair, pairs = first_seen_numbers(key, size)
    return row_pair, pairs // len(present), present[pairs % len(present)].astype(np.int8)


def _upgrade_matrix(m15: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Vectorised ``upgrade_15_to_18`` on a byte matrix."""
    out = np.empty((len(m15), 18), dtype=np.uint8)
    out[:, :6] = m15[:, :6]
    out[:, 6] = ord("1")
    out[:, 7] = np.where((m15[:, 12:15] - 48).astype(np.int64) @ [100, 10, 1] >= 996, 56, 57)
    out[:, 8:17] = m15[:, 6:]
    out[:, 17] = check_bytes(_digit_rows(out[:, :17]))
    return out


def _digit_rows(matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Digit values of a byte matrix, one contiguous row per character position ("X" → 40)."""
    return np.ascontiguousarray(matrix.T) - np.uint8(48)


def _value(digits: npt.NDArray[np.uint8], start: int, stop: int) -> IntArray:
    """The decimal number written by digit rows ``start:stop``."""
    value = digits[start].astype(np.int64)
    for row in digits[start + 1 : stop]:
        value *= 10
        value += row
    return value


def _birth_dates(digits: npt.NDArray[np.uint8], latest: dt.date) -> tuple[BoolArray, Any]:
    """Plausibility mask and datetime64[ns] birth dates (NaT if implausible) of 18-digit
    numbers (digit rows as ``_digit_rows`` gives them)."""
    year, month, day = _value(digits, 6, 10), _value(digits, 10, 12), _value(digits, 12, 14)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.clip(month - 1, 0, 11)] + (leap & (month == 2))
    ok = (year >= 1800) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    months = (np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1
    dates = months.astype("M8[M]").astype("M8[D]") + (np.where(ok, day, 1) - 1).astype("m8[D]")
    ok &= dates <= np.datetime64(latest, "D")
    return ok, np.where(ok, dates, np.datetime64("NaT")).astype("M8[ns]")


def _checksum_ok(digits: npt.NDArray[np.uint8], check: npt.NDArray[np.uint8]) -> BoolArray:
    """Whether ``check`` (bytes) is the MOD 11-2 check character of digit rows 0-16."""
    return check_bytes(digits) == check


def _resident_features(clean: Any, latest: dt.date) -> dict[str, Any]:
    """Per-number ladder results for every 18-char (17 digits + [0-9X]) or 15-digit number.

    ``key`` is ``clean`` with each 15-digit number upgraded (an Arrow array); ``sex`` and
    ``province`` are codes into ``_SEX_VALUES`` and ``_PROVINCE_VALUES``.
    """
    n = len(clean)
    (is18, m18), (is15, m15) = _resident_shapes(clean)
    rows = np.concatenate([np.flatnonzero(is18), np.flatnonzero(is15)])
    upgraded = _upgrade_matrix(m15)
    matrix = np.vstack([m18, upgraded]) if len(m15) else m18
    digits = _digit_rows(matrix)
    from18 = np.arange(len(rows)) < len(m18)
    address = _value(digits, 0, 6)
    foreign = from18 & (address >= 900000)
    address_ok = np.isin(address // 10000, _PROVINCE_INTS) | foreign | from18 & (address == 830000)
    checksum_ok = _checksum_ok(digits, matrix[:, 17])
    date_ok, birth = _birth_dates(digits, latest)
    tail000 = from18 & (digits[15] == 0) & (digits[16] == 0) & (digits[17] == 0)
    status = np.select(
        [~address_ok, tail000 & ~checksum_ok, ~date_ok & ~foreign, ~checksum_ok],
        [_STATUS[IdStatus.MALFORMED], _STATUS[IdStatus.DAMAGED], _STATUS[IdStatus.MALFORMED]]
        + [_STATUS[IdStatus.CHECKSUM_ERROR]],
        default=_STATUS[IdStatus.VALID],
    )
    permit = from18 & np.isin(address, [int(code) for code in _PERMIT_ADDRESSES])
    family = np.where(
        foreign,
        _DOC[DocType.FOREIGN_PR_NEW],
        np.where(permit, _DOC[DocType.RESIDENCE_PERMIT], _DOC[DocType.RESIDENT_ID]),
    )
    columns: dict[str, tuple[npt.NDArray[Any], object]] = {
        "shaped": (np.ones(len(rows), dtype=bool), False),
        "status": (status.astype(np.int8), _STATUS[IdStatus.MALFORMED]),
        "family": (family.astype(np.int8), _DOC[DocType.RESIDENT_ID]),
        "birth": (birth, np.datetime64("NaT", "ns")),
        "sex": ((digits[16] + 1) % 2, _UNKNOWN_SEX_CODE),  # odd: 0 (MALE), even: 1 (FEMALE)
        "province": (address // 10000, -1),
        "upgraded": (~from18, False),
    }
    features: dict[str, Any] = {}
    for name, (values, fill) in columns.items():
        features[name] = np.full(n, fill, dtype=values.dtype)
        features[name][rows] = values
    upgraded_text = pa.array(np.ascontiguousarray(upgraded).view("S18").ravel(), pa.binary(18))
    features["key"] = pc.replace_with_mask(clean, pa.array(is15), upgraded_text.cast(pa.string()))
    return features


Shape = tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint8]]


def _resident_shapes(clean: Any) -> tuple[Shape, Shape]:
    """Which numbers are 17 ASCII digits + [0-9X], and which 15 ASCII digits (checked on their
    bytes, as a regex would but faster), each with the bytes of those numbers in order (one
    row per number)."""
    lengths = np.asarray(pc.fill_null(pc.binary_length(clean), 0))
    shapes = []
    for width in (18, 15):
        at = np.flatnonzero(lengths == width)
        matrix = ascii_matrix(clean.take(pa.array(at)).cast(pa.string()), width)
        digit = (matrix >= ord("0")) & (matrix <= ord("9"))
        if width == 18:
            digit[:, 17] |= matrix[:, 17] == ord("X")
        fits = digit.all(axis=1)
        shaped = np.zeros(len(lengths), dtype=bool)
        shaped[at[fits]] = True
        shapes.append((shaped, matrix[fits]))
    return shapes[0], shapes[1]


_SEX_VALUES: Final = np.array([MALE, FEMALE, UNKNOWN_SEX], dtype=object)
_UNKNOWN_SEX_CODE: Final = 2
_PROVINCE_VALUES: Final = np.array([f"{i:02d}" for i in range(100)] + [None], dtype=object)
_STATUS_VALUES: Final = np.array([status.value for status in IdStatus], dtype=object)
_DOC_VALUES: Final = np.array([doc.value for doc in dtp.DOC_TYPES], dtype=object)

# Per output column: its values, plus integer ids for the text columns (see ``expand``).
Column = tuple[Any, IntArray | None]


def _analyse(clean: Any, declared: npt.NDArray[np.int8], latest: dt.date) -> dict[str, Column]:
    """Output columns for each (cleaned number, declared type) item."""
    length = np.asarray(pc.fill_null(pc.utf8_length(clean), 0))
    res = _resident_features(clean, latest)
    shaped = res["shaped"]
    rest = ~shaped & (length > 0)  # the regexes below only run on these
    missing = (length == 0) | dtp.in_set(clean, dtp.NULL_TOKENS, rest)
    damaged = dtp.matches(clean, _SCIENTIFIC, rest)
    placeholder = dtp.in_set(clean, dtp.PLACEHOLDERS)
    like = dtp.matches(clean, _RESIDENT_LIKE, rest)
    like[like] = dtp.matches(clean.filter(pa.array(like)), _TWELVE_DIGITS)
    like |= shaped
    strong = shaped & (res["status"] != _STATUS[IdStatus.MALFORMED])

    inferred, specific = dtp.infer_from_shape(clean, rest & ~like)
    inferred = np.where(like, res["family"], inferred)
    inferred[damaged] = _DOC[DocType.RESIDENT_ID]
    doc_code = dtp.resolve_doc_types(declared, inferred, like, strong, specific)
    doc_code[missing] = _DOC[DocType.NONE]

    family = np.isin(doc_code, _FAMILY_CODES)
    fits, document_key = dtp.document_keys(clean, doc_code)
    status = np.select(
        [family, fits], [res["status"], _STATUS[IdStatus.VALID]], _STATUS[IdStatus.MALFORMED]
    ).astype(np.int8)
    status[placeholder] = _STATUS[IdStatus.PLACEHOLDER]
    status[damaged] = _STATUS[IdStatus.DAMAGED]
    status[missing] = _STATUS[IdStatus.MISSING]

    keyed = (status == _STATUS[IdStatus.VALID]) | (status == _STATUS[IdStatus.CHECKSUM_ERROR])
    other_keyed = ~family & (keyed | (status == _STATUS[IdStatus.MALFORMED]))
    key = _keys(res["key"], family & keyed, document_key, other_keyed)
    sex = np.where(family & keyed, res["sex"], _UNKNOWN_SEX_CODE)
    dated = family & (keyed | (status == _STATUS[IdStatus.DAMAGED])) & shaped
    province = np.where(dated & (doc_code != _DOC[DocType.FOREIGN_PR_NEW]), res["province"], -1)
    return {
        ID_KEY: (key, text_ids(key, 18)),
        ID_STATUS: (_STATUS_VALUES[status], status),
        ID_UPGRADED: (res["upgraded"] & family & keyed, None),
        ID_BIRTH_DATE: (np.where(dated, res["birth"], np.datetime64("NaT", "ns")), None),
        ID_SEX: (_SEX_VALUES[sex], sex),
        ID_PROVINCE: (_PROVINCE_VALUES[province], province),
        ID_DOC_TYPE: (_DOC_VALUES[doc_code], doc_code),
    }


def _keys(
    resident: Any, resident_keyed: BoolArray, document: npt.NDArray[np.object_], other: BoolArray
) -> Any:
    """ID_KEY per item as an Arrow array: the resident key where ``resident_keyed``, the
    document key where ``other``, else null."""
    keys = pc.if_else(pa.array(resident_keyed), resident, pa.scalar(None, pa.string()))
    if not other.any():
        return keys
    return pc.replace_with_mask(keys, pa.array(other), pa.array(document[other], pa.string()))
