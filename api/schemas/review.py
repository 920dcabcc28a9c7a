"""Pydantic bodies of the auditor workbench JSON endpoints (``/review/api/...``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.v1 import DecisionPublic, PersonPublic, ReviewPublic, ReviewSummary, Verdict

EvidenceView = Literal["auditor", "masked"]


class QueueProgress(BaseModel):
    """The backlog and this auditor's work."""

    open: int
    decided: int
    mine_today: int
    mine_total: int


class QueueItem(ReviewSummary):
    """A queue entry with why it is there."""

    reasons: list[str] = Field(
        description="message keys: the rules fired (worded for the pair) or the undecided band"
    )


class QueuePublic(BaseModel):
    """A page of the open queue with counts and progress."""

    data: list[QueueItem]
    count: int
    offset: int
    limit: int
    progress: QueueProgress


class MaskedChars(BaseModel):
    """A value as shown (masked as the role requires), each character flagged when it differs
    from the other record."""

    text: str = Field(description="the value as shown; ``*`` where masked")
    diff: list[bool] = Field(description="per character of ``text``: differs from the other side")
    kinds: list[str] = Field(
        default_factory=list,
        description="names only: per character, how it differs (matcher.name_diff kinds)",
    )


class IdChecks(BaseModel):
    """What the resident ID itself says (no digits beyond the mask are revealed)."""

    status: str | None = Field(description="valid / checksum_error / malformed / … / missing")
    checksum_valid: bool | None
    upgraded_15_to_18: bool
    implied_birth_matches: bool | None = Field(description="ID birth date == stated birth date")
    implied_sex: str | None
    implied_sex_matches: bool | None
    implied_birth: str | None = Field(
        default=None, description="birth date the ID implies (auditors: full; else the month)"
    )
    years_apart: int | None = Field(
        default=None, description="years between the implied and the stated birth date"
    )
    guardian_id: bool = Field(
        default=False, description="valid ID a generation away from the stated birth date"
    )


class IdComparison(BaseModel):
    """How the two ID numbers relate (positions counted from 1)."""

    relation: str = Field(
        description="same / upgraded / typo / typo_or_twin / twin / different / other_documents "
        "/ one_missing / none_given"
    )
    positions: list[int] = Field(description="differing positions of two 18-character keys")
    segments: list[str] = Field(description="region / birth / sequence / check: where they differ")
    revealed: bool = Field(description="the differing characters are shown (auditor view)")


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
    sex_from_id: str | None = Field(default=None, description="sex the ID implies")
    n_doses: int
    n_person_records: int = Field(default=0, description="records of the current person")
    id_checks: IdChecks


class WaterfallStep(BaseModel):
    """One bar of the match-weight waterfall."""

    key: str = Field(description="prior, a field name, or rules")
    level: str | None = Field(description="message key of the level or rules (None for prior)")
    weight: float
    running: float = Field(description="cumulative weight after this step")
    sources: list[str] = Field(
        default_factory=list, description="per record: stated / id / missing (derived fields)"
    )
    implied: str | None = Field(
        default=None,
        description="message key when the compared value came from the ID number; "
        "wf_implied_repeat: both from the agreeing ID, one fact counted a second time",
    )


class PairView(BaseModel):
    """Everything the pair page draws."""

    review: ReviewPublic
    view: EvidenceView = Field(description="auditor: names, dates, differing digits in full")
    records: list[PairRecord]
    name_kinds: list[str] = Field(description="kinds of name difference (matcher.name_diff)")
    id_comparison: IdComparison
    reasons: list[str] = Field(description="message keys of the rules fired, worded for the pair")
    waterfall: list[WaterfallStep]
    repeated_weight: float = Field(description="weight of steps that repeat the ID's agreement")
    thresholds: dict[str, float]
    next_review_id: int | None = Field(description="the next open item after this one")


class RevealCreate(BaseModel):
    """Ask for one record's full ID number, saying why (written to the audit log)."""

    model_config = ConfigDict(extra="forbid")
    record_id: int = Field(ge=1, le=2**63 - 1)
    reason: str = Field(min_length=2, max_length=500)


class RevealPublic(BaseModel):
    """One record's full ID number (the read is in the audit log)."""

    record_id: int
    id_number: str = Field(description="the normalised key (15-digit numbers upgraded)")
    as_written: str | None = Field(description="the number as the province sent it, if other")


class BatchDecisionCreate(BaseModel):
    """One verdict and one reason for several open items."""

    model_config = ConfigDict(extra="forbid")
    review_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        min_length=1, max_length=100
    )
    decision: Verdict
    reason: str = Field(min_length=1, max_length=2000)


class BatchDecisionResult(BaseModel):
    """The decisions applied, and the items left alone (not open or unknown)."""

    decisions: list[DecisionPublic]
    skipped: list[int]


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
