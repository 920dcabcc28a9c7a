"""``vaxlink retrain``: re-estimate the model with auditor decisions as labels, report how
precision/recall on the labelled pairs and the thresholds would move, then swap only on
``--apply`` or a confirmed prompt."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from api.config import Settings
from api.db.engine import Database
from api.services.linking import usable
from api.services.retraining import LabelMetrics, RetrainReport, retrain, swap_in


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vaxlink retrain``."""
    parser.add_argument("--apply", action="store_true", help="swap the new model in, no prompt")
    parser.add_argument(
        "--target-precision", type=float, default=0.99,
        help="precision the suggested match threshold must keep on labelled pairs",
    )  # fmt: skip
    parser.add_argument(
        "--target-recall", type=float, default=0.99,
        help="share of 'same' pairs the suggested review threshold must keep",
    )  # fmt: skip


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _row(name: str, m: LabelMetrics | None) -> str:
    if m is None:
        return f"  {name:<10} (no stored model)"
    return (
        f"  {name:<10} auto-merged {m.auto_matched:>6,}  precision {_pct(m.precision)}  "
        f"recall {_pct(m.recall)}  to-review-or-merged {_pct(m.review_recall)}  "
        f"suggested review/match {_num(m.suggested_review)} / {_num(m.suggested_match)}"
    )


def format_report(report: RetrainReport) -> str:
    """The comparison as text."""
    review, match = report.thresholds
    return "\n".join(
        [
            f"records: {report.records:,}; labelled pairs: {report.labelled_same:,} same, "
            f"{report.labelled_different:,} different",
            f"thresholds now: review {review:.2f}, match {match:.2f}",
            _row("stored", report.old),
            _row("retrained", report.new),
            f"labelled pairs whose automatic outcome would change: {report.decisions_changed:,}",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Retrain, report, and swap on --apply or confirmation (dry run when not interactive)."""
    settings = Settings()
    database = Database(settings)
    database.migrate()
    try:
        with database.transaction() as session:
            report = retrain(
                session, settings.matching, today=pd.Timestamp.today().normalize(),
                target_precision=args.target_precision, target_recall=args.target_recall,
            )  # fmt: skip
            print(format_report(report))
            if report.labelled_same + report.labelled_different == 0:
                print("no auditor decisions yet: nothing to learn from; model unchanged")
                return 1
            if not usable(report.model):
                print("the re-estimated model is not usable (too few pairs); model unchanged")
                return 1
            apply = args.apply
            if not apply and sys.stdin.isatty():
                answer = input("swap the retrained model in? [y/N] ").strip().lower()
                apply = answer in ("y", "yes")
            if not apply:
                print("dry run: model unchanged (use --apply to swap it in)")
                return 0
            swap_in(session, report)
        print(
            "model swapped in; new links use it. Thresholds are settings "
            "(VAXLINK_MATCHING__MATCH_WEIGHT / __REVIEW_WEIGHT); run `vaxlink relink --keep-model` "
            "to apply the model to every stored record."
        )
        return 0
    finally:
        database.dispose()
