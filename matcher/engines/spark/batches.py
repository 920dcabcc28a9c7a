"""The functions Spark's executors run on Arrow batches (``mapInPandas`` / ``applyInPandas``).

Each one restores its batch to the pandas dtypes (``codec``) and calls the same pure pandas
functions the pandas engine calls; no matching rule is written here. Pair batches carry both
records of every pair side by side (``l_<column>`` / ``r_<column>``): they are stacked into a
local record frame, the pairs renumbered to its positions, and the global record ids put back
at the end.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher import columns as c
from matcher import pipeline
from matcher.blocking import key_columns, one_edit_id_pairs
from matcher.compare import FUZZY_PINYIN, LEFT, RIGHT, compare_pairs, prepare_records
from matcher.decisions import DECISION, LEVEL_DOSES, Decision, apply_rules
from matcher.engines.spark.codec import Kinds, from_rows, to_rows
from matcher.histories import build_histories
from matcher.history_lines import IDENTITY_COLUMNS, write_history_lines
from matcher.ingest import read_export
from matcher.names import fuzzy_pinyin
from matcher.normalise import normalise_doses
from matcher.persons import TRUSTED_ID, build_person_records
from matcher.profiles import MappingProfile
from matcher.schedules import compare_dose_histories
from matcher.scoring import FSModel, match_weights, score_pairs
from matcher.settings import MatchSettings

__all__ = [
    "DOSE_DAYS",
    "DOSE_LOTS",
    "DOSE_PRODUCTS",
    "FILE_INDEX",
    "KIND",
    "SEQ",
    "TAGS",
    "TF",
    "cluster",
    "compare",
    "histories",
    "normalise",
    "one_edit",
    "person_records",
    "read_files",
    "score",
]

FILE_INDEX = "_file"  # position of the row's file among the inputs
SEQ = "_seq"  # position of the row in its file's frame (the pandas engine's row order)
KIND = "_kind"  # "dose", "reject" or "issue" in the read and normalise outputs
TF = "_tf"  # per record: share of records with its simplified name
DOSE_DAYS = "_dose_days"  # per record: its dose rows' dates (days since 1970), in row order
DOSE_PRODUCTS = "_dose_products"
DOSE_LOTS = "_dose_lots"
TAGS = (FILE_INDEX, SEQ, KIND)


def _whole(batches: Iterator[pd.DataFrame]) -> pd.DataFrame | None:
    """All batches of one partition as one frame (None when empty)."""
    frames = [b for b in batches if len(b)]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _tagged(frame: pd.DataFrame, kind: str, file_index: int) -> pd.DataFrame:
    tagged = frame.reset_index(drop=True)
    tagged[FILE_INDEX] = np.int32(file_index)
    tagged[SEQ] = np.arange(len(tagged), dtype=np.int64)
    tagged[KIND] = kind
    return tagged


def read_files(
    batches: Iterator[pd.DataFrame], profile: MappingProfile | None, kinds: Kinds
) -> Iterator[pd.DataFrame]:
    """Rows ``(file index, path)`` → each file's canonical rows and rejects (``read_export``)."""
    for batch in batches:
        for index, path in zip(batch["index"], batch["path"], strict=True):
            read = read_export(Path(path), profile=profile)
            yield to_rows(_tagged(read.frame, "dose", int(index)), kinds)
            yield to_rows(_tagged(read.rejects, "reject", int(index)), kinds)


def normalise(
    batches: Iterator[pd.DataFrame], today: pd.Timestamp, raw: Kinds, kinds: Kinds
) -> Iterator[pd.DataFrame]:
    """Canonical rows → normalised dose rows, their rejects and field issues."""
    for batch in batches:
        frame = from_rows(batch, raw)
        result = normalise_doses(frame.drop(columns=[KIND]), today=today)
        yield to_rows(result.doses.assign(**{KIND: "dose"}), kinds)
        for kind, table in (("reject", result.rejects), ("issue", result.issues)):
            # The position of each rejected row in the batch keeps the pandas engine's order.
            where = pd.MultiIndex.from_frame(frame[[c.FILE, c.ROW]])
            at = where.get_indexer(pd.MultiIndex.from_frame(table[[c.FILE, c.ROW]]))
            tagged = table.copy()
            tagged[FILE_INDEX] = frame[FILE_INDEX].to_numpy()[at]
            tagged[SEQ] = frame[SEQ].to_numpy()[at]
            tagged[KIND] = kind
            yield to_rows(tagged, kinds)


def person_records(
    batches: Iterator[pd.DataFrame], doses: Kinds, kinds: Kinds | None
) -> Iterator[pd.DataFrame]:
    """A partition's dose rows (whole registrations, in row order) → their person records,
    each with its fuzzy pinyin and its dose rows' dates, products and lots."""
    frame = _whole(batches)
    if frame is None:
        return
    frame = from_rows(frame, doses).sort_values([FILE_INDEX, SEQ], kind="stable")
    frame = frame.reset_index(drop=True)
    built = build_person_records(frame)
    records = built.records
    records[FUZZY_PINYIN] = fuzzy_pinyin(records[c.NAME_PINYIN])
    rid = built.dose_record_ids
    order = np.argsort(rid, kind="stable")
    starts = np.searchsorted(rid[order], np.arange(len(records)))
    bounds = np.append(starts, len(order))
    dates = frame[c.DOSE_DATE].to_numpy(dtype="datetime64[D]")
    days = [None if np.isnat(d) else int(d.astype(np.int64)) for d in dates[order]]  # per dose row
    products = frame[c.PRODUCT_CODE].astype(object).to_numpy()[order]
    lots = frame[c.LOT_NUMBER].astype(object).to_numpy()[order]

    def lists(values: Any) -> Any:
        return [
            [None if pd.isna(v) else v for v in values[a:b]]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]

    out = records if kinds is None else to_rows(records, kinds)
    out[DOSE_DAYS] = lists(days)
    out[DOSE_PRODUCTS] = lists(products)
    out[DOSE_LOTS] = lists(lots)
    yield out


def _sides(batch: pd.DataFrame, kinds: Kinds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The batch's left and right records stacked into one frame, and the local pairs."""
    n = len(batch)
    sides = []
    for side in ("l", "r"):
        part = batch[[f"{side}_{k}" for k in kinds]]
        part.columns = list(kinds)
        sides.append(from_rows(part, kinds))
    local = pd.concat(sides, ignore_index=True)
    pairs = pd.DataFrame({LEFT: np.arange(n), RIGHT: np.arange(n, 2 * n)})
    return local, pairs


def compare(
    batches: Iterator[pd.DataFrame], kinds: Kinds, settings: MatchSettings
) -> Iterator[pd.DataFrame]:
    """Candidate pairs with both records → comparison levels, EM seed flag and the seeds'
    birth-date levels as typed (``pipeline.seed_pairs`` / ``stated_birth_levels``)."""
    for batch in batches:
        local, pairs = _sides(batch, kinds)
        coded = prepare_records(local, columns=key_columns(settings))
        levels = compare_pairs(coded, pairs, jw_thresholds=settings.name_jw_thresholds)
        seed = pipeline.seed_pairs(coded, levels)
        stated = np.full(len(levels), -1, dtype=np.int8)
        if seed.any():
            stated[seed] = pipeline.stated_birth_levels(coded, levels, seed)
        levels["_seed"] = seed
        levels["_stated_birth"] = stated
        levels[LEFT] = batch["l_" + c.RECORD_ID].to_numpy(dtype=np.int64)
        levels[RIGHT] = batch["r_" + c.RECORD_ID].to_numpy(dtype=np.int64)
        yield levels


def score(
    batches: Iterator[pd.DataFrame],
    kinds: Kinds,
    level_columns: list[str],
    settings: MatchSettings,
    model: FSModel,
    population: int,
    out_kinds: Kinds | None,
) -> Iterator[pd.DataFrame]:
    """Compared pairs with both records → scored pairs at or above the review band, with dose
    evidence and rules applied, as ``pipeline.run_link`` scores them (non-matches dropped)."""
    for batch in batches:
        local, _ = _sides(batch, kinds)
        n = len(batch)
        coded = prepare_records(local, columns=key_columns(settings))
        levels = batch[level_columns].reset_index(drop=True)
        global_ids = levels[[LEFT, RIGHT]].to_numpy(dtype=np.int64)
        levels[LEFT] = np.arange(n)
        levels[RIGHT] = np.arange(n, 2 * n)
        tf = np.concatenate([batch[f"{side}_{TF}"].to_numpy(dtype=np.float64) for side in "lr"])
        total = match_weights(coded, levels, model, population=population, name_frequencies=tf)
        keep = total.astype(np.float32) >= settings.review_weight
        scored = levels[keep].reset_index(drop=True)
        global_ids = global_ids[keep]
        scored = score_pairs(
            coded, scored, model, population=population, name_frequencies=tf, inplace=True
        )
        doses, dose_records = _local_doses(batch)
        scored[LEVEL_DOSES] = pipeline.dose_levels(
            scored, doses, dose_records, compare_dose_histories, settings
        )
        scored = apply_rules(coded, scored, settings)
        kept = (scored[DECISION] != Decision.NON_MATCH.value).to_numpy()
        scored = scored[kept].reset_index(drop=True)
        scored[pipeline.MANUAL] = ""
        scored[LEFT] = global_ids[kept, 0]
        scored[RIGHT] = global_ids[kept, 1]
        yield scored if out_kinds is None else to_rows(scored, out_kinds)


def _local_doses(batch: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The dose rows of the batch's records (local positions), as ``pipeline.dose_levels``
    takes them."""
    n = len(batch)
    rows: list[np.ndarray] = []
    frames: dict[str, list[object]] = {c.DOSE_DATE: [], c.PRODUCT_CODE: [], c.LOT_NUMBER: []}
    for offset, side in ((0, "l"), (n, "r")):
        days = batch[f"{side}_{DOSE_DAYS}"]
        counts = np.array([len(v) for v in days], dtype=np.int64)
        rows.append(np.repeat(np.arange(n, dtype=np.int64) + offset, counts))
        for column, name in (
            (c.DOSE_DATE, DOSE_DAYS),
            (c.PRODUCT_CODE, DOSE_PRODUCTS),
            (c.LOT_NUMBER, DOSE_LOTS),
        ):
            frames[column].extend(v for values in batch[f"{side}_{name}"] for v in values)
    record_ids = np.concatenate(rows)
    day = pd.to_numeric(pd.Series(frames[c.DOSE_DATE], dtype=object)).to_numpy(np.float64)
    dates = np.full(len(day), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = ~np.isnan(day)
    dates[known] = day[known].astype(np.int64).astype("datetime64[D]")
    doses = pd.DataFrame(
        {
            c.DOSE_DATE: dates,
            c.PRODUCT_CODE: np.array(frames[c.PRODUCT_CODE], dtype=object),
            c.LOT_NUMBER: np.array(frames[c.LOT_NUMBER], dtype=object),
        }
    )
    return doses, record_ids


def one_edit(batches: Iterator[pd.DataFrame], probes: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """Records (ID columns) → the one-edit ID pairs between them and the ``probes`` (records
    whose ID fails its checksum), by ``blocking.one_edit_id_pairs`` on the two together."""
    for batch in batches:
        local = pd.concat([batch, probes], ignore_index=True)
        local = local.drop_duplicates(c.RECORD_ID).reset_index(drop=True)
        global_ids = local[c.RECORD_ID].to_numpy(dtype=np.int64)
        local[c.RECORD_ID] = np.arange(len(local), dtype=np.int64)
        left, right = one_edit_id_pairs(local)
        a, b = global_ids[left], global_ids[right]
        yield pd.DataFrame({LEFT: np.minimum(a, b), RIGHT: np.maximum(a, b)})


def cluster(
    pairs: pd.DataFrame,
    records: pd.DataFrame,
    settings: MatchSettings,
    pair_kinds: Kinds,
) -> pd.DataFrame:
    """Whole components (their records and kept pairs) → person ids and the pairs' final
    decisions, by ``pipeline.cluster_scored`` (the cannot-link rule is per component)."""
    records = records.sort_values(c.RECORD_ID, kind="stable").reset_index(drop=True)
    record_ids = records[c.RECORD_ID].to_numpy(dtype=np.int64)
    scored = from_rows(pairs, pair_kinds).sort_values([LEFT, RIGHT], kind="stable")
    inside = np.isin(scored[LEFT].to_numpy(), record_ids) & np.isin(
        scored[RIGHT].to_numpy(), record_ids
    )
    # A pair between components of different buckets is no match edge (a match joins its
    # records into one component): a review pair, which clustering leaves as it is.
    passed = scored[~inside]
    scored = scored[inside].reset_index(drop=True)
    global_pairs = scored[[LEFT, RIGHT]].to_numpy(dtype=np.int64)
    scored[LEFT] = np.searchsorted(record_ids, global_pairs[:, 0])
    scored[RIGHT] = np.searchsorted(record_ids, global_pairs[:, 1])
    trusted = pd.factorize(records[TRUSTED_ID])[0].astype(np.int64)
    scored, records, _ = pipeline.cluster_scored(records, scored, trusted, settings)
    scored[LEFT] = global_pairs[:, 0]
    scored[RIGHT] = global_pairs[:, 1]
    scored = to_rows(pd.concat([scored, passed], ignore_index=True), pair_kinds)
    ids = pd.DataFrame(
        {c.RECORD_ID: record_ids, c.PERSON_ID: records[c.PERSON_ID].astype(str).to_numpy()}
    )
    out = {
        "_kind": ["pair"] * len(scored) + ["person"] * len(ids),
        **{k: list(scored[k]) + [None] * len(ids) for k in pair_kinds},
        c.RECORD_ID: [None] * len(scored) + list(ids[c.RECORD_ID]),
        c.PERSON_ID: [None] * len(scored) + list(ids[c.PERSON_ID]),
    }
    return pd.DataFrame(out)


def histories(
    doses: pd.DataFrame, records: pd.DataFrame, today: pd.Timestamp, dose_kinds: Kinds
) -> pd.DataFrame:
    """Whole persons (their dose rows and records) → one histories.jsonl line per person, by
    ``build_histories`` and ``write_history_lines``."""
    frame = from_rows(doses, dose_kinds).sort_values([FILE_INDEX, SEQ], kind="stable")
    frame = frame.reset_index(drop=True)
    if not len(frame):
        return pd.DataFrame({c.PERSON_ID: [], "line": []})
    histories = build_histories(frame, today=today, reported_by=False)
    identities = records[[k for k in IDENTITY_COLUMNS if k in records]]
    identities = from_rows(identities, dict.fromkeys(map(str, identities.columns), "text"))
    buffer = io.BytesIO()
    write_history_lines(histories, identities, buffer)
    lines = buffer.getvalue().decode("utf-8").splitlines(keepends=True)
    return pd.DataFrame(
        {c.PERSON_ID: histories.persons[c.PERSON_ID].astype(str).to_numpy(), "line": lines}
    )
