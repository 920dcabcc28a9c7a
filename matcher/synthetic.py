"""Seeded synthetic provincial exports with ground truth, for tests, benchmarks and the demo.

``generate(config)`` draws true persons (``synthetic_people``), their doses and provincial
registrations (``synthetic_doses``), corrupts the registrations' identity fields
(``synthetic_corrupt``) and renders each province's export (``synthetic_export``).
Everything is vectorised numpy driven by one ``numpy.random.Generator``: the same config gives
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.columns import SOURCE
from matcher.errors import VaxlinkError
from matcher.synthetic_corrupt import CORRUPTIONS, CorruptionRates, make_identities
from matcher.synthetic_doses import ScheduleRates, make_doses
from matcher.synthetic_export import (
    CHINESE_HEADERS,
    TRUTH_COLUMNS,
    TRUTH_DOSE_COLUMNS,
    build_frames,
    draw_styles,
    write_csv,
)
from matcher.synthetic_people import PopulationRates, make_people
from matcher.synthetic_tables import geography

__all__ = [
    "CHINESE_HEADERS",
    "CORRUPTIONS",
    "TRUTH_COLUMNS",
    "TRUTH_DOSE_COLUMNS",
    "CorruptionRates",
    "PopulationRates",
    "ScheduleRates",
    "SyntheticConfig",
    "SyntheticData",
    "generate",
    "write_synthetic",
]


@dataclass(frozen=True, slots=True)
class SyntheticConfig:
    """What to generate.

    Attributes:
        persons: number of true persons.
        provinces: number of reporting provinces (the most populous ones, 1-31).
        seed: seed of the random generator.
        legacy_exports: write the smallest reporting province GBK-encoded with Chinese
            headers (only when there are at least two provinces).
        mixed_date_formats: every date cell in a format of its own (else one per province).
    """

    persons: int
    provinces: int = 31
    seed: int = 0
    rates: CorruptionRates = field(default_factory=CorruptionRates)
    population: PopulationRates = field(default_factory=PopulationRates)
    schedule: ScheduleRates = field(default_factory=ScheduleRates)
    legacy_exports: bool = True
    mixed_date_formats: bool = False


@dataclass(frozen=True, slots=True)
class SyntheticData:
    """Generated exports and ground truth.

    Attributes:
        doses: canonical export rows of every province, sorted by source and person_ref.
        truth: ``TRUTH_COLUMNS``, one row per (source, person_ref).
        truth_doses: ``TRUTH_DOSE_COLUMNS``, the true dose events.
        sources: reporting province codes, most populous first.
        legacy_sources: sources written GBK-encoded with Chinese headers.
    """

    doses: pd.DataFrame
    truth: pd.DataFrame
    truth_doses: pd.DataFrame
    sources: tuple[str, ...]
    legacy_sources: tuple[str, ...]


def reporting_provinces(k: int) -> np.ndarray:
    """Geography indices of the ``k`` most populous mainland provinces, most populous first."""
    geo = geography()
    if not 1 <= k <= len(geo.codes):
        raise VaxlinkError(f"--provinces must be between 1 and {len(geo.codes)}, got {k}")
    return np.argsort(-geo.population, kind="stable")[:k].astype(np.int64)


def generate(config: SyntheticConfig) -> SyntheticData:
    """Generate the exports and ground truth described by ``config``."""
    if config.persons < 1:
        raise VaxlinkError(f"--persons must be at least 1, got {config.persons}")
    reporting = reporting_provinces(config.provinces)
    rng = np.random.default_rng(config.seed)
    styles = draw_styles(rng)
    people = make_people(config.persons, reporting, rng, config.population)
    doses = make_doses(people, reporting, rng, config.schedule)
    identities = make_identities(people, doses, rng, config.rates)
    export, truth, truth_doses = build_frames(
        doses, identities, rng, styles, mixed_date_formats=config.mixed_date_formats
    )
    codes = tuple(str(c) for c in geography().codes[reporting])
    legacy = (codes[-1],) if config.legacy_exports and len(codes) >= 2 else ()
    return SyntheticData(export, truth, truth_doses, codes, legacy)


def write_synthetic(data: SyntheticData, out_dir: Path) -> list[Path]:
    """Write ``<code>.csv`` per province, ``truth.csv`` and ``truth_doses.csv``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    codes = data.doses[SOURCE].to_numpy()
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        code = str(codes[start])
        path = out_dir / f"{code}.csv"
        write_csv(data.doses.iloc[start:stop], path, legacy=code in data.legacy_sources)
        paths.append(path)
    for name, frame in (("truth.csv", data.truth), ("truth_doses.csv", data.truth_doses)):
        write_csv(frame, out_dir / name)
        paths.append(out_dir / name)
    return paths
