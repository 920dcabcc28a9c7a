"""``vaxlink evaluate``: pairwise precision/recall of a linkage, and merged-history accuracy."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from matcher.errors import VaxlinkError
from matcher.evaluate import evaluate_clusters, format_table
from matcher.evaluate_histories import evaluate_histories, format_history_table, read_histories


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``vaxlink evaluate``."""
    parser.add_argument("--truth", type=Path, required=True, help="truth.csv from vaxlink synth")
    parser.add_argument("--persons", type=Path, help="CSV with source, person_ref, person_id")
    parser.add_argument(
        "--truth-doses", type=Path, help="truth_doses.csv from vaxlink synth (with --histories)"
    )
    parser.add_argument("--histories", type=Path, help="histories.jsonl from vaxlink link")
    parser.add_argument("--json", type=Path, help="also write the scores as JSON to this file")


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise VaxlinkError(f"cannot read {path}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    """Print the score tables and the JSON; write the JSON when asked."""
    if args.persons is None and (args.truth_doses is None or args.histories is None):
        raise VaxlinkError("give --persons, or --truth-doses with --histories (or both)")
    if (args.truth_doses is None) != (args.histories is None):
        raise VaxlinkError("--truth-doses and --histories go together")
    truth = _read(args.truth)
    scores: dict[str, object] = {}
    if args.persons is not None:
        result = evaluate_clusters(truth, _read(args.persons))
        print(format_table(result))
        scores["linkage"] = result.to_dict()
    if args.histories is not None:
        try:
            records, doses, persons = read_histories(args.histories)
        except (OSError, ValueError) as exc:
            raise VaxlinkError(f"cannot read {args.histories}: {exc}") from exc
        histories = evaluate_histories(truth, _read(args.truth_doses), records, doses, persons)
        print(format_history_table(histories))
        scores["histories"] = histories.to_dict()
    if len(scores) == 1:
        (scores,) = scores.values()  # type: ignore[assignment]
    text = json.dumps(scores, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0
