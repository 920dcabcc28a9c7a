"""Time ``vaxlink synth``: generate and write N persons; print wall time and peak RSS.

Run as ``python -m benchmarks.synth_speed --persons 1000000``.
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

from matcher.synthetic import SyntheticConfig, generate, write_synthetic


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run one timing; print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--provinces", type=int, default=31)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="output directory (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        started = time.perf_counter()
        data = generate(SyntheticConfig(args.persons, args.provinces, args.seed))
        generated = time.perf_counter()
        write_synthetic(data, out)
        done = time.perf_counter()
    result = {
        "persons": float(args.persons),
        "registrations": float(len(data.truth)),
        "dose_rows": float(len(data.doses)),
        "generate_s": round(generated - started, 2),
        "write_s": round(done - generated, 2),
        "wall_s": round(done - started, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    print(
        f"synth {args.persons:,} persons: {result['wall_s']:.1f} s wall "
        f"(generate {result['generate_s']:.1f} s, write {result['write_s']:.1f} s), "
        f"peak RSS {result['peak_rss_mb']:,.0f} MB"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
