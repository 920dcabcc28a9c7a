"""Dose sequence as match evidence: precision not lower, recall not lower by > 0.001."""

from __future__ import annotations

from benchmarks.dose_evidence import compare_runs


def test_dose_evidence_keeps_recall_and_precision() -> None:
    scores = compare_runs(1000, provinces=6, seed=11)
    without, with_ = scores["without"], scores["with"]
    assert with_["precision"] >= without["precision"]
    assert with_["recall"] >= without["recall"] - 0.001
    assert with_["recall"] >= 0.98
