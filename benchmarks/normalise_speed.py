"""Time reading and normalising provincial exports (issue 2: 1M persons in under 30 s).

Run as ``python -m benchmarks.normalise_speed DIR`` on a folder written by ``vaxlink synth``
(default: generates 1M persons into a temporary folder first).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from matcher.ingest import read_exports
from matcher.normalise import normalise_doses
from matcher.synthetic import SyntheticConfig, generate, write_synthetic


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(folder: Path) -> dict[str, float]:
    """Read every export in ``folder`` and normalise it; wall times and peak memory."""
    started = time.perf_counter()
    read = read_exports([folder])
    read_s = time.perf_counter() - started
    normalised = normalise_doses(read.frame, today=pd.Timestamp("2023-06-01"))
    total_s = time.perf_counter() - started
    records = normalised.doses.groupby(["source", "person_ref"]).ngroups
    return {
        "dose_rows": float(len(read.frame)),
        "person_records": float(records),
        "rejected_rows": float(len(read.rejects) + len(normalised.rejects)),
        "read_s": round(read_s, 2),
        "normalise_s": round(total_s - read_s, 2),
        "total_s": round(total_s, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run one timing; print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, help="exports (default: synthesise)")
    parser.add_argument("--persons", type=int, default=1_000_000, help="when synthesising")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            folder = Path(tmp)
            write_synthetic(generate(SyntheticConfig(args.persons, 31, 1)), folder)
        result = measure(folder)
    print(
        f"read + normalise {result['dose_rows']:,.0f} dose rows "
        f"({result['person_records']:,.0f} person records): {result['total_s']:.1f} s "
        f"(read {result['read_s']:.1f} s, normalise {result['normalise_s']:.1f} s), "
        f"peak {result['peak_rss_mb']:,.0f} MB"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
