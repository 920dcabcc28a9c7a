"""Retraining with auditor decisions as labels, and what it would change, before any swap.

"same" decisions join the EM seed pairs (their match posterior is held at 1); "different"
decisions are kept out of the seeds. Both are then the labelled set on which the stored and
the re-estimated model are compared: precision and recall of automatic matches at the current
thresholds, and the thresholds the labels would suggest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.orm import Session

from api.db import repository as repo
from api.db.repository import workbench as rrepo
from api.services.record_index import DB_RECORD, normalise_stored
from matcher import columns as c
from matcher import persons as p
from matcher.blocking import block_pairs
from matcher.compare import FUZZY_PINYIN, LEFT, RIGHT, compare_pairs
from matcher.decisions import DECISION, LEVEL_DOSES, Decision, apply_rules
from matcher.histories import compare_dose_histories
from matcher.names import fuzzy_pinyin
from matcher.pipeline import train_on_candidates
from matcher.scoring import MATCH_WEIGHT, FSModel, score_pairs
from matcher.settings import MatchSettings


@dataclass(frozen=True, slots=True)
class LabelMetrics:
    """How a model does on the labelled pairs at the configured thresholds."""

    auto_matched: int  # labelled pairs the model would merge without review
    precision: float | None  # share of those an auditor called "same"
    recall: float | None  # share of "same" pairs merged automatically
    review_recall: float | None  # share of "same" pairs at least sent to review
    suggested_match: float | None  # lowest cut-off keeping precision ≥ target
    suggested_review: float | None  # highest cut-off keeping review recall ≥ target


@dataclass(frozen=True, slots=True)
class RetrainReport:
    """The re-estimated model and its comparison with the stored one."""

    records: int
    labelled_same: int
    labelled_different: int
    thresholds: tuple[float, float]  # (review, match) configured now
    old: LabelMetrics | None
    new: LabelMetrics
    decisions_changed: int  # labelled pairs whose automatic outcome would change
    model: FSModel


def _metrics(
    weights: npt.NDArray[np.float64], decisions: npt.NDArray[np.object_],
    same: npt.NDArray[np.bool_], settings: MatchSettings, target_precision: float,
    target_recall: float,
) -> LabelMetrics:  # fmt: skip
    matched = decisions == Decision.MATCH.value
    n_same = int(same.sum())
    precision = float((matched & same).sum() / matched.sum()) if matched.any() else None
    recall = float((matched & same).sum() / n_same) if n_same else None
    reviewed = weights >= settings.review_weight
    review_recall = float((reviewed & same).sum() / n_same) if n_same else None
    suggested_match = None
    for cut in np.unique(weights):
        above = weights >= cut
        if (same & above).sum() / above.sum() >= target_precision:
            suggested_match = round(float(cut), 2)
            break
    suggested_review = None
    if n_same:
        ordered = np.sort(weights[same])
        allowed = int(np.floor((1.0 - target_recall) * n_same))
        suggested_review = round(float(ordered[min(allowed, n_same - 1)]), 2)
    return LabelMetrics(
        auto_matched=int(matched.sum()), precision=precision, recall=recall,
        review_recall=review_recall, suggested_match=suggested_match,
        suggested_review=suggested_review,
    )  # fmt: skip


def retrain(
    session: Session, settings: MatchSettings, *, today: pd.Timestamp,
    target_precision: float = 0.99, target_recall: float = 0.99,
) -> RetrainReport:  # fmt: skip
    """Re-estimate the model on every stored record with the auditors' labels (no writes)."""
    doses = normalise_stored(repo.load_doses(session=session, record_ids=None), today=today)
    built = p.build_person_records(doses)
    records = built.records
    records[FUZZY_PINYIN] = fuzzy_pinyin(records[c.NAME_PINYIN])
    db = np.zeros(len(records), dtype=np.int64)
    db[built.dose_record_ids] = doses[DB_RECORD].to_numpy(dtype=np.int64)
    local = {int(d): i for i, d in enumerate(db.tolist())}
    labels = {
        (min(local[a], local[b]), max(local[a], local[b])): verdict
        for a, b, verdict in rrepo.labelled_pairs(session=session)
        if a in local and b in local and a != b
    }
    candidates, _ = block_pairs(records, settings)
    labelled = pd.DataFrame(
        {LEFT: [k[0] for k in labels], RIGHT: [k[1] for k in labels]}, dtype=np.int64
    )
    pairs = (
        pd.concat([candidates[[LEFT, RIGHT]], labelled], ignore_index=True)
        .drop_duplicates()
        .reset_index(drop=True)
    )
    levels = compare_pairs(records, pairs, jw_thresholds=settings.name_jw_thresholds)
    dose_frame = pd.DataFrame(
        {
            c.RECORD_ID: built.dose_record_ids,
            c.DOSE_DATE: doses[c.DOSE_DATE].to_numpy(),
            c.PRODUCT_CODE: doses[c.PRODUCT_CODE].to_numpy(),
            c.LOT_NUMBER: doses[c.LOT_NUMBER].to_numpy(),
        }
    )
    levels[LEVEL_DOSES] = compare_dose_histories(levels[[LEFT, RIGHT]], dose_frame)
    verdict_of = pd.Series(
        list(labels.values()),
        index=pd.MultiIndex.from_tuples(list(labels), names=[LEFT, RIGHT]),
        dtype=object,
    )
    verdicts = (
        verdict_of.reindex(pd.MultiIndex.from_frame(levels[[LEFT, RIGHT]])).fillna("").to_numpy()
        if labels
        else np.full(len(levels), "", dtype=object)
    )
    is_same, is_diff = verdicts == "same", verdicts == "different"
    model = train_on_candidates(
        records, levels, settings, labelled_same=is_same, labelled_different=is_diff
    )
    model = FSModel(
        m=model.m, u=model.u, matches_per_record=model.matches_per_record,
        em_iterations=model.em_iterations, trained_on_pairs=model.trained_on_pairs,
        notes={**model.notes, "labelled_same": int(is_same.sum()),
               "labelled_different": int(is_diff.sum()), "source": "vaxlink retrain"},
    )  # fmt: skip
    mask = is_same | is_diff
    subset = levels[mask].reset_index(drop=True)
    truth = is_same[mask]

    def outcome(fs: FSModel) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.object_]]:
        scored = apply_rules(records, score_pairs(records, subset, fs), settings)
        return (
            scored[MATCH_WEIGHT].to_numpy(dtype=np.float64),
            scored[DECISION].to_numpy(dtype=object),
        )

    stored = repo.active_model(session=session)
    old_model = FSModel.from_json_or_none(stored)
    new_w, new_d = outcome(model)
    old = None
    changed = 0
    if old_model is not None:
        old_w, old_d = outcome(old_model)
        old = _metrics(old_w, old_d, truth, settings, target_precision, target_recall)
        changed = int((old_d != new_d).sum())
    return RetrainReport(
        records=len(records), labelled_same=int(is_same.sum()),
        labelled_different=int(is_diff.sum()),
        thresholds=(settings.review_weight, settings.match_weight), old=old,
        new=_metrics(new_w, new_d, truth, settings, target_precision, target_recall),
        decisions_changed=changed, model=model,
    )  # fmt: skip


def swap_in(session: Session, report: RetrainReport) -> None:
    """Store the re-estimated model as the active one (audited)."""
    repo.save_model(
        session=session, model_json=report.model.to_json(), trained_on_records=report.records
    )
    repo.add_audit(
        session=session, actor=None, action="model.retrain",
        detail={"labelled_same": report.labelled_same,
                "labelled_different": report.labelled_different,
                "decisions_changed": report.decisions_changed},
    )  # fmt: skip
