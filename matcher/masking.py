"""Masking of personal data for messages, logs, exports and the UI."""

from __future__ import annotations

import re

__all__ = [
    "mask_birth_date",
    "mask_id",
    "mask_name",
    "mask_phone",
    "scrub_text",
]

_ID_LIKE = re.compile(
    r"(?<![0-9A-Za-z])([0-9]{6})[0-9]{4,8}([0-9]{3}[0-9Xx]|[0-9]{4})(?![0-9A-Za-z])"
)
_PHONE_LIKE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def mask_id(value: str | None) -> str:
    """Mask an identity number: first 6 and last 4 characters kept.

    >>> mask_id("410102199001011234")
    '410102********1234'
    """
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) <= 4:
        return "*" * len(text)
    if len(text) <= 10:
        return text[:2] + "*" * (len(text) - 4) + text[-2:]
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(value: str | None) -> str:
    """Keep the first character of a name (the surname for most names): 张三丰 → 张**."""
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    return text[0] + "*" * (len(text) - 1)


def mask_phone(value: str | None) -> str:
    """Keep the first 3 and last 4 digits of a phone number: 138****5678."""
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) < 8:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def scrub_text(text: str) -> str:
    """Mask anything in free text that looks like an ID number or a mobile phone number."""
    text = _ID_LIKE.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], text)
    return _PHONE_LIKE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def mask_birth_date(value: str | None) -> str | None:
    """Birth date to month precision (``1990-01-15`` → ``1990-01``).

    Next to a masked ID (first 6 + last 4 characters) a full birth date would restore the
    whole number, so documents that show both keep the month only (a valid FHIR partial date).
    """
    if value is None:
        return None
    return str(value)[:7]
