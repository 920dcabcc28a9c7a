"""Command line: python -m benchmarks.registry_synth --persons N --provinces K --seed S --scenario A,B --out DIR."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .build import generate
from .export import write_dataset
from .rates import SCENARIOS, rates_for


def main(argv: list[str] | None = None) -> int:
    """Generate one dataset and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.registry_synth", description=__doc__
    )
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--provinces", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scenario",
        default="baseline",
        # argparse %-formats help texts: the descriptions' own "%" must be doubled
        help="comma-separated: "
        + ", ".join(f"{k} ({v[0]})" for k, v in SCENARIOS.items()).replace("%", "%%"),
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.persons < 50:
        parser.error("--persons must be at least 50")
    rates = rates_for(args.scenario)
    start = time.perf_counter()
    ds = generate(args.persons, args.provinces, args.seed, rates)
    meta = {
        "persons": args.persons,
        "provinces": args.provinces,
        "seed": args.seed,
        "scenario": args.scenario,
    }
    files = write_dataset(ds, args.out, rates, meta)
    took = time.perf_counter() - start
    print(
        f"{ds.counts['persons']} persons, {ds.counts['registrations']} registrations, {ds.counts['rows']} rows "
        f"in {len(files)} province files -> {args.out} ({took:.1f} s)"
    )
    return 0
