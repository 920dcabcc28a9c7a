"""Exception tree of the matching core.

VaxlinkError
├── InputFormatError          a file cannot be read as a provincial export
│   ├── EncodingDetectionError    the text encoding cannot be determined with confidence
│   └── MissingColumnError        a required column is absent (names it)
├── ProfileError              a TOML mapping profile is invalid
├── InvalidRecordError        one row/field is unusable (row, field, reason; never raw PII)
└── ModelError                a saved model or settings file cannot be used
"""

from __future__ import annotations

__all__ = [
    "EncodingDetectionError",
    "InputFormatError",
    "MissingColumnError",
    "ModelError",
    "ProfileError",
    "VaxlinkError",
]


class VaxlinkError(Exception):
    """Base class of every error raised by vaxlink."""


class InputFormatError(VaxlinkError):
    """A file cannot be read as a provincial export."""


class EncodingDetectionError(InputFormatError):
    """The text encoding of a file cannot be determined with confidence."""


class MissingColumnError(InputFormatError):
    """A required column is missing from a file."""

    def __init__(self, file: str, column: str, seen: list[str]) -> None:
        self.file = file
        self.column = column
        self.seen = seen
        super().__init__(
            f"{file}: required column {column!r} is missing (columns found: {', '.join(seen)})"
        )


class ProfileError(VaxlinkError):
    """A mapping profile is invalid."""


class InvalidRecordError(VaxlinkError):
    """One row or field cannot be used. The message never contains raw personal data."""

    def __init__(self, row: int, field: str, reason: str) -> None:
        self.row = row
        self.field = field
        self.reason = reason
        super().__init__(f"row {row}, field {field!r}: {reason}")


class ModelError(VaxlinkError):
    """A saved model or settings file cannot be used."""
