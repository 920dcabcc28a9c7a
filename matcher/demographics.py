"""Sex codes and mobile phone numbers → comparable values (``M``/``F``/``U``; 11-digit mobile)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher.columns import FEMALE, MALE, UNKNOWN_SEX
from matcher.dictionary import distinct, expand, is_dictionary

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
    # Fast path, vectorised: a clean 11-digit mobile (the vast majority) needs no clean-up.
    is_text = np.array([isinstance(u, str) for u in uniques], dtype=bool)
    strings = pa.array(np.where(is_text, uniques, ""), type=pa.string())
    clean = pc.match_substring_regex(strings, r"^1[3-9][0-9]{9}$").to_numpy(zero_copy_only=False)
    clean &= is_text
    out = np.full(len(uniques) + 1, None, dtype=object)
    candidates = np.flatnonzero(clean)
    digits = np.array(uniques[candidates].tolist(), dtype="S11").view(np.uint8).reshape(-1, 11)
    # Placeholder: the subscriber part (digits 4-11) is one repeated digit.
    placeholder = (digits[:, 4:] == digits[:, 3:4]).all(axis=1)
    out[candidates[~placeholder]] = uniques[candidates[~placeholder]]
    rest = np.flatnonzero(~clean)
    if len(rest):
        out[rest] = [
            _phone(unicodedata.normalize("NFKC", _as_text(u)).strip()) for u in uniques[rest]
        ]
    return expand(
        codes, out, index=values.index, dictionary=is_dictionary(values), name=values.name
    )
