"""The store's view of its records: stored doses read back and normalised (once per job),
record summaries and blocking keys (``matcher.key_index``), and the stored records a new one
may link to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from api.db import repository as repo
from matcher import columns as c
from matcher import key_index
from matcher import persons as p
from matcher.job import prepare_rows
from matcher.settings import MatchSettings

DB_RECORD = "db_record"  # a dose row's (and then a record's) id in the store


@dataclass(frozen=True, slots=True)
class BatchRows:
    """An upload's rows, normalised once before its transaction and stored in it: ``doses``
    has ``DB_RECORD`` and ``repo.DOSE_ID``, and its ``file`` is ``STORED_FILE``."""

    batch_id: str
    doses: pd.DataFrame


def normalise_stored(raw: pd.DataFrame, *, today: pd.Timestamp) -> pd.DataFrame:
    """Stored canonical rows → the normalised dose frame (``db_record`` kept)."""
    return prepare_rows(raw, today=today).doses


def stored_doses(
    session: Session, record_ids: set[int], *, today: pd.Timestamp, except_batch: str | None = None
) -> pd.DataFrame:
    """The normalised stored doses of records (with ``repo.DOSE_ID``), but a batch's."""
    raw = repo.load_doses(
        session=session, record_ids=record_ids, except_batch=except_batch, with_ids=True
    )
    return normalise_stored(raw, today=today)


def in_store_order(*frames: pd.DataFrame) -> pd.DataFrame:
    """Normalised dose frames as one, in the order their rows were stored (``repo.DOSE_ID``)."""
    used = [f for f in frames if len(f)] or list(frames[:1])
    both = pd.concat(used, ignore_index=True) if len(used) > 1 else used[0]
    order = np.argsort(both[repo.DOSE_ID].to_numpy(dtype=np.int64), kind="stable")
    return both.take(order).reset_index(drop=True)


# --- blocking keys in the database (made by matcher.key_index) ----------------------------
def record_keys(records: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """``key_index.KEY_COLUMNS`` rows of records, by their db record ids."""
    return key_index.record_keys(records, settings, records[DB_RECORD].to_numpy(dtype=np.int64))


def neighbour_records(session: Session, records: pd.DataFrame, settings: MatchSettings) -> set[int]:
    """Stored records sharing a blocking key with ``records`` (or one ID edit away)."""
    probes = key_index.neighbour_probes(records, settings)
    return repo.records_sharing_keys(
        session=session, keys=probes.rule_values, id_keys=probes.id_keys
    )


def refresh_records(
    session: Session,
    record_ids: Iterable[int],
    settings: MatchSettings,
    *,
    today: pd.Timestamp,
    doses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rebuild the identity summary and blocking keys of records from their doses (``doses``:
    all of them, normalised; loaded from the store when None)."""
    ids = sorted(set(record_ids))
    if doses is None:
        doses = normalise_stored(repo.load_doses(session=session, record_ids=ids), today=today)
    records = records_of(doses)
    summaries = record_summaries(records)
    repo.update_records(
        session=session,
        columns=repo.RECORD_SUMMARY,
        rows=zip(*(summaries[col].tolist() for col in ("id", *repo.RECORD_SUMMARY)), strict=True),
    )
    repo.replace_record_keys(session=session, record_ids=ids, keys=record_keys(records, settings))
    return records


def record_summaries(records: pd.DataFrame) -> pd.DataFrame:
    """``id`` and the ``repo.RECORD_SUMMARY`` columns stored on each record (None if missing)."""

    def text(column: str, width: int | None = None) -> list[str | None]:
        values, missing = key_index.key_text(records[column])
        pairs = zip(values.tolist(), missing.tolist(), strict=True)
        return [None if gone else v[:width] for v, gone in pairs]

    return pd.DataFrame(
        {
            "id": records[DB_RECORD].to_numpy(dtype=np.int64),
            "id_key": pd.Series(text(c.ID_KEY), dtype=object),
            "name_simplified": pd.Series(text(c.NAME_SIMPLIFIED, 100), dtype=object),
            "name_pinyin": pd.Series(text(c.NAME_PINYIN, 200), dtype=object),
            "birth_key": records[p.BIRTH_KEY].to_numpy(dtype=np.int64),
            "n_doses": records[p.N_DOSES].to_numpy(dtype=np.int64),
        }
    )


def records_of(doses: pd.DataFrame) -> pd.DataFrame:
    built = p.build_person_records(doses)
    records = built.records
    db = np.zeros(len(records), dtype=np.int64)
    db[built.dose_record_ids] = doses[DB_RECORD].to_numpy(dtype=np.int64)
    records[DB_RECORD] = db
    return records
