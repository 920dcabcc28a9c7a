"""True dose schedules per person, provincial registrations, and the dose rows each reports.

Schedules follow DOMAIN.md §4 with intervals from ``matcher.vaccines.CATALOGUE``; a migrant's
doses are split over 2-3 provinces in date order, and some provinces re-enter a dose given
elsewhere (a historical copy of the same event): the migrant's next province in its own
registration, or any other province under a new registration holding only that dose, typed
from the paper certificate (its own lot text and product wording, sometimes a day off). Some
persons are registered twice in one province and their doses there split between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from matcher.synthetic_people import People, ymd
from matcher.synthetic_tables import geography
from matcher.vaccines import CATALOGUE

__all__ = [
    "PRODUCTS",
    "Doses",
    "ScheduleRates",
    "make_doses",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

PRODUCTS: Final = ("BBIBP", "WIBP", "CORONAVAC", "KCONVAC", "IMBCAMS", "AD5", "AD5_INH", "ZF2001")
BBIBP, WIBP, CORONAVAC, KCONVAC, IMBCAMS, AD5, AD5_INH, ZF2001 = range(len(PRODUCTS))
_MIN_INTERVAL: Final = np.asarray([CATALOGUE[c].min_interval_days for c in PRODUCTS])
_PRIMARY: Final = np.asarray([CATALOGUE[c].primary_doses for c in PRODUCTS])
_INACTIVATED: Final = np.asarray([CATALOGUE[c].platform == "inactivated" for c in PRODUCTS])
_ZF_SERIES_MAX: Final = CATALOGUE["ZF2001"].series_max_days or 183
_LOT_LETTERS: Final = "BWKTCAHZ"


def _day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


FIRST_DAY: Final = _day("2021-01-01")
LAST_DAY: Final = _day("2022-12-31")
HETEROLOGOUS_FROM: Final = _day("2022-02-19")
INHALED_FROM: Final = _day("2022-09-04")
BOOSTER_GAP: Final = 185  # ≥ 6 calendar months (at most 184 days) after the primary series
# Adult primary product mix (BBIBP, WIBP, CORONAVAC, KCONVAC, IMBCAMS, AD5, AD5_INH, ZF2001).
_ADULT_MIX: Final = (0.32, 0.12, 0.35, 0.05, 0.02, 0.07, 0.0, 0.07)


@dataclass(frozen=True, slots=True)
class ScheduleRates:
    """Shares that shape schedules, registrations and duplicated reports."""

    migrants: float = 0.15
    """Share of persons vaccinated in more than one province."""
    three_provinces: float = 0.2
    """Share of migrants vaccinated in three provinces (the rest: two)."""
    mixed_makers: float = 0.05
    """Share of 2-dose inactivated series whose dose 2 comes from another maker."""
    incomplete: float = 0.04
    """Share of persons who got only their first dose."""
    booster: float = 0.65
    """Share of adults with a complete primary series (not ZF2001) who get a booster."""
    double_registration: float = 0.02
    """Share of persons born before 2000 registered twice in one province (15- and 18-digit ID)."""
    reentered_dose: float = 0.3
    """Share of migrants whose next province re-enters the last dose given elsewhere."""
    reentered_registration: float = 0.02
    """Share of persons one of whose doses another province re-enters under a new registration
    holding only that dose (lot re-typed, other product wording, sometimes dated a day off)."""
    split_registration: float = 0.01
    """Share of persons registered twice in their home province, their doses there split
    between the two registrations (the later doses under the second)."""


@dataclass(slots=True)
class Doses:
    """True dose events, registrations, and the dose rows provinces report."""

    # True events (one per dose actually given).
    person: IntArray
    day: IntArray
    product: IntArray  # index into PRODUCTS
    number: IntArray  # true dose number 1..n
    booster: BoolArray
    province: IntArray  # administering province (geography index)
    site: StrArray
    lot: StrArray
    # Registrations (one person record per province system; some persons have two in one).
    reg_person: IntArray
    reg_province: IntArray
    reg_dup15: BoolArray  # the second, 15-digit registration of a double registration
    reg_retyped: BoolArray  # a new registration re-entering one dose given elsewhere
    reg_split: BoolArray  # the second registration of a person split within one province
    # Reported rows: a true event as one registration reports it.
    row_reg: IntArray
    row_event: IntArray
    row_historical: BoolArray  # re-entered copy of an event given elsewhere
    row_retyped: BoolArray  # typed again from the certificate (lot, wording, date may differ)


def _lot_table(rng: np.random.Generator) -> StrArray:
    """Lot numbers per (product, month since 2021-01, variant): e.g. ``202106B0417``."""
    months = np.arange(24)
    yyyymm = (2021 + months // 12) * 100 + months % 12 + 1
    table = [
        [[f"{ym}{_LOT_LETTERS[p]}{n:04d}" for n in rng.integers(1, 9999, size=6)] for ym in yyyymm]
        for p in range(len(PRODUCTS))
    ]
    return np.asarray(table, dtype=np.str_)


def _primary_schedule(
    people: People, rng: np.random.Generator, rates: ScheduleRates
) -> tuple[IntArray, IntArray]:
    """(n, 3) dose days and products; -1 day for doses not given."""
    n = people.size
    age = people.age()
    start = np.select(
        [age < 12, age < 18, age >= 60],
        [_day("2021-10-25"), _day("2021-07-15"), _day("2021-03-25")],
        default=_day("2021-01-15"),
    )
    first = start + (rng.beta(1.3, 4.0, size=n) * (_day("2022-10-31") - start)).astype(np.int64)
    adult = age >= 18
    product1 = np.where(
        adult,
        rng.choice(len(PRODUCTS), size=n, p=_ADULT_MIX),
        np.where(rng.random(n) < 0.45, BBIBP, CORONAVAC),
    )
    inact = _INACTIVATED[product1]
    mixed = inact & (rng.random(n) < rates.mixed_makers)
    other = np.asarray([BBIBP, WIBP, CORONAVAC])[rng.integers(0, 3, size=n)]
    other = np.where(other == product1, np.where(product1 == CORONAVAC, BBIBP, CORONAVAC), other)
    product2 = np.where(mixed, other, product1)
    extra1 = np.minimum(rng.exponential(8.0, size=n), 60).astype(np.int64)
    extra2 = np.minimum(rng.exponential(10.0, size=n), 60).astype(np.int64)
    gap1 = np.maximum(_MIN_INTERVAL[product1], _MIN_INTERVAL[product2]) + extra1
    gap2 = _MIN_INTERVAL[ZF2001] + extra2
    days = np.full((n, 3), -1, dtype=np.int64)
    products = np.stack([product1, product2, product1], axis=1)
    days[:, 0] = first
    two = _PRIMARY[product1] >= 2
    days[two, 1] = first[two] + gap1[two]
    zf = product1 == ZF2001
    days[zf, 2] = np.minimum(days[zf, 1] + gap2[zf], first[zf] + _ZF_SERIES_MAX)
    days[rng.random(n) < rates.incomplete, 1:] = -1

    # Booster after a complete inactivated or Ad5 series (adults only).
    slot = np.where(product1 == AD5, 1, 2)
    last = np.where(product1 == AD5, first, days[:, 1])
    complete = (last >= 0) & ~zf
    boosted = complete & adult & (rng.random(n) < rates.booster)
    bday = last + BOOSTER_GAP + rng.exponential(70.0, size=n).astype(np.int64)
    u = rng.random(n)
    hetero = inact & (bday >= HETEROLOGOUS_FROM)
    bproduct = np.where(product1 == AD5, AD5, product2)
    bproduct = np.where(hetero & (u < 0.15), ZF2001, bproduct)
    bproduct = np.where(hetero & (u >= 0.15) & (u < 0.25), AD5, bproduct)
    bproduct = np.where(
        hetero & (u >= 0.25) & (u < 0.30) & (bday >= INHALED_FROM), AD5_INH, bproduct
    )
    rows = np.flatnonzero(boosted)
    days[rows, slot[rows]] = bday[rows]
    products[rows, slot[rows]] = bproduct[rows]
    days[days > LAST_DAY] = -1
    # A dose after an unreported one cannot exist: keep the given doses a prefix.
    days[:, 2] = np.where(days[:, 1] < 0, -1, days[:, 2])
    return days, products


def _other_provinces(
    people: People, reporting: IntArray, rng: np.random.Generator, rates: ScheduleRates
) -> tuple[IntArray, IntArray]:
    """(n, 3) province per slot (geography index) and the number of provinces per person."""
    n, k = people.size, len(reporting)
    position = np.zeros(int(reporting.max()) + 1, dtype=np.int64)
    position[reporting] = np.arange(k)
    home = position[people.residence]
    migrant = rng.random(n) < rates.migrants if k >= 2 else np.zeros(n, dtype=bool)
    three = migrant & (rng.random(n) < rates.three_provinces) if k >= 3 else np.zeros(n, bool)
    o1 = 1 + rng.integers(0, max(k - 1, 1), size=n)
    o2 = 1 + rng.integers(0, max(k - 2, 1), size=n)
    o2 = np.where(o2 >= o1, o2 + 1, o2)
    slots = np.stack([home, (home + o1) % k, (home + o2) % k], axis=1)
    count = 1 + migrant.astype(np.int64) + three.astype(np.int64)
    return reporting[slots], count


def make_doses(
    people: People,
    reporting: IntArray,
    rng: np.random.Generator,
    rates: ScheduleRates = ScheduleRates(),  # noqa: B008 - frozen dataclass
) -> Doses:
    """Schedules, registrations and reported rows for ``people`` in the reporting provinces."""
    n = people.size
    days, products = _primary_schedule(people, rng, rates)
    given = days >= 0
    n_doses = given.sum(axis=1)
    slot_province, n_prov = _other_provinces(people, reporting, rng, rates)
    m = np.minimum(n_prov, n_doses)
    col = np.arange(3)[None, :]
    r = rng.random(n)[:, None]
    slot = np.minimum(m[:, None] - 1, ((col + r) * m[:, None] / n_doses[:, None]).astype(np.int64))

    # Registrations: one per (person, slot), plus 15-digit duplicates in the home province.
    year = ymd(people.birth)[0]
    dup = (year < 2000) & (rng.random(n) < rates.double_registration)
    reg_of = np.full((n, 3), -1, dtype=np.int64)
    persons_parts, province_parts = [], []
    total = 0
    for s in range(3):
        who = np.flatnonzero(m > s)
        reg_of[who, s] = total + np.arange(len(who))
        persons_parts.append(who)
        province_parts.append(slot_province[who, s])
        total += len(who)
    dup_who = np.flatnonzero(dup)
    dup_reg = np.full(n, -1, dtype=np.int64)
    dup_reg[dup_who] = total + np.arange(len(dup_who))
    reg_person = np.concatenate([*persons_parts, dup_who])
    reg_province = np.concatenate([*province_parts, slot_province[dup_who, 0]])
    reg_dup15 = np.zeros(len(reg_person), dtype=bool)
    reg_dup15[total:] = True

    # True events.
    ev_person, ev_col = np.nonzero(given)
    ev_slot = slot[ev_person, ev_col]
    ev_day = days[ev_person, ev_col]
    ev_product = products[ev_person, ev_col]
    ev_province = slot_province[ev_person, ev_slot]
    primary_n = _PRIMARY[products[:, 0]][ev_person]
    geo = geography()
    n_sites = geo.sites.shape[1]
    reg_site = rng.integers(0, n_sites, size=len(reg_person))
    ev_reg = reg_of[ev_person, ev_slot]
    site_idx = np.where(
        rng.random(len(ev_reg)) < 0.85, reg_site[ev_reg], rng.integers(0, n_sites, len(ev_reg))
    )
    y, mo, _ = ymd(ev_day)
    lots = _lot_table(rng)[ev_product, (y - 2021) * 12 + mo - 1, rng.integers(0, 6, len(ev_reg))]

    # Rows: each event in its registration; a double registration takes the home province's
    # first dose (or reports the only one again); migrants' next province re-enters a dose.
    in_home = ev_slot == 0
    home_count = np.bincount(ev_person[in_home], minlength=n)
    to_dup = in_home & dup[ev_person] & (ev_col == 0)
    row_reg = np.where(to_dup & (home_count[ev_person] >= 2), dup_reg[ev_person], ev_reg)
    events = np.arange(len(ev_person))
    again = np.flatnonzero(to_dup & (home_count[ev_person] == 1))
    reenter = rng.random(n) < rates.reentered_dose
    nxt = np.flatnonzero((ev_col < 2) & (slot[ev_person, np.minimum(ev_col + 1, 2)] == ev_slot + 1))
    nxt = nxt[given[ev_person[nxt], ev_col[nxt] + 1] & reenter[ev_person[nxt]]]
    hist_reg = reg_of[ev_person[nxt], ev_slot[nxt] + 1]

    # A dose re-entered under a new registration of another province (holding only that dose).
    retyped_ev = np.flatnonzero(rng.random(len(ev_person)) < _per_event(rates, ev_person, n))
    retype_reg = len(reg_person) + np.arange(len(retyped_ev))
    k = len(reporting)
    position = np.zeros(int(reporting.max()) + 1, dtype=np.int64)
    position[reporting] = np.arange(k)
    shift = 1 + rng.integers(0, max(k - 1, 1), size=len(retyped_ev))
    retype_prov = reporting[(position[ev_province[retyped_ev]] + shift) % k]
    reg_person = np.concatenate([reg_person, ev_person[retyped_ev]])
    reg_province = np.concatenate([reg_province, retype_prov])

    # A second registration in the home province holding the person's later doses there.
    split = rng.random(n) < rates.split_registration
    split_who = np.flatnonzero(split & (home_count >= 2) & ~dup)
    split_reg = np.full(n, -1, dtype=np.int64)
    split_reg[split_who] = len(reg_person) + np.arange(len(split_who))
    reg_person = np.concatenate([reg_person, split_who])
    reg_province = np.concatenate([reg_province, slot_province[split_who, 0]])
    first_home = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_home, ev_person[in_home], ev_col[in_home])
    moved = in_home & (split_reg[ev_person] >= 0) & (ev_col > first_home[ev_person])
    row_reg = np.where(moved, split_reg[ev_person], row_reg)
    reg_dup15 = np.concatenate([reg_dup15, np.zeros(len(reg_person) - len(reg_dup15), bool)])
    reg_retyped = np.zeros(len(reg_person), dtype=bool)
    reg_retyped[retype_reg] = True
    reg_split = np.zeros(len(reg_person), dtype=bool)
    reg_split[split_reg[split_who]] = True

    n_rows = len(events) + len(again) + len(nxt)
    return Doses(
        person=ev_person,
        day=ev_day,
        product=ev_product,
        number=ev_col + 1,
        booster=ev_col >= primary_n,
        province=ev_province,
        site=geo.sites[ev_province, site_idx],
        lot=lots,
        reg_person=reg_person,
        reg_province=reg_province,
        reg_dup15=reg_dup15,
        reg_retyped=reg_retyped,
        reg_split=reg_split,
        row_reg=np.concatenate([row_reg, dup_reg[ev_person[again]], hist_reg, retype_reg]),
        row_event=np.concatenate([events, again, nxt, retyped_ev]),
        row_historical=np.concatenate(
            [
                np.zeros(len(events) + len(again), dtype=bool),
                np.ones(len(nxt) + len(retyped_ev), dtype=bool),
            ]
        ),
        row_retyped=np.r_[np.zeros(n_rows, dtype=bool), np.ones(len(retyped_ev), dtype=bool)],
    )


def _per_event(rates: ScheduleRates, ev_person: IntArray, n: int) -> float:
    """Chance per event of a re-entry under a new registration, so that about
    ``rates.reentered_registration`` of persons get one (one draw per dose)."""
    doses_per_person = np.bincount(ev_person, minlength=n)
    mean = float(doses_per_person[doses_per_person > 0].mean()) if len(ev_person) else 1.0
    return min(rates.reentered_registration / mean, 1.0)
