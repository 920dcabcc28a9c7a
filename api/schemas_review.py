"""Pydantic bodies of the auditor workbench JSON endpoints (``/review/api/...``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import DecisionPublic, PersonPublic, ReviewPublic, ReviewSummary


class QueueProgress(BaseModel):
    """The backlog and this auditor's work."""

    open: int
    decided: int
    mine_today: int
    mine_total: int


class QueuePublic(BaseModel):
    """A page of the open queue with counts and progress."""

    data: list[ReviewSummary]
    count: int
    offset: int
    limit: int
    progress: QueueProgress


class MaskedChars(BaseModel):
    """A masked value as characters, each flagged when it differs from the other record."""

    text: str = Field(description="masked value")
    diff: list[bool] = Field(description="per character of ``text``: differs from the other side")


class IdChecks(BaseModel):
    """What the resident ID itself says (no digits beyond the mask are revealed)."""

    status: str | None = Field(description="valid / checksum_error / malformed / … / missing")
    checksum_valid: bool | None
    upgraded_15_to_18: bool
    implied_birth_matches: bool | None = Field(description="ID birth date == stated birth date")
    implied_sex: str | None
    implied_sex_matches: bool | None


class PairRecord(BaseModel):
    """One side of a review pair, masked, with per-character differences and ID checks."""

    record_id: int
    source: str
    person_ref: str | None
    person_id: str | None
    name: MaskedChars
    id_number: MaskedChars
    birth_date: MaskedChars
    phone: MaskedChars
    sex: str | None
    n_doses: int
    id_checks: IdChecks


class WaterfallStep(BaseModel):
    """One bar of the match-weight waterfall."""

    key: str = Field(description="prior, a field name, or rules")
    level: str | None = Field(description="comparison level name (fields only)")
    weight: float
    running: float = Field(description="cumulative weight after this step")


class PairView(BaseModel):
    """Everything the pair page draws."""

    review: ReviewPublic
    records: list[PairRecord]
    waterfall: list[WaterfallStep]
    thresholds: dict[str, float]
    next_review_id: int | None


class DecisionCreateUI(BaseModel):
    """A verdict from the workbench (reason optional there: the shortcut fills a default)."""

    model_config = ConfigDict(extra="forbid")
    decision: str = Field(pattern="^(same|different|unsure)$")
    reason: str = Field(default="", max_length=2000)


class UndoCreateUI(BaseModel):
    """Undo the caller's last decision in force."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class DecisionResult(BaseModel):
    """A decision (or undo) as applied, with where the page goes next."""

    decision: DecisionPublic
    next_review_id: int | None


class PersonWorkbench(BaseModel):
    """A person for the split page."""

    person: PersonPublic


class OverviewPublic(BaseModel):
    """Figures of the overview charts (no personal data)."""

    provinces: list[dict[str, Any]]
    province_names: dict[str, str]
    flows: list[dict[str, Any]]
    weights: list[dict[str, Any]]
    thresholds: dict[str, float]
    backlog: list[dict[str, Any]]
    flags: list[dict[str, Any]]
