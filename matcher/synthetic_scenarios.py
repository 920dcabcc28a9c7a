"""Named scenarios of ``vaxlink synth``: documented departures from the default rates.

A matching change is judged on every scenario and several seeds (``benchmarks/quality_matrix``),
never on one tuned data set. Each scenario stresses one phenomenon of DOMAIN.md; scenarios
combine (``--scenario many_idless,rare_phone``), later ones applied on top of earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from matcher.errors import VaxlinkError
from matcher.synthetic import SyntheticConfig

__all__ = [
    "SCENARIOS",
    "apply_scenarios",
]

Scenario = Callable[[SyntheticConfig], SyntheticConfig]


def _baseline(config: SyntheticConfig) -> SyntheticConfig:
    return config


def _reentered_doses(config: SyntheticConfig) -> SyntheticConfig:
    schedule = replace(config.schedule, reentered_registration=0.15, reentered_dose=0.6)
    return replace(config, schedule=schedule)


def _corruption_x3(config: SyntheticConfig) -> SyntheticConfig:
    return replace(config, rates=config.rates.scaled(3.0))


def _rare_phone(config: SyntheticConfig) -> SyntheticConfig:
    return replace(config, rates=replace(config.rates, missing_phone=0.85))


def _many_idless(config: SyntheticConfig) -> SyntheticConfig:
    return replace(config, rates=replace(config.rates, missing_id=0.3))


def _all_date_formats(config: SyntheticConfig) -> SyntheticConfig:
    return replace(config, mixed_date_formats=True)


def _split_registrations(config: SyntheticConfig) -> SyntheticConfig:
    schedule = replace(config.schedule, split_registration=0.1, double_registration=0.05)
    return replace(config, schedule=schedule)


# name → (what it does, how). The descriptions are printed by ``vaxlink synth --help``.
SCENARIOS: Final[dict[str, tuple[str, Scenario]]] = {
    "baseline": ("the default rates", _baseline),
    "reentered_doses": (
        "15% of persons have a dose re-entered by another province under a new registration "
        "(own lot text and wording, some a day off); 60% of migrants' next province re-enters "
        "their last dose",
        _reentered_doses,
    ),
    "corruption_x3": ("every identity corruption rate tripled", _corruption_x3),
    "rare_phone": ("phone missing on 85% of registrations", _rare_phone),
    "many_idless": ("ID number missing on 30% of registrations", _many_idless),
    "all_date_formats": ("every date cell in one of the five formats at random", _all_date_formats),
    "split_registrations": (
        "10% of persons registered twice in their home province with their doses split, "
        "5% of those born before 2000 registered again under the 15-digit number",
        _split_registrations,
    ),
}


def apply_scenarios(config: SyntheticConfig, names: Sequence[str]) -> SyntheticConfig:
    """``config`` with the named scenarios applied in order.

    Raises:
        VaxlinkError: an unknown scenario name.
    """
    for name in names:
        if name not in SCENARIOS:
            known = ", ".join(SCENARIOS)
            raise VaxlinkError(f"unknown scenario {name!r}; known scenarios: {known}")
        config = SCENARIOS[name][1](config)
    return config
