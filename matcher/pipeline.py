"""The link stages: normalised dose rows → person records → pairs → scores → clusters.

``matcher.job`` runs them as part of the whole link job (reading, normalising and merging
histories around them). Timing and peak memory are measured per stage; logging and progress
bars stay with the caller (``on_stage``).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matcher import columns as c
from matcher import persons as p
from matcher.blocking import BlockingReport, block_pairs, column_codes, key_columns
from matcher.clustering import arrow_keys, cluster_pairs, cluster_person_ids
from matcher.compare import (
    BIRTH_DAY,
    FUZZY_PINYIN,
    LEFT,
    RIGHT,
    compare_birth_dates,
    compare_pairs,
    level_column,
    prepare_records,
)
from matcher.decisions import (
    DECISION,
    LEVEL_DOSES,
    REVIEW_REASON,
    Decision,
    ReviewReason,
    Rule,
    apply_rules,
    decision_counts,
)
from matcher.dictionary import arrow_strings, distinct, is_dictionary, known_text
from matcher.frames import as_series
from matcher.names import fuzzy_pinyin
from matcher.scoring import (
    MATCH_WEIGHT,
    FSModel,
    estimate_u,
    match_weights,
    name_term_frequencies,
    score_pairs,
    train_model,
)
from matcher.settings import MatchSettings

__all__ = [
    "LinkResult",
    "MANUAL",
    "ManualDecisions",
    "STAGES",
    "cluster_scored",
    "dose_levels",
    "peak_rss_mb",
    "run_link",
    "seed_pairs",
    "stated_birth_levels",
    "train_on_candidates",
]

STAGES = ("records", "block", "compare", "train", "score", "cluster")


@dataclass(frozen=True)
class ManualDecisions:
    """Auditor decisions as record-id pairs; they take precedence over the model."""

    same: tuple[np.ndarray, np.ndarray] = (np.empty(0, np.int64), np.empty(0, np.int64))
    different: tuple[np.ndarray, np.ndarray] = (np.empty(0, np.int64), np.empty(0, np.int64))


@dataclass(frozen=True)
class LinkResult:
    """Everything the link job produced."""

    records: pd.DataFrame  # one row per person record, with person_id
    dose_record_ids: np.ndarray  # per input dose row, its record_id
    pairs: pd.DataFrame  # scored pairs at or above the review band (plus refused edges)
    model: FSModel
    blocking: BlockingReport
    persons: int  # distinct person_id values among the records
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def review(self) -> pd.DataFrame:
        """Pairs sent to a human."""
        return self.pairs[self.pairs[DECISION] == Decision.REVIEW.value]

    def summary(self) -> dict[str, Any]:
        """Counts for summary.json."""
        return {
            "person_records": len(self.records),
            "persons": self.persons,
            "candidate_pairs": self.blocking.total_pairs,
            "candidate_pairs_per_rule": self.blocking.pairs_per_rule,
            "capped_blocks_per_rule": self.blocking.capped_blocks,
            "capped_records_per_rule": self.blocking.capped_records,
            "pairs_by_decision": decision_counts(self.pairs),
            "review_pairs": int((self.pairs[DECISION] == Decision.REVIEW.value).sum()),
            "stage_seconds": self.stage_seconds,
            "stage_peak_rss_mb": self.stage_peak_rss_mb,
        }


DoseEvidence = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (0.1 MB steps)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def run_link(
    doses: pd.DataFrame,
    settings: MatchSettings,
    *,
    model: FSModel | None = None,
    manual: ManualDecisions | None = None,
    dose_evidence: DoseEvidence | None = None,
    on_stage: Callable[[str], None] | None = None,
    population: int | None = None,
    name_counts: Mapping[str, int] | None = None,
    manual_key: str | None = None,
) -> LinkResult:
    """Link normalised dose rows into persons.

    Args:
        doses: the normalised dose frame (see docs/ARCHITECTURE.md).
        model: a trained model to reuse; trained on this data when None.
        manual: auditor decisions (record-id pairs) that override the model.
        dose_evidence: ``(pairs, doses) -> level per pair`` (see histories.compare_dose_histories).
        on_stage: called with each stage name as it starts (progress display).
        population, name_counts: record count and simplified-name counts of the whole store
            when ``doses`` is a subset of it (incremental linking), so weights match those of a
            full run.
        manual_key: a column of ``doses`` identifying registrations (e.g. a database id); when
            given, ``manual`` pairs are values of that column instead of record ids.
    """
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if on_stage is not None:
            on_stage(name)
        start = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - start, 3)
        peaks[name] = peak_rss_mb()

    with stage("records"):
        built = p.build_person_records(doses)
        records = built.records
        records[FUZZY_PINYIN] = fuzzy_pinyin(records[c.NAME_PINYIN])
        # Integer codes for blocking and comparison live in a shallow copy, dropped before
        # clustering: the records returned carry none of them.
        coded = prepare_records(records, columns=key_columns(settings))
        if manual is not None and manual_key is not None:
            manual = _local_manual(manual, doses[manual_key].to_numpy(), built.dose_record_ids)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vaxlink-u") as background:
        # u needs only the records: its random pairs are compared on a second core while the
        # candidates are blocked and compared (numpy and rapidfuzz release the GIL).
        u_estimate = None
        if model is None:
            u_estimate = background.submit(
                estimate_u,
                coded,
                sample_pairs=settings.u_sample_pairs,
                seed=settings.seed,
                jw_thresholds=settings.name_jw_thresholds,
            )
        with stage("block"):
            candidates, report = block_pairs(coded, settings)
        with stage("compare"):
            scored = compare_pairs(coded, candidates, jw_thresholds=settings.name_jw_thresholds)
            del candidates  # the levels carry the pair ids
        with stage("train"):
            if u_estimate is not None:
                model = train_on_candidates(coded, scored, settings, u=u_estimate.result())
    assert model is not None
    with stage("score"):
        frequencies = _name_frequencies(coded, name_counts, population)
        if frequencies is None:
            frequencies = name_term_frequencies(coded)
        # Rules only lower weights and decisions; only an auditor's "same" raises a pair. So
        # pairs below the review band are non-matches whatever follows: drop them first.
        total = match_weights(
            coded, scored, model, population=population, name_frequencies=frequencies
        )
        candidate = total.astype(np.float32) >= settings.review_weight
        del total
        if manual is not None:
            candidate |= _manual_hits(scored, manual.same, manual)
        scored = scored[candidate].reset_index(drop=True)
        scored = score_pairs(
            coded,
            scored,
            model,
            population=population,
            name_frequencies=frequencies,
            inplace=True,
        )
        if dose_evidence is not None:
            scored[LEVEL_DOSES] = _dose_levels(
                scored, doses, built.dose_record_ids, dose_evidence, settings
            )
        scored = apply_rules(coded, scored, settings)
        manual_labels = _apply_manual(scored, manual)
        # Non-matches are not kept, and clustering only reads matches: drop them now.
        keep = (scored[DECISION] != Decision.NON_MATCH.value).to_numpy()
        scored = scored[keep].reset_index(drop=True)
        scored[MANUAL] = _MANUAL_LABELS[manual_labels[keep]]
        trusted_codes = column_codes(coded, p.TRUSTED_ID)
        del coded
    with stage("cluster"):
        kept, records, persons = _cluster(records, scored, manual, trusted_codes, settings)
        del scored
    return LinkResult(
        records=records,
        dose_record_ids=built.dose_record_ids,
        pairs=kept,
        model=model,
        blocking=report,
        stage_seconds=seconds,
        stage_peak_rss_mb=peaks,
        persons=persons,
    )


def train_on_candidates(
    records: pd.DataFrame,
    levels: pd.DataFrame,
    settings: MatchSettings,
    *,
    labelled_same: np.ndarray | None = None,
    labelled_different: np.ndarray | None = None,
    u: dict[str, list[float]] | None = None,
) -> FSModel:
    """Train the model on compared candidate pairs.

    Seeds: pairs sharing a trusted resident ID, plus ``labelled_same`` (auditor decisions),
    minus ``labelled_different``; the seeds' birth dates are compared as typed. ``u``: the
    u-probabilities when already estimated (``scoring.estimate_u`` with these settings).
    """
    seed_mask = seed_pairs(records, levels)
    if labelled_same is not None:
        seed_mask |= labelled_same
    if labelled_different is not None:
        seed_mask &= ~labelled_different
    return train_model(
        records,
        levels,
        seed_mask=seed_mask,
        seed_overrides={"birth_date": _stated_birth_levels(records, levels, seed_mask)},
        u_sample_pairs=settings.u_sample_pairs,
        em_max_pairs=settings.em_max_pairs,
        em_iterations=settings.em_iterations,
        em_tolerance=settings.em_tolerance,
        seed=settings.seed,
        jw_thresholds=settings.name_jw_thresholds,
        u=u,
    )


def seed_pairs(records: pd.DataFrame, levels: pd.DataFrame) -> np.ndarray:
    """True for the compared pairs that seed EM as matches: the same trusted resident ID."""
    return (levels[level_column("id")] == 3).to_numpy() & (
        records[p.TRUSTED_ID].notna().to_numpy()[levels[LEFT].to_numpy()]
    )


def stated_birth_levels(
    records: pd.DataFrame, levels: pd.DataFrame, mask: np.ndarray
) -> np.ndarray:
    """Birth-date levels of the masked pairs on the dates as typed (for m estimation)."""
    return _stated_birth_levels(records, levels, mask)


def dose_levels(
    scored: pd.DataFrame,
    doses: pd.DataFrame,
    dose_record_ids: np.ndarray,
    dose_evidence: DoseEvidence,
    settings: MatchSettings,
) -> np.ndarray:
    """``LEVEL_DOSES`` of scored pairs as ``run_link`` sets it (``doses``: date, product and
    lot per dose row; ``dose_record_ids``: each row's record)."""
    return _dose_levels(scored, doses, dose_record_ids, dose_evidence, settings)


def cluster_scored(
    records: pd.DataFrame, scored: pd.DataFrame, trusted_codes: np.ndarray, settings: MatchSettings
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The cluster stage of ``run_link`` without auditor decisions: person ids on ``records``,
    refused edges sent to review in ``scored`` (also usable per set of whole components)."""
    return _cluster(records, scored, None, trusted_codes, settings)


def _name_frequencies(
    records: pd.DataFrame, name_counts: Mapping[str, int] | None, population: int | None
) -> np.ndarray | None:
    """Per record, the store-wide share of records carrying its simplified name."""
    if name_counts is None or not population:
        return None
    codes, names = pd.factorize(records[c.NAME_SIMPLIFIED])  # object or categorical alike
    counts = pd.Series(np.asarray(names, dtype=object)).map(
        pd.Series(name_counts, dtype=np.float64)
    )
    per_name = np.append(counts.fillna(0.0).to_numpy(dtype=np.float64), 0.0)  # -1: missing
    return per_name[codes] / population


def _local_manual(
    manual: ManualDecisions, keys: np.ndarray, dose_record_ids: np.ndarray
) -> ManualDecisions:
    """Manual pairs given as registration keys → local record-id pairs (unknown keys dropped)."""
    record_of = pd.Series(dose_record_ids, index=keys)
    record_of = record_of[~record_of.index.duplicated()]

    def local(pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        a = record_of.reindex(np.asarray(pairs[0])).to_numpy()
        b = record_of.reindex(np.asarray(pairs[1])).to_numpy()
        known = ~(pd.isna(a) | pd.isna(b))
        a, b = a[known].astype(np.int64), b[known].astype(np.int64)
        return np.minimum(a, b), np.maximum(a, b)

    return ManualDecisions(same=local(manual.same), different=local(manual.different))


def _dose_levels(
    scored: pd.DataFrame,
    doses: pd.DataFrame,
    dose_record_ids: np.ndarray,
    dose_evidence: DoseEvidence,
    settings: MatchSettings,
) -> np.ndarray:
    """Dose-sequence evidence for the pairs the model would match or review (-1 elsewhere).

    Pairs far below the review band cannot become matches, so they are not examined.
    """
    levels = np.full(len(scored), -1, dtype=np.int8)
    relevant = np.flatnonzero(scored[MATCH_WEIGHT].to_numpy() >= settings.review_weight)
    if len(relevant) == 0:
        return levels
    wanted_left, wanted_right = (
        scored[LEFT].to_numpy()[relevant],
        scored[RIGHT].to_numpy()[relevant],
    )
    size = max(int(dose_record_ids.max()), int(wanted_left.max()), int(wanted_right.max())) + 1
    wanted = np.zeros(size, dtype=bool)
    wanted[wanted_left] = True
    wanted[wanted_right] = True
    rows = np.flatnonzero(wanted[dose_record_ids])
    dose_frame = pd.DataFrame(
        {
            c.RECORD_ID: dose_record_ids[rows],
            # (taken from the arrays: converting a whole string column first costs more)
            c.DOSE_DATE: doses[c.DOSE_DATE].array.take(rows),
            c.PRODUCT_CODE: doses[c.PRODUCT_CODE].array.take(rows),
            c.LOT_NUMBER: doses[c.LOT_NUMBER].array.take(rows),
        }
    )
    pairs = scored.iloc[relevant][[LEFT, RIGHT]].reset_index(drop=True)
    levels[relevant] = dose_evidence(pairs, dose_frame)
    return levels


def _stated_birth_levels(
    records: pd.DataFrame, levels: pd.DataFrame, mask: np.ndarray
) -> np.ndarray:
    """Birth-date levels of the masked pairs on the dates as typed (for m estimation)."""
    codes, distinct = pd.factorize(pd.to_datetime(records[c.BIRTH_DATE]).to_numpy())
    days = np.asarray(distinct).astype("datetime64[D]")  # once per distinct date
    known = ~np.isnat(days)
    months = days.astype("datetime64[M]")
    years = months.astype("datetime64[Y]")
    key = (years.astype(np.int64) + 1970) * 10000
    key += (months - years).astype(np.int64) * 100 + 100
    key += (days - months).astype(np.int64) + 1
    day = (days - np.datetime64("1800-01-01", "D")).astype(np.int64)
    stated = records.copy(deep=False)
    stated[p.BIRTH_KEY] = np.append(np.where(known, key, 0), 0)[codes]  # code -1: no date
    stated[BIRTH_DAY] = np.append(np.where(known, day, -1), -1)[codes]
    return compare_birth_dates(
        stated, levels[LEFT].to_numpy()[mask], levels[RIGHT].to_numpy()[mask]
    )


MANUAL = "manual"


_MANUAL_LABELS = np.array(["", "same", "different"], dtype=object)


def _apply_manual(scored: pd.DataFrame, manual: ManualDecisions | None) -> np.ndarray:
    """Auditor decisions override the model's decision on the same pair.

    Returns per pair the index of its ``MANUAL`` label in ``_MANUAL_LABELS`` (0: none).
    """
    labels = np.zeros(len(scored), dtype=np.int8)
    if manual is None:
        return labels
    for label, (pairs, decision) in enumerate(
        ((manual.same, Decision.MATCH.value), (manual.different, Decision.NON_MATCH.value)),
        start=1,
    ):
        hit = _manual_hits(scored, pairs, manual)
        scored.loc[hit, DECISION] = decision
        labels[hit] = label
    return labels


def _manual_hits(
    scored: pd.DataFrame, pairs: tuple[np.ndarray, np.ndarray], manual: ManualDecisions
) -> np.ndarray:
    """True for the scored pairs among ``pairs`` (record ids, either order)."""
    a, b = pairs
    if len(scored) == 0 or len(a) == 0:
        return np.zeros(len(scored), dtype=bool)
    ends = [int(scored[LEFT].max()), int(scored[RIGHT].max())]
    ends += [int(x.max()) for both in (manual.same, manual.different) for x in both if len(x)]
    n = max(ends) + 1
    code = scored[LEFT].to_numpy() * n + scored[RIGHT].to_numpy()
    return np.isin(code, np.minimum(a, b) * n + np.maximum(a, b))


def _record_keys(records: pd.DataFrame) -> Callable[[np.ndarray], Any]:
    """``key_text`` for ``cluster_person_ids``: ``source|person_ref`` of the given records, as
    Arrow strings.

    Joined by Arrow when both columns are text categories whose Arrow form is known (as read);
    otherwise made string by string.
    """
    text = [_category_text(records[column]) for column in (c.SOURCE, c.PERSON_REF)]
    if text[0] is not None and text[1] is not None:
        import pyarrow.compute as pc

        (source_codes, source_text), (ref_codes, ref_text) = text[0], text[1]

        def joined(rows: np.ndarray) -> Any:
            return pc.binary_join_element_wise(
                source_text.take(source_codes[rows]), ref_text.take(ref_codes[rows]), "|"
            )

        return joined
    sources = records[c.SOURCE].to_numpy(dtype=object)
    refs = records[c.PERSON_REF].to_numpy(dtype=object)

    def key_strings(rows: np.ndarray) -> Any:
        pairs = zip(sources[rows].tolist(), refs[rows].tolist(), strict=True)
        try:
            return arrow_keys(np.array(list(map("|".join, pairs)), dtype=object))
        except TypeError:  # not all strings: as str() would spell them
            source = pd.Series(sources[rows]).astype(str)
            keys = source + "|" + pd.Series(refs[rows]).astype(str)
            return arrow_keys(keys.to_numpy(dtype=object))

    return key_strings


def _category_text(values: pd.Series) -> tuple[np.ndarray, Any] | None:
    """(codes, Arrow text of the categories) of a text Categorical without missing cells whose
    categories' Arrow form is known (``dictionary.known_text``); None otherwise."""
    if not is_dictionary(values):
        return None
    codes, categories = distinct(values)
    text = known_text(categories) if len(codes) and codes.min() >= 0 else None
    if text is None and len(categories) <= 1024 and len(codes) and codes.min() >= 0:
        if all(type(value) is str for value in categories.tolist()):  # few: convert them
            text = arrow_strings(categories)
    return None if text is None or text.null_count else (codes, text)


def _cluster(
    records: pd.DataFrame,
    scored: pd.DataFrame,
    manual: ManualDecisions | None,
    trusted_codes: np.ndarray,
    settings: MatchSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    match = scored[DECISION] == Decision.MATCH.value
    left = scored.loc[match, LEFT].to_numpy(dtype=np.int64)
    right = scored.loc[match, RIGHT].to_numpy(dtype=np.int64)
    weight = scored.loc[match, MATCH_WEIGHT].to_numpy(dtype=np.float64)
    if manual is not None and len(manual.same[0]):
        # Must-link pairs that blocking never produced still join, strongest of all.
        left = np.concatenate([left, manual.same[0].astype(np.int64)])
        right = np.concatenate([right, manual.same[1].astype(np.int64)])
        weight = np.concatenate([weight, np.full(len(manual.same[0]), np.inf)])
    clustering = cluster_pairs(
        len(records),
        left,
        right,
        weight,
        trusted_codes.astype(np.int64),
        cannot_link=None if manual is None else manual.different,
        ambiguity_margin=settings.ambiguity_margin,
    )
    records[c.PERSON_ID] = as_series(
        cluster_person_ids(clustering.labels, _record_keys(records)), records.index
    )
    persons = int(np.count_nonzero(np.bincount(clustering.labels))) if len(records) else 0
    if len(clustering.refused_left):
        n = len(records)
        code = scored[LEFT].to_numpy() * n + scored[RIGHT].to_numpy()
        lo = np.minimum(clustering.refused_left, clustering.refused_right)
        hi = np.maximum(clustering.refused_left, clustering.refused_right)
        hit = np.isin(code, lo * n + hi) & (scored[MANUAL] != "same").to_numpy()
        scored.loc[hit, DECISION] = Decision.REVIEW.value
        scored.loc[hit, "rules_fired"] = (
            scored.loc[hit, "rules_fired"].astype(str) + ";" + Rule.CLUSTER_CONFLICT.value
        ).str.strip(";")
        scored.loc[hit, REVIEW_REASON] = ReviewReason.CLUSTER_CONFLICT.value
    # Auditor decisions settle a pair: only pairs still in review keep a reason.
    in_review = (scored[DECISION] == Decision.REVIEW.value).to_numpy()
    scored[REVIEW_REASON] = np.where(in_review, scored[REVIEW_REASON].to_numpy(dtype=object), "")
    return scored, records, persons
