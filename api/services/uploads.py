"""Upload handling: stream to a temp file under a size limit, read, validate, then store and
link all of one batch in one transaction (its row committed as ``processing`` before)."""

from __future__ import annotations

import csv
import hashlib
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from api import faults
from api.auth import Principal
from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database
from api.schemas.v1 import BatchCounts, BatchPublic
from api.services import batch_owner
from api.services.errors import Failed, Invalid, TooLarge, Unavailable
from api.services.linking import link_scope
from api.services.record_index import DB_RECORD, BatchRows
from matcher import columns as c
from matcher.errors import VaxlinkError
from matcher.ingest import ROW_REF_PREFIX, read_export
from matcher.job import STORED_FILE, Prepared
from matcher.masking import scrub_text
from matcher.normalise import normalise_doses

logger = logging.getLogger("vaxlink.api.uploads")
COPY_CHUNK = 1 << 20


class UploadTooLarge(TooLarge):
    """The upload exceeds ``max_upload_bytes``."""


class UploadRejected(Invalid):
    """The file cannot be read as an export (wrong format, missing columns, encoding)."""


class BatchFailed(Failed):
    """Applying the batch failed; nothing of it was stored (``batch_id`` names the record;
    the answer carries it and ``status: failed``)."""

    def __init__(self, batch_id: str, message: str) -> None:
        super().__init__(message, batch_id=batch_id, status="failed")
        self.batch_id = batch_id

    @property
    def unavailable(self) -> bool:
        """The database could not be reached (the answer is 503: try again)."""
        return isinstance(self, Unavailable)


class BatchUnavailable(BatchFailed, Unavailable):
    """Applying the batch failed because the database could not be reached."""


@dataclass(frozen=True, slots=True)
class StagedUpload:
    """An upload copied to a private temp folder."""

    folder: Path
    path: Path
    sha256: str
    size: int
    filename: str

    def cleanup(self) -> None:
        """Remove the temp folder."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _suffix(filename: str) -> str:
    return ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"


def stage_stream(
    stream: BinaryIO, *, filename: str, province: str, settings: Settings
) -> StagedUpload:
    """Copy an upload in chunks to a temp file, hashing it; raise UploadTooLarge past the limit.

    The temp file is named after the caller's province, so a file without a source column is
    read as that province's (``matcher.ingest`` takes the source from a ``NN.csv`` name).
    """
    folder = Path(tempfile.mkdtemp(prefix="vaxlink-upload-", dir=settings.upload_dir))
    path = folder / f"{province}{_suffix(filename)}"
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(COPY_CHUNK):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise UploadTooLarge(f"upload exceeds {settings.max_upload_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    faults.reached("upload.staged")
    return StagedUpload(folder, path, digest.hexdigest(), size, Path(filename).name[:255])


def stage_rows(
    rows: Iterable[dict[str, str | int | None]], *, province: str, settings: Settings
) -> StagedUpload:
    """Write JSON rows as a UTF-8 CSV (so they go through the same readers as files)."""
    rows = list(rows)
    header = [col for col in c.CANONICAL_COLUMNS if any(col in r for r in rows)]
    header += sorted({k for r in rows for k in r} - set(header))
    folder = Path(tempfile.mkdtemp(prefix="vaxlink-upload-", dir=settings.upload_dir))
    path = folder / f"{province}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if v is None else str(v) for k, v in r.items()})
    size = path.stat().st_size
    if size > settings.max_upload_bytes:
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadTooLarge(f"upload exceeds {settings.max_upload_bytes} bytes")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return StagedUpload(folder, path, digest, size, "rows.json")


def _read(staged: StagedUpload, *, province: str, today: pd.Timestamp) -> Prepared:
    """The batch's doses to store, all rejects, and the field issues of the stored rows
    (reader, normaliser, province check)."""
    try:
        read = read_export(staged.path)
        faults.reached("upload.parsed")
        normalised = normalise_doses(read.frame, today=today)
        faults.reached("upload.normalised")
    except VaxlinkError as exc:
        raise UploadRejected(scrub_text(str(exc)).replace(str(staged.folder), "")) from exc
    doses = normalised.doses
    # A row without person_ref is a registration of its own, named after its file and row;
    # every upload is staged under the same file name, so the content hash tells them apart.
    refs = doses[c.PERSON_REF].astype(object)
    made = refs.str.startswith(ROW_REF_PREFIX, na=False)
    if made.any():
        own = f"{ROW_REF_PREFIX}{staged.sha256[:16]}:"
        doses[c.PERSON_REF] = refs.where(~made, own + doses[c.ROW].astype(str))
    foreign = doses[c.SOURCE].astype(str) != province
    province_rejects = pd.DataFrame(
        {
            c.FILE: doses.loc[foreign, c.FILE] if c.FILE in doses else None,
            c.ROW: doses.loc[foreign, c.ROW],
            c.SOURCE: doses.loc[foreign, c.SOURCE],
            c.FIELD: c.SOURCE,
            c.REASON: "row of province "
            + doses.loc[foreign, c.SOURCE].astype(str)
            + f"; this key may upload province {province} only",
        }
    )
    rejects = pd.concat(
        [f for f in (read.rejects, normalised.rejects, province_rejects) if len(f)]
        or [read.rejects],
        ignore_index=True,
    )
    rejects[c.FILE] = staged.filename
    issues = normalised.issues
    issues = issues[~issues[c.ROW].isin(doses.loc[foreign, c.ROW])].assign(
        **{c.FILE: staged.filename}
    )  # a foreign row is rejected whole: its field issues are not kept as well
    return Prepared(
        doses=doses[~foreign].reset_index(drop=True),
        rejects=rejects.sort_values(c.ROW, kind="stable"),
        issues=issues.sort_values(c.ROW, kind="stable"),
    )


INTERRUPTED = (
    "interrupted: the service stopped while applying this batch; nothing of it was stored; "
    "upload the file again"
)
DUPLICATE_POLL_SECONDS = 0.25


def recover_interrupted(database: Database) -> list[str]:
    """Mark ``failed`` the batches left ``processing`` by a process that no longer applies
    them (killed, or its database connection lost); returns their ids.

    Their rows were in one uncommitted transaction, so nothing of them is stored; their
    deduplication keys are freed, so the same file can be uploaded again.
    """
    with database.serial_writes(), database.transaction() as session:
        stale = [
            batch_id
            for batch_id, worker in repo.processing_batches(session=session)
            if batch_owner.is_dead(worker, batch_id)
        ]
        for batch_id in stale:
            repo.fail_batch(session=session, batch_id=batch_id, error=INTERRUPTED)
    for batch_id in stale:
        logger.warning("batch %s was interrupted; marked failed (upload it again)", batch_id)
    return stale


def _claim(
    database: Database, settings: Settings, principal: Principal, staged: StagedUpload,
    batch_id: str, dedup: str,
) -> BatchPublic | None:  # fmt: skip
    """Commit ``batch_id`` as ``processing`` holding the content key (None), or answer the
    batch that holds it: a done one, or — after waiting for it — one another request applies."""
    deadline = time.monotonic() + settings.duplicate_wait_seconds
    while True:
        recover_interrupted(database)
        batch_owner.begin(batch_id)  # before the row exists: no sweep may take it for dead
        try:
            with database.serial_writes(), database.transaction() as session:
                held = repo.batch_claim(session=session, dedup_key=dedup)
                if held is None:
                    repo.create_batch(
                        session=session, batch_id=batch_id, province=principal.province or "",
                        sha256=staged.sha256, filename=staged.filename, key_id=principal.key_id,
                        dedup_key=dedup, worker=batch_owner.me(),
                    )  # fmt: skip
                    return None
                earlier = repo.batch_by_content(session=session, dedup_key=dedup)
        except IntegrityError:  # another process claimed the key between the read and insert
            batch_owner.end(batch_id)
            continue
        except BaseException:
            batch_owner.end(batch_id)
            raise
        batch_owner.end(batch_id)
        if earlier is not None and (earlier.status == "done" or time.monotonic() > deadline):
            return earlier
        time.sleep(DUPLICATE_POLL_SECONDS)


def ingest_batch(
    database: Database,
    settings: Settings,
    principal: Principal,
    staged: StagedUpload,
    *,
    link: bool = True,
) -> BatchPublic:
    """Apply one staged upload as a batch, or answer the earlier batch with the same content.

    The batch row is committed as ``processing`` first (holding the content key, so the same
    file uploaded again meanwhile waits for it and gets the same batch); its rows, records,
    links and histories are then written in one transaction that also marks it ``done``. A
    crash at any point leaves either the done batch or nothing of it (the row is marked
    ``failed`` by ``recover_interrupted``).

    ``link=False`` stores the rows without linking them (a bulk initial load of many files,
    followed by one full relink, ``link_scope(full=True)``); the person counts are then 0.
    """
    province = principal.province or ""
    # Deduplicate per province: the same bytes from another province's key are a new batch
    # (whose rows are then rejected), never a view of that province's batch.
    dedup = hashlib.sha256(f"{province}:{staged.sha256}".encode()).hexdigest()
    with database.transaction() as session:
        earlier = repo.batch_by_content(session=session, dedup_key=dedup)
    if earlier is not None and earlier.status == "done":
        return earlier
    today = pd.Timestamp.today().normalize()
    read = _read(staged, province=province, today=today)
    batch_id = str(uuid.uuid4())
    earlier = _claim(database, settings, principal, staged, batch_id, dedup)
    if earlier is not None:
        return earlier
    batch_owner.begin(batch_id)
    try:
        faults.reached("batch.claimed")
        with database.serial_writes(), database.transaction() as session:
            repo.lock_linking(session=session)  # batches of one store apply one at a time
            counts = _apply(session, settings, batch_id, read, today, link=link)
            result = repo.finish_batch(session=session, batch_id=batch_id, counts=counts)
            repo.add_audit(
                session=session, actor=principal, action="batch.upload", target=f"batch:{batch_id}",
                detail=result.counts.model_dump(),
            )  # fmt: skip
            faults.reached("batch.committing")
        faults.reached("batch.committed")
        logger.debug("batch %s done: %s", batch_id, result.counts.model_dump())
        return result
    except Exception as exc:
        message = f"{type(exc).__name__}: {_first_line(exc)}"
        logger.error("batch %s failed (%s); nothing of it was stored", batch_id, message)
        try:
            with database.serial_writes(), database.transaction() as session:
                repo.fail_batch(session=session, batch_id=batch_id, error=message)
        except Exception as again:  # the database is unreachable: a later sweep marks it
            logger.warning("batch %s not yet marked failed: %s", batch_id, type(again).__name__)
        failure = BatchUnavailable if _is_unavailable(exc) else BatchFailed
        raise failure(batch_id, message) from exc
    finally:
        batch_owner.end(batch_id)


def _first_line(exc: BaseException) -> str:
    """An error's first line, masked and short (database errors: no statement, no values)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return scrub_text(text[0] if text else "")[:300]


def _is_unavailable(exc: BaseException) -> bool:
    """True when the database could not be reached (connection lost or refused)."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _apply(
    session: Session,
    settings: Settings,
    batch_id: str,
    read: Prepared,
    today: pd.Timestamp,
    *,
    link: bool = True,
) -> BatchCounts:
    doses, rejects, issues = read.doses, read.rejects, read.issues
    repo.insert_rejects(session=session, batch_id=batch_id, rejects=rejects)
    repo.insert_field_issues(session=session, batch_id=batch_id, issues=issues)
    keys = doses[[c.SOURCE, c.PERSON_REF]].drop_duplicates()
    ids, new_ids = repo.upsert_records(session=session, batch_id=batch_id, keys=keys)
    pairs = zip(doses[c.SOURCE].astype(str), doses[c.PERSON_REF].astype(str), strict=True)
    doses = doses.assign(**{DB_RECORD: [ids[k] for k in pairs]})
    repo.insert_doses(session=session, batch_id=batch_id, doses=doses)
    faults.reached("batch.stored")
    seeds = set(ids.values())
    if not link:
        return BatchCounts(
            rows_accepted=len(doses), rows_rejected=len(rejects),
            rows_with_field_issues=len(issues), records_touched=len(seeds),
            persons_new=0, persons_linked=0, persons_review=0,
        )  # fmt: skip
    # The rows as normalised before the transaction link as they would when read back from the
    # store: an unusable birth date is stored as missing (so a full relink, which reads every
    # row back, gives the same persons and histories as this incremental link).
    stored = doses.assign(**{c.FILE: STORED_FILE})
    stored[c.BIRTH_DATE_UNUSABLE] = False
    stored[repo.DOSE_ID] = repo.batch_dose_ids(session=session, batch_id=batch_id)
    batch = BatchRows(batch_id=batch_id, doses=stored)
    stats = link_scope(session, seeds, settings.matching, today=today, batch=batch)
    in_review = repo.open_review_records(session=session, record_ids=seeds)
    batch_pids = {stats.assignments[r] for r in seeds if r in stats.assignments}
    linked = {pid for rid, pid in stats.assignments.items() if rid not in new_ids}
    return BatchCounts(
        rows_accepted=len(doses),
        rows_rejected=len(rejects),
        rows_with_field_issues=len(issues),
        records_touched=len(seeds),
        persons_new=len(batch_pids - linked),
        persons_linked=len(batch_pids & linked),
        persons_review=len(in_review),
    )
