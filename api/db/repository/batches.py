"""Batches: the upload's row (claim, finish, fail), its rejects and field issues, counts. Keyword-only; returns plain values, frames or schemas, never ORM rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import (
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from api.db import models as m
from api.schemas.v1 import (
    BatchCounts,
    BatchPublic,
    RejectPublic,
)
from matcher import columns as c


def _batch_public(row: m.Batch, *, duplicate: bool = False) -> BatchPublic:
    return BatchPublic(
        batch_id=row.id,
        province=row.province,
        status=row.status,
        duplicate=duplicate,
        content_sha256=row.content_sha256,
        counts=BatchCounts(
            rows_accepted=row.rows_accepted,
            rows_rejected=row.rows_rejected,
            rows_with_field_issues=row.rows_with_field_issues,
            records_touched=row.records_touched,
            persons_new=row.persons_new,
            persons_linked=row.persons_linked,
            persons_review=row.persons_review,
        ),
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def batch_by_content(*, session: Session, dedup_key: str) -> BatchPublic | None:
    """The batch holding this deduplication key (province + content hash), if any: a done
    one, or one still ``processing`` (see ``batch_claim`` for its owner)."""
    row = session.scalar(select(m.Batch).where(m.Batch.dedup_key == dedup_key))
    return None if row is None else _batch_public(row, duplicate=True)


def batch_claim(*, session: Session, dedup_key: str) -> tuple[str, str, str | None] | None:
    """(batch id, status, worker) of the batch holding this deduplication key, if any."""
    stmt = select(m.Batch.id, m.Batch.status, m.Batch.worker).where(m.Batch.dedup_key == dedup_key)
    row = session.execute(stmt).first()
    return None if row is None else (row.id, row.status, row.worker)


def get_batch(*, session: Session, batch_id: str) -> BatchPublic | None:
    """One batch by id."""
    row = session.get(m.Batch, batch_id)
    return None if row is None else _batch_public(row)


def create_batch(
    *, session: Session, batch_id: str, province: str, sha256: str, filename: str,
    key_id: int | None, status: str = "processing", error: str | None = None,
    dedup_key: str | None = None, worker: str | None = None,
) -> None:  # fmt: skip
    """Insert a batch row (``dedup_key`` set: a second one with that key fails to insert)."""
    session.add(
        m.Batch(
            id=batch_id, province=province, content_sha256=sha256, filename=filename[:255],
            status=status, created_by=key_id, error=error, dedup_key=dedup_key, worker=worker,
            finished_at=m.utcnow() if status in ("done", "failed") else None,
        )
    )  # fmt: skip
    session.flush()


def finish_batch(*, session: Session, batch_id: str, counts: BatchCounts) -> BatchPublic:
    """Mark a batch done with its counts (it keeps its deduplication key)."""
    row = session.get_one(m.Batch, batch_id)
    row.status = "done"
    row.finished_at = m.utcnow()
    for key, value in counts.model_dump().items():
        setattr(row, key, value)
    session.flush()
    return _batch_public(row)


def fail_batch(*, session: Session, batch_id: str, error: str) -> None:
    """Mark a batch failed and free its deduplication key (the file may be uploaded again)."""
    session.execute(
        update(m.Batch)
        .where(m.Batch.id == batch_id, m.Batch.status != "done")
        .values(status="failed", dedup_key=None, error=error[:2000], finished_at=m.utcnow())
    )


def processing_batches(*, session: Session) -> list[tuple[str, str | None]]:
    """(batch id, worker) of every batch still marked ``processing``."""
    stmt = select(m.Batch.id, m.Batch.worker).where(m.Batch.status == "processing")
    return [(str(i), w) for i, w in session.execute(stmt)]


def _row_notes(batch_id: str, notes: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a rejects or field-issues frame (``REJECT_COLUMNS``) as table rows."""
    return [
        {
            "batch_id": batch_id,
            "file": None if pd.isna(r[c.FILE]) else str(r[c.FILE]),
            "row": int(r[c.ROW]),
            "source": None if pd.isna(r[c.SOURCE]) else str(r[c.SOURCE])[:40],
            "field": None if pd.isna(r[c.FIELD]) else str(r[c.FIELD]),
            "reason": str(r[c.REASON]),
        }
        for r in notes.to_dict("records")
    ]


def insert_rejects(*, session: Session, batch_id: str, rejects: pd.DataFrame) -> None:
    """Store rejected rows."""
    if rows := _row_notes(batch_id, rejects):
        session.execute(insert(m.RejectedRow), rows)


def insert_field_issues(*, session: Session, batch_id: str, issues: pd.DataFrame) -> None:
    """Store the field issues of kept rows (a field treated as missing, and why)."""
    if rows := _row_notes(batch_id, issues):
        session.execute(insert(m.FieldIssue), rows)


def list_rejects(*, session: Session, batch_id: str) -> list[RejectPublic]:
    """Rejected rows of a batch in row order."""
    return _list_row_notes(session, m.RejectedRow, batch_id)


def list_field_issues(*, session: Session, batch_id: str) -> list[RejectPublic]:
    """Field issues of a batch's stored rows in row order."""
    return _list_row_notes(session, m.FieldIssue, batch_id)


def _list_row_notes(
    session: Session, table: type[m.RejectedRow | m.FieldIssue], batch_id: str
) -> list[RejectPublic]:
    stmt = (
        select(table.file, table.row, table.source, table.field, table.reason)
        .where(table.batch_id == batch_id)
        .order_by(table.row, table.id)
    )
    return [
        RejectPublic(file=file, row=row, source=source, field=field, reason=reason)
        for file, row, source, field, reason in session.execute(stmt)
    ]


def count_batches(*, session: Session) -> dict[str, int]:
    """Batches per status."""
    stmt = select(m.Batch.status, func.count()).group_by(m.Batch.status)
    return {str(s): int(n) for s, n in session.execute(stmt)}
