"""Uploads: POST /v1/batches, GET /v1/batches/{id}, its /rejects and its /field-issues."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import ValidationError

from api.auth import Principal, Role
from api.db import repository as repo
from api.deps import BatchReader, DatabaseDep, SessionDep, SettingsDep, Uploader
from api.schemas.v1 import BatchPublic, JsonRowsCreate, RejectList, RejectPublic
from api.services.uploads import (
    BatchFailed,
    StagedUpload,
    UploadRejected,
    ingest_batch,
    stage_rows,
    stage_stream,
)

router = APIRouter(prefix="/v1/batches", tags=["batches"])


@router.post(
    "",
    response_model=BatchPublic,
    summary="Upload a provincial export (multipart field `file`, CSV/XLSX) or JSON rows",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "application/json": {"schema": JsonRowsCreate.model_json_schema()},
            }
        }
    },
)
async def upload_batch(
    request: Request, principal: Uploader, database: DatabaseDep, settings: SettingsDep
) -> BatchPublic:
    """Rows of other provinces are rejected row by row; the same content again is a duplicate."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_upload_bytes + 64 * 1024:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "upload exceeds the size limit")
    province = principal.province or ""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            body = JsonRowsCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            errors = [
                {**e, "loc": ["body", *e["loc"]]}
                for e in exc.errors(include_input=False, include_url=False)
            ]  # as FastAPI's own 422s: the location starts at the body, no value echoed
            errors = jsonable_encoder(errors)
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, errors) from exc
        staged = stage_rows(body.rows, province=province, settings=settings)
    else:
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "file"):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "multipart field `file` is required"
            )
        assert upload is not None and not isinstance(upload, str)
        staged = stage_stream(
            upload.file, filename=upload.filename or "upload.csv", province=province,
            settings=settings,
        )  # fmt: skip
    return await _ingest(request, database, settings, principal, staged)


async def _ingest(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Principal,
    staged: StagedUpload,
) -> BatchPublic:
    from starlette.concurrency import run_in_threadpool

    metrics = request.app.state.metrics
    try:
        result = await run_in_threadpool(ingest_batch, database, settings, principal, staged)
    except UploadRejected:
        metrics.batch("rejected")
        raise  # answered by api.main (as every ServiceError)
    except BatchFailed:
        metrics.batch("failed")
        raise
    finally:
        staged.cleanup()
    metrics.batch("duplicate" if result.duplicate else "done")
    return result


def _visible(session: SessionDep, principal: Principal, batch_id: str) -> BatchPublic:
    batch = repo.get_batch(session=session, batch_id=batch_id)
    if batch is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such batch")
    if principal.role == Role.UPLOADER and batch.province != principal.province:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "batch of another province")
    return batch


@router.get("/{batch_id}", response_model=BatchPublic, summary="Status and counts of a batch")
def get_batch(batch_id: str, principal: BatchReader, session: SessionDep) -> BatchPublic:
    """Uploaders see their own province's batches only."""
    return _visible(session, principal, batch_id)


@router.get(
    "/{batch_id}/rejects",
    response_model=RejectList,
    summary="Rejected rows with reasons (JSON, or CSV with ?format=csv)",
)
def get_rejects(
    batch_id: str,
    principal: BatchReader,
    session: SessionDep,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> RejectList | Response:
    """Rows that were not stored, each with its row number, field and reason."""
    _visible(session, principal, batch_id)
    rejects = repo.list_rejects(session=session, batch_id=batch_id)
    return _row_notes(rejects, format=format, filename=f"rejects-{batch_id}.csv")


@router.get(
    "/{batch_id}/field-issues",
    response_model=RejectList,
    summary="Stored rows with a field treated as missing (JSON, or CSV with ?format=csv)",
)
def get_field_issues(
    batch_id: str,
    principal: BatchReader,
    session: SessionDep,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> RejectList | Response:
    """Rows whose dose was stored but one identity field was unusable (an impossible birth
    date, a name too long, neither name nor ID): the row number, the field and why."""
    _visible(session, principal, batch_id)
    issues = repo.list_field_issues(session=session, batch_id=batch_id)
    return _row_notes(issues, format=format, filename=f"field-issues-{batch_id}.csv")


def _row_notes(notes: list[RejectPublic], *, format: str, filename: str) -> RejectList | Response:
    """Row notes as JSON, or as a CSV download."""
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["file", "row", "source", "field", "reason"])
        for r in notes:
            writer.writerow([r.file or "", r.row, r.source or "", r.field or "", r.reason])
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return RejectList(data=notes, count=len(notes))
