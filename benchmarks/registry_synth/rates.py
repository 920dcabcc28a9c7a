"""Rates of every modelled phenomenon (one frozen dataclass) and the scenario overrides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True, slots=True)
class Rates:
    """Probabilities; 'reg' = per registration, 'row' = per dose report, 'pp' = per person."""

    # --- population (pp) ---
    child_share: float = 0.16  # aged 3-17 in 2021
    twin_child: float = 0.012  # children who have a twin in the data
    twin_adult: float = 0.004
    guardian_id_child: float = 0.03  # children registered under a guardian's ID
    guardian_vaccinated: float = 0.6  # ... whose guardian is in the data under that ID
    namesake: float = 0.003  # persons cloned as same name + birth date + county namesakes
    hk: float = 0.003
    macao: float = 0.001
    taiwan: float = 0.002
    foreign: float = 0.003
    minority_elsewhere: float = 0.004  # minority names outside 65/54/15
    rare_char: float = 0.002  # given name holds a 生僻字
    elderly_family_phone: float = 0.3  # 70+ giving a relative's phone
    # --- where doses are given (pp) ---
    migrant: float = 0.10  # adults 18-59 vaccinated in 2+ provinces
    migrant_third: float = 0.15  # of migrants, a third province
    trip_dose: float = 0.01  # one dose given on a trip to another province
    # --- registrations ---
    split_registration: float = 0.02  # (person, province) with 2+ doses registered twice
    split_shared_dose: float = 0.2  # of splits, the new registration re-reports a dose
    reentry: float = 0.3  # a province re-enters an earlier dose given elsewhere
    reentry_new_registration: float = 0.5  # ... as a new registration holding only that dose
    reentry_no_local_dose: float = 0.01  # pp: re-entry in a province that gave no dose
    reentry_date_shift: float = 0.2  # re-entered date off by one day
    reentry_lot_retyped: float = 0.6  # lot re-typed (case, separators, a typo)
    reentry_lot_missing: float = 0.1
    reentry_generic_product: float = 0.3  # product written generically (新冠疫苗)
    duplicate_upload: float = 0.015  # row: the same dose uploaded twice
    dose_date_missing: float = 0.1  # of duplicate rows, the copy lost its dose date
    split_identity_variation: float = 0.5  # of split registrations, identity typed differently
    birth_certificate: float = 0.002  # child registrations under the 出生医学证明 number
    cn_passport: float = 0.001  # adult resident registrations under a Chinese passport
    # --- identity collection ---
    id_missing: float = 0.012  # reg: no ID at all
    idless_province: float = 0.15  # reg: ID-less share in the one ID-lax province
    phone_collected: float = 0.92  # reg
    # --- identity corruption (reg; multiplied by corruption_x3) ---
    id_15digit: float = 0.004  # of people born before 1985
    id_typo_substitution: float = 0.004
    id_typo_transposition: float = 0.002
    id_excel_scientific: float = 0.0015
    id_excel_000: float = 0.0015
    id_fullwidth: float = 0.002
    id_spaces: float = 0.002
    id_apostrophe: float = 0.004
    id_lowercase_x: float = 0.2  # of IDs ending in X
    id_placeholder: float = 0.0015
    name_traditional: float = 0.004
    name_homophone: float = 0.006
    name_pinyin: float = 0.002
    name_missing_char: float = 0.002
    name_extra_char: float = 0.001
    name_spacing: float = 0.002
    name_missing: float = 0.001
    name_order_swapped: float = 0.4  # of Latin-name registrations
    name_dot_variant: float = 0.4  # of dotted minority-name registrations
    name_rare_char_substituted: float = 0.5  # of registrations of rare-character holders
    birth_date_typo: float = 0.002  # a digit changed, still a real date
    birth_date_impossible: float = 0.002  # a digit changed into a non-date (1966-90-20)
    birth_date_future: float = 0.0005
    birth_date_md_swapped: float = 0.002
    birth_date_missing: float = 0.003
    birth_date_jan1: float = 0.01  # of registrations of people 60+: recorded as born 1 January
    sex_missing: float = 0.006
    sex_contradicts_id: float = 0.002
    phone_changed: float = 0.03
    phone_typo: float = 0.004
    phone_landline: float = 0.004
    no_name_no_id: float = 0.001
    # --- rendering ---
    date_format_mixing: float = 0.1  # row: a format other than the province's own
    gbk_provinces: int = 1  # provinces whose file is GBK with Chinese headers


# Fields multiplied by the corruption_x3 scenario.
IDENTITY_CORRUPTION = tuple(
    f.name
    for f in fields(Rates)
    if f.name.startswith(
        ("id_", "name_", "birth_date_", "sex_", "phone_changed", "phone_typo", "phone_landline")
    )
    or f.name == "no_name_no_id"
)


def _scale(rates: Rates, names: tuple[str, ...], factor: float) -> Rates:
    return replace(rates, **{n: min(1.0, getattr(rates, n) * factor) for n in names})


SCENARIOS: dict[str, tuple[str, Callable[[Rates], Rates]]] = {
    "baseline": ("the defaults above", lambda r: r),
    "reentered_doses": (
        "re-entry 0.85 of opportunities, 0.85 of them as new registrations; 0.05 re-entries with no local dose; migrants 0.2",
        lambda r: replace(
            r, reentry=0.85, reentry_new_registration=0.85, reentry_no_local_dose=0.05, migrant=0.2
        ),
    ),
    "corruption_x3": (
        "every identity-corruption rate (id_*, name_*, birth_date_*, sex_*, phone change/typo/landline, no_name_no_id) x3",
        lambda r: _scale(r, IDENTITY_CORRUPTION, 3.0),
    ),
    "rare_phone": (
        "phone collected on 15 % of registrations",
        lambda r: replace(r, phone_collected=0.15),
    ),
    "many_idless": (
        "30 % of registrations without an ID (45 % in the ID-lax province)",
        lambda r: replace(r, id_missing=0.30, idless_province=0.45),
    ),
    "all_date_formats": (
        "every province writes every date format (row-level format uniform over the five)",
        lambda r: replace(r, date_format_mixing=1.0),
    ),
    "split_registrations": (
        "15 % of (person, province) with 2+ doses split into two registrations, 30 % re-reporting a dose",
        lambda r: replace(r, split_registration=0.15, split_shared_dose=0.3),
    ),
}


def rates_for(scenarios: str) -> Rates:
    """Rates for a comma-separated scenario list, applied left to right over the defaults."""
    rates = Rates()
    for name in (s.strip() for s in scenarios.split(",") if s.strip()):
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
        rates = SCENARIOS[name][1](rates)
    return rates
