"""``vaxlink evaluate``: pairwise precision/recall of a linkage against ground truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from matcher.errors import VaxlinkError
from matcher.evaluate import evaluate_clusters, format_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``vaxlink evaluate``."""
    parser.add_argument("--truth", type=Path, required=True, help="truth.csv from vaxlink synth")
    parser.add_argument(
        "--persons", type=Path, required=True, help="CSV with source, person_ref, person_id"
    )
    parser.add_argument("--json", type=Path, help="also write the scores as JSON to this file")


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise VaxlinkError(f"cannot read {path}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    """Print the score table and the JSON; write the JSON when asked."""
    result = evaluate_clusters(_read(args.truth), _read(args.persons))
    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    print(format_table(result))
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0
