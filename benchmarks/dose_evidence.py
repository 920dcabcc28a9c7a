"""Dose sequence as match evidence (issue 4 item 5): link with and without it, same data.

Prints pairwise precision / recall / F1 of both runs and the pairs the evidence changed.
Run as ``python -m benchmarks.dose_evidence --persons 200000``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from matcher.columns import PERSON_ID, PERSON_REF, SOURCE
from matcher.decisions import DECISION
from matcher.evaluate import evaluate_clusters
from matcher.histories import compare_dose_histories
from matcher.normalise import normalise_doses
from matcher.pipeline import run_link
from matcher.settings import MatchSettings
from matcher.synthetic import SyntheticConfig, generate

TODAY = pd.Timestamp("2023-06-01")


def compare_runs(persons: int, provinces: int = 31, seed: int = 7) -> dict[str, dict[str, Any]]:
    """Scores of the link job without and with ``compare_dose_histories``."""
    data = generate(SyntheticConfig(persons, provinces, seed, legacy_exports=False))
    doses = normalise_doses(data.doses, today=TODAY).doses
    out: dict[str, dict[str, Any]] = {}
    for label, evidence in (("without", None), ("with", compare_dose_histories)):
        started = time.perf_counter()
        result = run_link(doses, MatchSettings(), dose_evidence=evidence)
        seconds = time.perf_counter() - started
        scores = evaluate_clusters(data.truth, result.records[[SOURCE, PERSON_REF, PERSON_ID]])
        out[label] = {
            "precision": scores.precision,
            "recall": scores.recall,
            "f1": scores.f1,
            "predicted_pairs": scores.predicted_pairs,
            "true_positive_pairs": scores.true_positive_pairs,
            "true_pairs": scores.true_pairs,
            "review_pairs": int((result.pairs[DECISION] == "review").sum()),
            "seconds": round(seconds, 2),
        }
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run both links; print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--provinces", type=int, default=31)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    out = compare_runs(args.persons, args.provinces, args.seed)
    print(
        f"{'dose evidence':<15}{'precision':>10}{'recall':>10}{'F1':>10}{'FP pairs':>10}{'review':>8}"
    )
    for label, s in out.items():
        fp = s["predicted_pairs"] - s["true_positive_pairs"]
        print(
            f"{label:<15}{s['precision']:>10.5f}{s['recall']:>10.5f}{s['f1']:>10.5f}"
            f"{fp:>10,}{s['review_pairs']:>8,}"
        )
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
