"""Time merged-history building (and histories.jsonl rendering) on N synthetic persons.

Persons are linked with the ground truth (no matching), so only the history stage is timed.
Run as ``python -m benchmarks.histories_speed --persons 1000000``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from matcher.columns import PERSON_ID, PERSON_REF, SOURCE
from matcher.histories import build_histories
from matcher.history_lines import write_history_lines
from matcher.normalise import normalise_doses
from matcher.synthetic import SyntheticConfig, generate

TODAY = pd.Timestamp("2023-06-01")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _Sink(io.TextIOBase):
    """Counts characters instead of storing them (rendering time without the disk)."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run one timing; print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--provinces", type=int, default=31)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="skip histories.jsonl timing")
    args = parser.parse_args(argv)
    data = generate(SyntheticConfig(args.persons, args.provinces, args.seed, legacy_exports=False))
    doses = normalise_doses(data.doses, today=TODAY).doses
    truth = data.truth[[SOURCE, PERSON_REF, "true_person_id"]]
    doses = doses.merge(truth, on=[SOURCE, PERSON_REF], how="left", validate="many_to_one")
    doses = doses.rename(columns={"true_person_id": PERSON_ID})
    del data, truth
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    histories = build_histories(doses, today=TODAY)
    built = time.perf_counter() - started
    result = {
        "persons": float(len(histories.persons)),
        "dose_rows": float(len(doses)),
        "events": float(len(histories.events)),
        "build_s": round(built, 2),
        "peak_rss_mb_before_build": round(rss_before, 1),
        "peak_rss_mb_build": round(_peak_rss_mb(), 1),
    }
    print(
        f"build_histories: {args.persons:,} persons, {len(doses):,} dose rows → "
        f"{len(histories.events):,} events in {built:.1f} s; peak RSS {_peak_rss_mb():.0f} MB"
    )
    if not args.no_write:
        identities = doses.drop_duplicates([SOURCE, PERSON_REF])
        sink = _Sink()
        started = time.perf_counter()
        write_history_lines(histories, identities, sink)
        result["render_s"] = round(time.perf_counter() - started, 2)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "histories.jsonl"
            started = time.perf_counter()
            with path.open("w", encoding="utf-8") as handle:
                write_history_lines(histories, identities, handle)
            result["render_and_write_s"] = round(time.perf_counter() - started, 2)
            result["file_mb"] = round(os.path.getsize(path) / 2**20, 1)
        result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        print(
            f"write_history_lines: render {result['render_s']:.1f} s, render + write "
            f"{result['render_and_write_s']:.1f} s ({result['file_mb']:.0f} MB); "
            f"peak RSS {result['peak_rss_mb']:.0f} MB"
        )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
