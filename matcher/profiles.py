"""TOML mapping profiles: how one province's export maps onto the canonical columns.

A profile is only needed when an export uses headers that the built-in aliases of
``matcher.ingest`` do not know, its own code lists (sex, ID type, vaccine), a fixed province,
a specific XLSX sheet, an encoding that must not be detected, or an unusual date layout.
Every key is documented in ``docs/profiles/README.md``; an unknown key is an error.
"""

from __future__ import annotations

import codecs
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from matcher.columns import CANONICAL_COLUMNS, FEMALE, MALE, UNKNOWN_SEX
from matcher.doc_types import DocType, doc_type_of
from matcher.errors import ProfileError
from matcher.regions import PROVINCES
from matcher.vaccines import CATALOGUE, map_vaccine_text

__all__ = [
    "MANUFACTURER",
    "MappingProfile",
    "load_profile",
]

# Read-side column that is not canonical: its text is appended to the vaccine text.
MANUFACTURER: Final = "manufacturer"
# Keys allowed in [columns]: the canonical columns plus the manufacturer.
PROFILE_COLUMNS: Final[tuple[str, ...]] = (*CANONICAL_COLUMNS, MANUFACTURER)
_SEX_VALUES: Final = frozenset({MALE, FEMALE, UNKNOWN_SEX})


class ValueMaps(BaseModel):
    """Code lists: raw value in the file → canonical value. Unlisted values pass unchanged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sex: dict[str, str] = Field(default_factory=dict, description="raw sex code → M / F / U")
    id_type: dict[str, str] = Field(
        default_factory=dict, description="raw ID-type code → a value matcher.doc_types knows"
    )
    vaccine: dict[str, str] = Field(
        default_factory=dict, description="raw vaccine text or code → text the vaccine mapper knows"
    )

    @field_validator("sex")
    @classmethod
    def _check_sex(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in _SEX_VALUES})
        if bad:
            raise ValueError(f"sex values must map to M, F or U, not {', '.join(bad)}")
        return value

    @field_validator("id_type")
    @classmethod
    def _check_id_type(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if doc_type_of(v) is None})
        if bad:
            raise ValueError(
                f"id_type values not known to matcher.doc_types: {', '.join(bad)} "
                f"(use e.g. {', '.join(d.value for d in DocType)})"
            )
        return value

    @field_validator("vaccine")
    @classmethod
    def _check_vaccine(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if map_vaccine_text(v) is None})
        if bad:
            raise ValueError(
                f"vaccine values the vaccine mapper does not recognise: {', '.join(bad)} "
                f"(use a catalogue code: {', '.join(CATALOGUE)})"
            )
        return value


class MappingProfile(BaseModel):
    """How to read one kind of provincial export (see ``docs/profiles/README.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(default="", description="free text for humans")
    source: str | None = Field(
        default=None, description="2-digit province code given to every row (overrides the file)"
    )
    encoding: str | None = Field(
        default=None, description="text encoding of CSV files; skips detection when set"
    )
    sheet: str | None = Field(default=None, description="XLSX sheet name (default: first sheet)")
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical column → header used in the file"
    )
    values: ValueMaps = Field(default_factory=ValueMaps)
    date_format: str | None = Field(
        default=None,
        description="strftime format of birth_date and dose_date cells, e.g. '%d/%m/%Y'",
    )

    @field_validator("source")
    @classmethod
    def _check_source(cls, value: str | None) -> str | None:
        if value is not None and value not in PROVINCES:
            raise ValueError(f"{value!r} is not a 2-digit GB/T 2260 province code")
        return value

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None

    @field_validator("columns")
    @classmethod
    def _check_columns(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PROFILE_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown canonical column(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(PROFILE_COLUMNS)}"
            )
        headers = [h.strip() for h in value.values()]
        if any(not h for h in headers):
            raise ValueError("a column header must not be empty")
        duplicated = sorted({h for h in headers if headers.count(h) > 1})
        if duplicated:
            raise ValueError(f"header(s) mapped twice: {', '.join(duplicated)}")
        return {k: v.strip() for k, v in value.items()}

    @field_validator("date_format")
    @classmethod
    def _check_date_format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "%" not in value:
            raise ValueError(f"date_format {value!r} has no strftime directive such as %Y")
        try:
            datetime(2021, 6, 1).strftime(value)
        except ValueError as exc:
            raise ValueError(f"invalid date_format {value!r}: {exc}") from None
        return value


def parse_profile(text: str, *, origin: str = "<profile>") -> MappingProfile:
    """Parse a profile from TOML text; ``origin`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{origin}: not valid TOML: {exc}") from None
    try:
        return MappingProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: "
            + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"])
            for err in exc.errors()
        )
        raise ProfileError(f"{origin}: invalid mapping profile: {problems}") from None


def load_profile(path: str | Path) -> MappingProfile:
    """Load a mapping profile from a TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read mapping profile: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: a mapping profile must be UTF-8 text") from None
    return parse_profile(text, origin=str(path))
