"""SQLAlchemy tables. Only ``api.db.repository`` (and the migrations) touch these classes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT (bigserial).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Timezone-aware now (stored as UTC)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class ApiKey(Base):
    """An API key: only the SHA-256 of the secret token is stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(String(2))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Batch(Base):
    """One upload. ``dedup_key`` (province + content SHA-256) is held while the batch is
    ``processing`` or ``done`` (a second upload of the same content finds it) and cleared when
    it fails; ``worker`` names the process applying it (``api.services.batch_owner``)."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    province: Mapped[str] = mapped_column(String(2), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    dedup_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16))
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_with_field_issues: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    records_touched: Mapped[int] = mapped_column(Integer, default=0)
    persons_new: Mapped[int] = mapped_column(Integer, default=0)
    persons_linked: Mapped[int] = mapped_column(Integer, default=0)
    persons_review: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PersonRecord(Base):
    """One registration (source province, person_ref) and the person it is resolved to."""

    __tablename__ = "person_records"
    __table_args__ = (UniqueConstraint("source", "person_ref", name="uq_record_source_ref"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(2))
    person_ref: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[str | None] = mapped_column(String(20), index=True)
    id_key: Mapped[str | None] = mapped_column(String(40), index=True)
    name_simplified: Mapped[str | None] = mapped_column(String(100), index=True)
    name_pinyin: Mapped[str | None] = mapped_column(String(200))
    birth_key: Mapped[int] = mapped_column(Integer, default=0)
    n_doses: Mapped[int] = mapped_column(Integer, default=0)
    first_batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)


class RecordKey(Base):
    """A blocking-key value of a record, per rule (the index incremental linking searches)."""

    __tablename__ = "record_keys"
    __table_args__ = (Index("ix_record_keys_rule_value", "rule", "value"),)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("person_records.id", ondelete="CASCADE"), primary_key=True
    )
    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)


class DoseRow(Base):
    """One accepted source row (canonical columns as text, as read)."""

    __tablename__ = "dose_rows"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("person_records.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(2))
    person_ref: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    sex: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    dose_date: Mapped[str | None] = mapped_column(Text)
    vaccine: Mapped[str | None] = mapped_column(Text)
    lot_number: Mapped[str | None] = mapped_column(Text)
    dose_seq: Mapped[str | None] = mapped_column(Text)
    site: Mapped[str | None] = mapped_column(Text)


class RowNote:
    """Columns of a note on one row of a batch: where, which field, why (no raw personal data)."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    file: Mapped[str | None] = mapped_column(String(255))
    row: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)


class RejectedRow(RowNote, Base):
    """A row of a batch that could not be used, with the reason."""

    __tablename__ = "rejected_rows"


class FieldIssue(RowNote, Base):
    """A stored dose row with one field treated as missing, and why."""

    __tablename__ = "field_issues"


class Person(Base):
    """A resolved person and their merged history document (JSON, identifiers masked)."""

    __tablename__ = "persons"
    person_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    n_records: Mapped[int] = mapped_column(Integer)
    history: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewItem(Base):
    """A record pair the model could not decide; ``status`` open until an auditor decides."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("record_l", "record_r", name="uq_review_pair"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_l: Mapped[int] = mapped_column(ForeignKey("person_records.id"), index=True)
    record_r: Mapped[int] = mapped_column(ForeignKey("person_records.id"), index=True)
    match_weight: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8))
    province_l: Mapped[str] = mapped_column(String(2))
    province_r: Mapped[str] = mapped_column(String(2))
    birth_year: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[str] = mapped_column(Text)  # JSON: levels, weights, rules fired
    status: Mapped[str] = mapped_column(String(8), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Decision(Base):
    """An auditor decision (on a review item, or a split); undone decisions stay, marked."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # review | split
    verdict: Mapped[str] = mapped_column(String(10))  # same | different | unsure
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"))
    person_id: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    actor_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))


class DecisionPair(Base):
    """A record pair a decision constrains (must-link or cannot-link)."""

    __tablename__ = "decision_pairs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    record_l: Mapped[int] = mapped_column(ForeignKey("person_records.id"), index=True)
    record_r: Mapped[int] = mapped_column(ForeignKey("person_records.id"), index=True)


class AuditEntry(Base):
    """Append-only audit log: who did or read what, about whom, when and why."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str | None] = mapped_column(String(20), index=True)
    target: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class ModelVersion(Base):
    """A trained Fellegi–Sunter model (``FSModel.to_json``); the newest active one is used."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model_json: Mapped[str] = mapped_column(Text)
    trained_on_records: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
