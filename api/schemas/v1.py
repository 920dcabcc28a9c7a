"""Pydantic request and response bodies (``…Create`` accepted, ``…Public`` returned)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.auth import Role

BatchStatus = Literal["queued", "processing", "done", "failed"]
Verdict = Literal["same", "different", "unsure"]


class BatchCounts(BaseModel):
    """What a batch did."""

    rows_accepted: int = Field(description="dose rows stored")
    rows_rejected: int = Field(description="rows rejected (see /rejects)")
    rows_with_field_issues: int = Field(
        default=0,
        description="stored rows with a field treated as missing, e.g. an impossible birth date "
        "(see /field-issues)",
    )
    records_touched: int = Field(description="person records (source, person_ref) in the batch")
    persons_new: int = Field(description="persons made only of this batch's records")
    persons_linked: int = Field(description="persons joining this batch's records to stored ones")
    persons_review: int = Field(description="batch records in an open review pair")


class BatchPublic(BaseModel):
    """Status of one upload."""

    batch_id: str
    province: str
    status: BatchStatus
    duplicate: bool = False
    content_sha256: str
    counts: BatchCounts
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class RejectPublic(BaseModel):
    """A rejected row, or a stored row's field issue: where, which field, why (no raw
    personal data)."""

    file: str | None
    row: int
    source: str | None
    field: str | None
    reason: str


class RejectList(BaseModel):
    """Rejected rows of a batch, or the field issues of its stored rows."""

    data: list[RejectPublic]
    count: int


class JsonRowsCreate(BaseModel):
    """A batch as JSON rows (canonical column names, values as text)."""

    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, str | int | None]] = Field(min_length=1)


class IdentityQuery(BaseModel):
    """One identity to look up: an ID and the name as a second factor."""

    model_config = ConfigDict(extra="forbid")
    id_type: str = Field(default="resident_id", max_length=40)
    id_number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)


class HistoryQueryCreate(BaseModel):
    """Up to 5 identities (one person and their bound relatives)."""

    model_config = ConfigDict(extra="forbid")
    identities: list[IdentityQuery] = Field(min_length=1, max_length=5)
    purpose: str | None = Field(default=None, max_length=200, description="written to audit")


class HistoryResult(BaseModel):
    """One answer, in the order asked; ``history`` is a line of histories.jsonl (masked)."""

    found: bool
    history: dict[str, Any] | None = None


class HistoryQueryPublic(BaseModel):
    """Answers to a history query."""

    results: list[HistoryResult]


class LinkedRecordPublic(BaseModel):
    """A registration linked to a person (identifiers masked)."""

    record_id: int
    source: str
    person_ref: str | None = Field(description="provincial internal id; auditors only")
    id_masked: str
    name_masked: str
    n_doses: int


class PersonPublic(BaseModel):
    """One person: merged history and linked records."""

    person_id: str
    history: dict[str, Any]
    records: list[LinkedRecordPublic]


class ReviewSummary(BaseModel):
    """A review queue entry."""

    review_id: int
    status: str
    match_weight: float
    band: str
    provinces: list[str]
    birth_year: int | None
    created_at: datetime


class ReviewList(BaseModel):
    """A page of the review queue."""

    data: list[ReviewSummary]
    count: int


class ReviewPublic(BaseModel):
    """Everything an auditor needs to decide a pair."""

    review_id: int
    status: str
    match_weight: float
    band: str
    left: LinkedRecordPublic
    right: LinkedRecordPublic
    person_ids: list[str | None]
    levels: dict[str, Any]
    weights: dict[str, Any]
    rules_fired: list[str]
    histories: list[dict[str, Any] | None]
    merged_history: dict[str, Any] | None
    decisions: list[DecisionPublic]


class ReviewDecisionCreate(BaseModel):
    """An auditor's verdict on a review pair."""

    model_config = ConfigDict(extra="forbid")
    decision: Verdict
    reason: str = Field(min_length=1, max_length=2000)


class SplitCreate(BaseModel):
    """Records to separate from a person (record ids from GET /v1/persons/{id})."""

    model_config = ConfigDict(extra="forbid")
    record_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        min_length=1, max_length=10_000
    )
    reason: str = Field(min_length=1, max_length=2000)


class UndoCreate(BaseModel):
    """Why a decision is undone."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class DecisionPublic(BaseModel):
    """A recorded decision."""

    decision_id: int
    kind: str
    verdict: str
    review_id: int | None
    reason: str
    created_at: datetime
    undone_at: datetime | None
    person_ids: list[str] = Field(default_factory=list, description="persons after applying")


class SplitPublic(BaseModel):
    """Result of a split: the persons the records now belong to."""

    decision_id: int
    persons: list[PersonPublic]


class AuditEntryPublic(BaseModel):
    """One audit log line."""

    id: int
    at: datetime
    actor_key_id: int | None
    actor_role: str
    action: str
    person_id: str | None
    target: str | None
    reason: str | None
    detail: dict[str, Any] | None


class AuditList(BaseModel):
    """A page of the audit log."""

    data: list[AuditEntryPublic]
    count: int


class KeyCreate(BaseModel):
    """A new API key."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    province: str | None = Field(default=None, pattern=r"^[0-9]{2}$")
    label: str = Field(default="", max_length=100)


class KeyPublic(BaseModel):
    """A key's metadata; ``token`` only in the answer that created it."""

    key_id: int
    role: Role
    province: str | None
    label: str
    prefix: str
    created_at: datetime
    token: str | None = None
    revoked_at: datetime | None = None


class RelinkPublic(BaseModel):
    """Outcome of a full relink."""

    records: int
    persons: int
    review_pairs: int
    retrained: bool
    seconds: float


ReviewPublic.model_rebuild()
