"""Pairwise precision / recall / F1 of a clustering against ground truth, from contingency counts.

Every tool in the benchmark is scored by :func:`evaluate_persons`. It uses
``matcher.evaluate.evaluate_clusters`` (so the benchmark and ``vaxlink evaluate`` agree, and
recall is broken down by corruption) and falls back to the equivalent computation below: with n_t the size
of each true person, n_p of each predicted cluster and n_tp of each (true, predicted) cell,
true pairs = Σ C(n_t, 2), predicted pairs = Σ C(n_p, 2), correct pairs = Σ C(n_tp, 2).
No pair is enumerated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from matcher.columns import PERSON_ID, PERSON_REF, SOURCE

TRUE_PERSON_ID = "true_person_id"
KEYS = [SOURCE, PERSON_REF]


def _pairs(counts: np.ndarray) -> int:
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def contingency_metrics(true_labels: np.ndarray, pred_labels: np.ndarray) -> dict[str, Any]:
    """Pairwise metrics of two labelings of the same records."""
    t_codes = pd.factorize(true_labels)[0].astype(np.int64)
    p_codes = pd.factorize(pred_labels)[0].astype(np.int64)
    true_pairs = _pairs(np.bincount(t_codes))
    pred_pairs = _pairs(np.bincount(p_codes))
    cell = t_codes * (int(p_codes.max(initial=0)) + 1) + p_codes
    correct = _pairs(np.unique(cell, return_counts=True)[1])
    precision = correct / pred_pairs if pred_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true_pairs,
        "predicted_pairs": pred_pairs,
        "correct_pairs": correct,
    }


def _align(truth: pd.DataFrame, persons: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Truth and prediction labels per registration; unpredicted registrations are singletons."""
    t = truth[[*KEYS, TRUE_PERSON_ID]].astype(str).drop_duplicates(KEYS)
    p = persons[[*KEYS, PERSON_ID]].astype(str).drop_duplicates(KEYS)
    merged = t.merge(p, on=KEYS, how="left")
    missing = merged[PERSON_ID].isna()
    merged.loc[missing, PERSON_ID] = "__single__" + merged.index[missing].astype(str)
    return merged[TRUE_PERSON_ID].to_numpy(), merged[PERSON_ID].to_numpy()


def _from_matcher(truth: pd.DataFrame, persons: pd.DataFrame) -> dict[str, Any] | None:
    """``matcher.evaluate.evaluate_clusters`` as a flat dict, or None when unavailable."""
    try:
        from matcher.evaluate import evaluate_clusters
    except ImportError:
        return None
    result = evaluate_clusters(truth, persons).to_dict()
    by_corruption = result.pop("by_corruption", {}) or {}
    result["recall_by_corruption"] = {k: v["recall"] for k, v in by_corruption.items()}
    result["correct_pairs"] = result.pop("true_positive_pairs")
    return result


def evaluate_persons(truth: pd.DataFrame, persons: pd.DataFrame) -> dict[str, Any]:
    """Precision / recall / F1 of ``persons`` (source, person_ref, person_id) against truth."""
    theirs = _from_matcher(truth, persons)
    if theirs is not None:
        return {**theirs, "evaluator": "matcher.evaluate"}
    true_labels, pred_labels = _align(truth, persons)
    ours: dict[str, Any] = dict(contingency_metrics(true_labels, pred_labels))
    return {**ours, "evaluator": "benchmarks.peers.evaluate"}


def link_metrics(predicted: pd.MultiIndex, true_links: pd.MultiIndex) -> dict[str, Any]:
    """Precision / recall / F1 of predicted links (pairs) against true links (FEBRL)."""
    pred = set(predicted.tolist())
    true = set(true_links.tolist())
    correct = len(pred & true)
    precision = correct / len(pred) if pred else 1.0
    recall = correct / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": len(true),
        "predicted_pairs": len(pred),
        "correct_pairs": correct,
    }
