"""Identity documents (DOMAIN.md §1.2): the raw ``id_type`` table, number clean-up and shapes.

``resident_id.normalise_ids`` uses these to decide which document a number belongs to.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher.dictionary import distinct, known_text, made_of

__all__ = [
    "DOC_TYPES",
    "NULL_TOKENS",
    "PLACEHOLDERS",
    "RESIDENT_FAMILY",
    "DocType",
    "arrow_text",
    "clean_numbers",
    "declared_codes",
    "doc_type_of",
    "document_keys",
    "in_set",
    "infer_from_shape",
    "matches",
    "resolve_doc_types",
]


class DocType(StrEnum):
    """The document an identity number belongs to."""

    RESIDENT_ID = "resident_id"  # 公民身份号码, 18 (or legacy 15) digits
    RESIDENCE_PERMIT = "residence_permit"  # 港澳台居民居住证, address 810000/820000/830000
    FOREIGN_PR_NEW = "foreign_pr_new"  # 外国人永久居留身份证 (2023): 18 chars, first digit 9
    HKMO_PERMIT = "hkmo_permit"  # 回乡证: H/M + 8 digits [+ 2-digit renewal count]
    TW_PERMIT = "tw_permit"  # 台胞证: 8 digits [+ 2 digits + office letter]
    FOREIGN_PR_OLD = "foreign_pr_old"  # 3 letters + 12 digits
    PASSPORT = "passport"
    BIRTH_CERT = "birth_cert"  # 出生医学证明: letter + 9 digits
    OTHER = "other"
    NONE = "none"  # no number at all


# Integer codes used in the vectorised code paths: DOC_TYPES[code] is the DocType.
DOC_TYPES: Final[tuple[DocType, ...]] = tuple(DocType)
UNKNOWN_CODE: Final = -1  # raw id_type empty or not in the table
RESIDENT_FAMILY: Final[frozenset[DocType]] = frozenset(
    {DocType.RESIDENT_ID, DocType.RESIDENCE_PERMIT, DocType.FOREIGN_PR_NEW}
)

# Raw id_type text (after NFKC, whitespace removal, lower-casing; numeric codes without leading
# zeros) → DocType. Numeric codes follow WS 364 CV02.01.101 as commonly implemented [U]:
# 01 居民身份证, 02 居民户口簿, 03 护照, 04 军官证, 05 驾驶证, 06 港澳居民来往内地通行证,
# 07 台湾居民来往内地通行证, 99 其他. A driving licence carries the resident number, so the number's
# own shape decides for 04/05 (mapped to other).
_ID_TYPE_TABLE: Final[dict[DocType, tuple[str, ...]]] = {
    DocType.RESIDENT_ID: (
        "1", "2", "身份证", "居民身份证", "二代身份证", "第二代居民身份证", "身份证号", "身份证号码",
        "公民身份号码", "中华人民共和国居民身份证", "户口簿", "户口本", "居民户口簿", "临时身份证",
        "临时居民身份证", "居住证", "id", "idcard", "id card", "resident id", "resident_id",
    ),
    DocType.RESIDENCE_PERMIT: (
        "港澳台居民居住证", "港澳居民居住证", "台湾居民居住证", "港澳台居住证", "residence_permit",
    ),
    DocType.FOREIGN_PR_NEW: ("foreign_pr_new",),
    DocType.HKMO_PERMIT: (
        "6", "港澳居民来往内地通行证", "回乡证", "港澳居民回乡证", "港澳通行证", "hkmo_permit",
    ),
    DocType.TW_PERMIT: (
        "7", "台湾居民来往大陆通行证", "台湾居民来往内地通行证", "台胞证", "台湾通行证", "tw_permit",
    ),
    DocType.FOREIGN_PR_OLD: (
        "外国人永久居留身份证", "外国人永久居留证", "永久居留证", "外国人居留证", "foreign_pr_old",
    ),
    DocType.PASSPORT: ("3", "护照", "中国护照", "外国护照", "普通护照", "passport"),
    DocType.BIRTH_CERT: ("出生医学证明", "出生证", "出生证明", "出生医学证明书", "birth_cert"),
    DocType.OTHER: ("4", "5", "99", "军官证", "驾驶证", "其他", "其它", "其他证件", "other"),
    DocType.NONE: ("0", "无", "无证件", "none"),
}  # fmt: skip
ID_TYPE_CODES: Final[dict[str, DocType]] = {
    text: doc for doc, texts in _ID_TYPE_TABLE.items() for text in texts
}

# Number shapes, matched against the cleaned, upper-cased, bracket-free number (RE2 syntax).
HKMO_SHAPE: Final = r"^[HM]\d{8}(?:\d{2})?$"
TW_SHAPE: Final = r"^\d{8}(?:\d{2}[A-Z]?)?$"
TW_OLD_SHAPE: Final = r"^\d{10}[A-Z]$"  # 0561682001(D): unambiguous
TW_NEW_SHAPE: Final = r"^\d{8}$"  # weak: only a guess when no id_type says otherwise
FOREIGN_PR_OLD_SHAPE: Final = r"^[A-Z]{3}\d{12}$"
CN_PASSPORT_SHAPE: Final = r"^(?:[GE]\d{8}|E[A-HJ-NP-Z]\d{7}|(?:P|PE|S|SE|D|DE)\d{7,8}|1[45]\d{7})$"
PASSPORT_SHAPE: Final = r"^[A-Z0-9]{5,12}$"  # foreign passports: ICAO document numbers
BIRTH_CERT_SHAPE: Final = r"^[A-Z]\d{9}$"
OTHER_SHAPE: Final = r"^[A-Z0-9]{4,20}$"

# Shape each declared non-resident type must have for IdStatus.VALID.
VALID_SHAPES: Final[dict[DocType, str]] = {
    DocType.HKMO_PERMIT: HKMO_SHAPE,
    DocType.TW_PERMIT: TW_SHAPE,
    DocType.FOREIGN_PR_OLD: FOREIGN_PR_OLD_SHAPE,
    DocType.PASSPORT: PASSPORT_SHAPE,
    DocType.BIRTH_CERT: BIRTH_CERT_SHAPE,
    DocType.OTHER: OTHER_SHAPE,
}
# Shapes used to infer the type of a number that is not resident-like, in order of priority;
# the flag says whether the shape is specific enough to override a declared resident_id.
INFERENCE_SHAPES: Final[tuple[tuple[DocType, str, bool], ...]] = (
    (DocType.HKMO_PERMIT, HKMO_SHAPE, True),
    (DocType.TW_PERMIT, TW_OLD_SHAPE, True),
    (DocType.FOREIGN_PR_OLD, FOREIGN_PR_OLD_SHAPE, True),
    (DocType.PASSPORT, CN_PASSPORT_SHAPE, True),
    (DocType.BIRTH_CERT, BIRTH_CERT_SHAPE, True),
    (DocType.TW_PERMIT, TW_NEW_SHAPE, False),
)

_KEY_PREFIX: Final = {DocType.HKMO_PERMIT: 9, DocType.TW_PERMIT: 8}  # lifelong part of the number
_SPACES = re.compile(r"\s+")
BoolArray = npt.NDArray[np.bool_]


# --- Number clean-up (DOMAIN.md §1.1), shared by every document ---------------------------
_STRIP: Final = (  # whitespace, zero-width, soft hyphen, dashes and brackets (RE2 syntax)
    r"[\p{Z}\p{Cc}\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{00AD}\-\x{2010}-\x{2015}\x{2212}()\[\]]"
)
_LEADING_QUOTE: Final = r"^['`\x{2018}\x{2019}]+"
_FLOAT_TEXT: Final = r"^(\d{1,15})\.0+$"  # "110105491231002.0" from a float column
NULL_TOKENS: Final = frozenset(
    {"NULL", "NONE", "NAN", "NA", "N/A", "#N/A", "NAT", "NIL", "/", "?", "无", "不详", "未知", "空", "暂无"}
)  # fmt: skip


def _placeholder_numbers() -> frozenset[str]:
    """Junk numbers: one repeated character, digit runs like 123456…/987654…, with any check."""
    junk = {ch * k for ch in "0123456789X" for k in range(1, 21)}
    junk |= {ch * 17 + check for ch in "0123456789" for check in "0123456789X"}
    cycle = "0123456789" * 3
    for start in range(10):
        runs = [cycle[start : start + k] for k in range(6, 21)]
        junk |= set(runs) | {run[::-1] for run in runs}
        for run17 in (cycle[start : start + 17], cycle[start + 17 : start : -1]):
            junk |= {run17 + check for check in "0123456789X"}
    return frozenset(junk)


PLACEHOLDERS: Final = _placeholder_numbers()


def arrow_text(values: npt.NDArray[Any]) -> Any:
    """pyarrow string array of raw numbers; ints kept, floats ≥ 1e15 (digits lost) → '1.10105E+17'."""
    known = known_text(values)
    if known is not None:
        return known.cast(pa.string())
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = np.array([_scalar_text(value) for value in values], dtype=object)
    return pa.array(values, type=pa.string(), from_pandas=True)


def _scalar_text(value: object) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        number = float(value)
        if number != number:
            return None
        if abs(number) >= 1e15:
            return f"{number:.5E}"
        return str(int(number)) if number.is_integer() else str(number)
    return str(value)


_CLEAN_BYTES: Final = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # what ``clean_numbers`` leaves


def clean_numbers(text: Any) -> Any:
    """NFKC; strip whitespace, zero-width, NBSP, dashes, brackets and a leading '; x/× → X;
    upper-case. Letters are never mapped to digits. Already clean values are left untouched."""
    dirty = ~made_of(text, _CLEAN_BYTES) & np.asarray(pc.is_valid(text))
    if not dirty.any():
        return text
    dirty_text = text.filter(pa.array(dirty))
    cleaned = pc.utf8_normalize(dirty_text, form="NFKC")
    for pattern, replacement in (
        (_STRIP, ""),
        (_LEADING_QUOTE, ""),
        ("[x×]", "X"),
        (_FLOAT_TEXT, r"\1"),
    ):
        cleaned = pc.replace_substring_regex(cleaned, pattern=pattern, replacement=replacement)
    return pc.replace_with_mask(text, pa.array(dirty), pc.utf8_upper(cleaned))


def doc_type_of(raw: object) -> DocType | None:
    """DocType named by one raw ``id_type`` value, or None when empty or not in the table."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = _SPACES.sub("", unicodedata.normalize("NFKC", str(raw))).lower()
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return ID_TYPE_CODES.get(text) or ID_TYPE_CODES.get(text.replace("_", " "))


def declared_codes(id_type: pd.Series | None, n: int) -> npt.NDArray[np.int8]:
    """Integer DocType code per row of a raw ``id_type`` column (UNKNOWN_CODE when unmapped)."""
    if id_type is None:
        return np.full(n, UNKNOWN_CODE, dtype=np.int8)
    codes, uniques = distinct(id_type)
    table = np.array(
        [UNKNOWN_CODE if (doc := doc_type_of(u)) is None else DOC_TYPES.index(doc) for u in uniques]
        + [UNKNOWN_CODE],  # code -1 (NA) picks the last entry
        dtype=np.int8,
    )
    return table[codes]


def resolve_doc_types(
    declared: npt.NDArray[np.int8],
    inferred: npt.NDArray[np.int8],
    resident_like: npt.NDArray[np.bool_],
    resident_strong: npt.NDArray[np.bool_],
    specific: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int8]:
    """Final DocType code per number from the declared type and the number's shape.

    An empty, unknown, ``other`` or ``none`` declaration defers to the shape. A declared resident
    document defers to the shape when the number is not resident-like but has a specific other
    shape (H12345678 under 身份证). Any declaration yields to a well-formed 18/15-digit resident
    number (``resident_strong``), whose address code then picks resident id / residence permit /
    new foreigner card.
    """
    family = np.isin(declared, [DOC_TYPES.index(d) for d in RESIDENT_FAMILY])
    deferring = np.isin(
        declared, [UNKNOWN_CODE, DOC_TYPES.index(DocType.OTHER), DOC_TYPES.index(DocType.NONE)]
    )
    use_shape = deferring | resident_strong | (family & specific & ~resident_like)
    return np.where(use_shape, inferred, declared).astype(np.int8)


def matches(text: Any, pattern: str, where: BoolArray | None = None) -> BoolArray:
    """Mask of a pyarrow string array matching a regex (False for nulls), only ``where`` given."""
    if where is not None:
        found = np.zeros(len(text), dtype=bool)
        found[where] = matches(text.filter(pa.array(where)), pattern)
        return found
    return np.asarray(pc.fill_null(pc.match_substring_regex(text, pattern=pattern), False))


def in_set(text: Any, values: frozenset[str], where: BoolArray | None = None) -> BoolArray:
    """Mask of a pyarrow string array whose value is in ``values``, only ``where`` given."""
    if where is not None:
        found = np.zeros(len(text), dtype=bool)
        found[where] = in_set(text.filter(pa.array(where)), values)
        return found
    hits = pc.is_in(text, value_set=pa.array(sorted(values), type=pa.string()))
    return np.asarray(pc.fill_null(hits, False))


def infer_from_shape(clean: Any, where: BoolArray) -> tuple[npt.NDArray[np.int8], BoolArray]:
    """DocType code guessed from a non-resident number's shape (``other`` when none fits), and
    whether the shape is specific enough to override a declared resident document."""
    inferred = np.full(len(clean), DOC_TYPES.index(DocType.OTHER), dtype=np.int8)
    specific = np.zeros(len(clean), dtype=bool)
    for doc, pattern, is_specific in reversed(INFERENCE_SHAPES):  # first in the list wins
        hit = matches(clean, pattern, where)
        inferred[hit] = DOC_TYPES.index(doc)
        specific |= hit & is_specific
    return inferred, specific


def document_keys(
    clean: Any, doc_code: npt.NDArray[np.int8]
) -> tuple[BoolArray, npt.NDArray[np.object_]]:
    """For numbers of non-resident documents: whether the number fits its document's shape, and
    its key (the lifelong prefix of a permit, else the number; for a number that does not fit,
    the number itself if it is 4-20 letters and digits, else None)."""
    fits = np.zeros(len(clean), dtype=bool)
    keys = np.full(len(clean), None, dtype=object)
    for doc, pattern in VALID_SHAPES.items():
        selected = doc_code == DOC_TYPES.index(doc)
        fits[selected] = matches(clean.filter(pa.array(selected)), pattern)
        valid = selected & fits
        texts = clean.filter(pa.array(valid))
        if doc in _KEY_PREFIX:
            texts = pc.utf8_slice_codeunits(texts, 0, _KEY_PREFIX[doc])
        keys[valid] = texts.to_numpy(zero_copy_only=False)
        loose = selected & ~fits
        loose[loose] = matches(clean.filter(pa.array(loose)), OTHER_SHAPE)
        keys[loose] = clean.filter(pa.array(loose)).to_numpy(zero_copy_only=False)
    return fits, keys
