"""``vaxlink synth``: write synthetic provincial exports with ground truth."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from matcher.synthetic import (
    CHINESE_HEADERS,
    CorruptionRates,
    SyntheticConfig,
    generate,
    write_synthetic,
)
from matcher.synthetic_scenarios import SCENARIOS, apply_scenarios

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``vaxlink synth``."""
    parser.add_argument("--persons", type=int, default=20_000, help="true persons (default 20000)")
    parser.add_argument(
        "--provinces", type=int, default=31, help="reporting provinces, most populous first"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--rates", type=Path, help="TOML file overriding corruption rates (CorruptionRates fields)"
    )
    parser.add_argument(
        "--scenario",
        default="baseline",
        help="comma-separated scenarios applied on top of the rates: "
        # argparse %-formats help texts: the descriptions' own "%" must be doubled
        + "; ".join(f"{name}: {text}" for name, (text, _) in SCENARIOS.items()).replace("%", "%%"),
    )
    parser.add_argument(
        "--legacy-exports",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the smallest province GBK-encoded with Chinese headers (default on)",
    )


def run(args: argparse.Namespace) -> int:
    """Generate and write the exports, truth.csv and truth_doses.csv."""
    rates = CorruptionRates.from_toml(args.rates) if args.rates else CorruptionRates()
    config = SyntheticConfig(
        persons=args.persons,
        provinces=args.provinces,
        seed=args.seed,
        rates=rates,
        legacy_exports=args.legacy_exports,
    )
    config = apply_scenarios(config, [s.strip() for s in args.scenario.split(",") if s.strip()])
    started = time.perf_counter()
    data = generate(config)
    paths = write_synthetic(data, args.out)
    elapsed = time.perf_counter() - started
    print(
        f"{config.persons:,} persons, {len(data.truth):,} registrations, {len(data.doses):,} dose "
        f"rows in {len(data.sources)} provinces written to {args.out} ({elapsed:.1f} s)"
    )
    if data.legacy_sources:
        headers = ", ".join(CHINESE_HEADERS.values())
        print(f"GBK-encoded with Chinese headers ({headers}): {', '.join(data.legacy_sources)}")
    logger.debug("wrote %d files", len(paths))
    return 0
