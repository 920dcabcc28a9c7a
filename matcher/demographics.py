"""Sex codes and mobile phone numbers → comparable values (``M``/``F``/``U``; 11-digit mobile)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher.columns import FEMALE, MALE, UNKNOWN_SEX
from matcher.dictionary import (
    arrow_strings,
    ascii_matrix,
    dictionary_column,
    distinct,
    expand,
    is_dictionary,
    text_ids,
    with_missing_slot,
)

__all__ = [
    "normalise_phones",
    "normalise_sex",
]

# GB/T 2261.1: 1 male, 2 female, 0 unknown, 9 not stated. Anything not listed is unknown.
SEX_CODES: Final[dict[str, str]] = {
    "1": MALE,
    "m": MALE,
    "male": MALE,
    "男": MALE,
    "男性": MALE,
    "2": FEMALE,
    "f": FEMALE,
    "female": FEMALE,
    "女": FEMALE,
    "女性": FEMALE,
}

BoolArray = npt.NDArray[np.bool_]

_WHOLE_FLOAT: Final = re.compile(r"\.0+$")  # Excel damage: 13812345678.0, 1.0
_SCIENTIFIC: Final = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")  # Excel: 1.3812345678E+10
_SEPARATORS: Final = re.compile(r"[\s\-‐‑‒–—.()（）]+")
_COUNTRY_CODE: Final = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$)")
_MOBILE: Final = re.compile(r"^1[3-9]\d{9}$")
# A placeholder: the 8-digit subscriber part (after the 3-digit network prefix) is one repeated
# digit, e.g. 13800000000, 13988888888. Real numbers of that shape are rare vanity numbers.
_PLACEHOLDER: Final = re.compile(r"^\d{3}(\d)\1{7}$")


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _by_unique(values: pd.Series, fn: Callable[[str], str | None]) -> pd.Series:
    """Apply ``fn`` to the NFKC text of each distinct value and map back (missing → ``fn("")``)."""
    codes, uniques = distinct(values)
    texts = [unicodedata.normalize("NFKC", _as_text(u)).strip() for u in uniques]
    out = np.array([*(fn(t) for t in texts), fn("")], dtype=object)
    return expand(
        codes, out, index=values.index, dictionary=is_dictionary(values), name=values.name
    )


def _sex(text: str) -> str:
    return SEX_CODES.get(_WHOLE_FLOAT.sub("", text).casefold(), UNKNOWN_SEX)


def normalise_sex(values: pd.Series) -> pd.Series:
    """``"M"``, ``"F"`` or ``"U"`` per value (see ``SEX_CODES``; missing and unknown → ``"U"``)."""
    return _by_unique(values, _sex)


def _phone(text: str) -> str | None:
    if _SCIENTIFIC.match(text):
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
            return None
        if number != number.to_integral_value():
            return None
        text = str(int(number))
    digits = _SEPARATORS.sub("", _WHOLE_FLOAT.sub("", text))
    digits = _COUNTRY_CODE.sub("", digits)
    if not _MOBILE.match(digits) or _PLACEHOLDER.match(digits):
        return None
    return digits


def normalise_phones(values: pd.Series) -> pd.Series:
    """11-digit mainland mobile number per value, or ``None``.

    Accepts ``+86``/``0086``/``86`` prefixes, spaces, dashes, dots, brackets, full-width digits
    and Excel damage (``13812345678.0``, ``1.3812345678E+10``). Landlines, several numbers in
    one cell, numbers not matching ``1[3-9]`` + 9 digits and placeholders (subscriber part one
    repeated digit: ``13800000000``, ``13911111111``) give ``None``. Placeholders that look
    real are left to term-frequency adjustment in scoring.
    """
    codes, uniques = distinct(values)
    strings = arrow_strings(uniques)
    clean, keep = _clean_mobiles(strings)
    dictionary = is_dictionary(values)
    if dictionary and clean.all():
        # Every value already a clean mobile (the usual export): the kept values are the
        # distinct input values themselves, in their order. No cleaning, no hashing.
        kept = _kept_categories(codes, uniques, strings, keep).set_axis(values.index, copy=False)
        kept.name = values.name
        return kept
    out = np.full(len(uniques), None, dtype=object)
    out[keep] = uniques[keep]
    rest = np.flatnonzero(~clean)
    out[rest] = [_phone(unicodedata.normalize("NFKC", _as_text(u)).strip()) for u in uniques[rest]]
    # The results as Arrow text, for ids that spare ``expand`` hashing every phone number.
    mobiles = pc.replace_with_mask(
        pc.if_else(pa.array(keep), strings, pa.scalar(None, pa.string())),
        pa.array(~clean),
        pa.array(out[rest], type=pa.string()),
    )
    return expand(
        codes,
        with_missing_slot(out),
        ids=np.append(text_ids(mobiles, 11), -1),
        index=values.index,
        dictionary=dictionary,
        name=values.name,
    )


def _kept_categories(
    codes: npt.NDArray[np.intp], uniques: npt.NDArray[Any], strings: Any, keep: BoolArray
) -> pd.Series:
    """The Categorical of distinct values ``uniques[codes]`` with the values not ``keep``-ed
    made missing: categories and codes as ``expand`` would number them."""
    renumber = np.append(np.where(keep, np.cumsum(keep) - 1, -1), -1)  # last: missing
    return dictionary_column(renumber[codes], uniques[keep], text=strings.filter(pa.array(keep)))


_ZERO, _ONE, _THREE, _NINE = (ord(digit) for digit in "0139")


def _clean_mobiles(strings: Any) -> tuple[BoolArray, BoolArray]:
    """Which Arrow strings are already a clean 11-digit mobile, ``1[3-9]`` and nine ASCII
    digits (no clean-up needed: the fast path, vectorised on their bytes), and which of those
    are kept: not placeholders, whose subscriber part (digits 4-11) is one repeated digit."""
    lengths = pc.fill_null(pc.binary_length(strings), 0).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(lengths == 11)
    # One contiguous row per character position.
    rows = np.ascontiguousarray(ascii_matrix(strings.take(pa.array(at)), 11).T)
    mobile = (rows[0] == _ONE) & (rows[1] >= _THREE) & (rows[1] <= _NINE)
    repeated = np.ones(len(at), dtype=bool)
    for position, row in enumerate(rows[2:], start=2):
        mobile &= (row >= _ZERO) & (row <= _NINE)
        if position > 3:
            repeated &= row == rows[3]
    clean = np.zeros(len(strings), dtype=bool)
    clean[at[mobile]] = True
    keep = np.zeros(len(strings), dtype=bool)
    keep[at[mobile & ~repeated]] = True
    return clean, keep
