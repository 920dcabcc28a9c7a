"""True synthetic persons: demographics, families (guardians, twins), ID numbers and phones.

All steps are vectorised over the whole population; a person is an index into the arrays of
``People``. Dates are whole days since 1970-01-01 (int64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from matcher.resident_id import check_bytes
from matcher.synthetic_tables import geography, given_name_pool, surname_pool

__all__ = [
    "CHILD_AGE",
    "People",
    "PopulationRates",
    "bytes_to_str",
    "make_people",
    "ymd",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ByteMatrix = npt.NDArray[np.uint8]

REFERENCE_DAY: Final = int(np.datetime64("2021-06-01", "D").astype(np.int64))
CHILD_AGE: Final = 14  # under 14: registered with a guardian (PIPL art. 28 threshold)
MIN_AGE: Final = 3
MAX_AGE: Final = 95
# Population share per 5-year band from age 0 (2020 census, percent, rounded).
_AGE_BANDS: Final = (5.7, 6.3, 6.3, 5.1, 5.3, 6.4, 8.6, 7.0, 6.6, 8.2, 8.7, 7.1, 5.2, 5.6, 3.9,
                     2.4, 1.6, 0.8, 0.3, 0.1)  # fmt: skip
_MOBILE_PREFIXES: Final = (130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153,
                           155, 156, 157, 158, 159, 166, 173, 176, 177, 178, 180, 181, 182, 183,
                           184, 185, 186, 187, 188, 189, 191, 198, 199)  # fmt: skip
_POW10_17: Final = 10 ** np.arange(16, -1, -1, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class PopulationRates:
    """Shares that shape the true population (not corruptions)."""

    twins: float = 0.01
    """Share of persons who are one of a pair of twins."""
    guardian_surname: float = 0.9
    """Share of children who carry their guardian's surname."""
    guardian_county: float = 0.8
    """Share of children whose ID address code is their guardian's."""
    born_elsewhere: float = 0.25
    """Share of persons born (ID address code) outside the province they live in."""
    twins_same_sex: float = 0.6
    """Share of twin pairs of the same sex."""
    twins_same_phone: float = 0.7
    """Share of adult twin pairs registered with the same phone."""


@dataclass(slots=True)
class People:
    """The true persons, one entry per array position."""

    residence: IntArray  # province index (geography order)
    county: IntArray  # 6-digit address code of the ID number
    male: BoolArray
    birth: IntArray  # days since 1970-01-01
    surname: IntArray  # index into surname_pool()
    given: IntArray  # index into given_name_pool("M") or ("F") by sex
    seq: IntArray  # 3-digit sequence code
    phone: IntArray  # 11-digit mobile number
    guardian: IntArray  # index of the guardian, -1 for none
    twin: IntArray  # index of the other twin, -1 for none
    id18: ByteMatrix  # (n, 18) ASCII bytes of the resident ID number

    @property
    def size(self) -> int:
        """Number of persons."""
        return len(self.male)

    def age(self, day: int = REFERENCE_DAY) -> IntArray:
        """Age in whole years (365.25-day years) at ``day``."""
        return ((day - self.birth) / 365.25).astype(np.int64)


def ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month, day of days since 1970-01-01."""
    dt = days.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dt - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def id_digits(county: IntArray, birth: IntArray, seq: IntArray) -> ByteMatrix:
    """18-character resident ID numbers as an (n, 18) ASCII byte matrix, check char included."""
    year, month, day = ymd(birth)
    first17 = county * 10**11 + (year * 10000 + month * 100 + day) * 1000 + seq
    digits = (first17[:, None] // _POW10_17) % 10
    check = check_bytes(np.ascontiguousarray(digits.T).astype(np.uint8))
    out = np.empty((len(county), 18), dtype=np.uint8)
    out[:, :17] = digits + ord("0")
    out[:, 17] = check
    return out


def bytes_to_str(matrix: ByteMatrix) -> npt.NDArray[np.str_]:
    """Rows of an ASCII byte matrix as a numpy unicode array."""
    width = matrix.shape[1]
    return np.ascontiguousarray(matrix).view(f"S{width}").ravel().astype(f"U{width}")


def _draw_seq(rng: np.random.Generator, male: BoolArray) -> IntArray:
    # Sequence codes 1..994, odd for men, even for women; 995-999 avoided (century rule).
    return rng.integers(0, 497, size=len(male)) * 2 + np.where(male, 1, 2)


def _draw_given(rng: np.random.Generator, male: BoolArray) -> IntArray:
    given = np.empty(len(male), dtype=np.int64)
    for sex, mask in (("M", male), ("F", ~male)):
        pool = given_name_pool(sex)
        given[mask] = rng.choice(len(pool.names), size=int(mask.sum()), p=pool.weights)
    return given


def _sample_within(
    rng: np.random.Generator, groups: IntArray, candidates: IntArray, wanted: IntArray
) -> IntArray:
    """For each group in ``wanted``, a random candidate with that group (-1 when none)."""
    order = candidates[np.argsort(groups[candidates], kind="stable")]
    n_groups = int(max(groups.max(initial=0), wanted.max(initial=0))) + 1
    counts = np.bincount(groups[order], minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    count = counts[wanted]
    pick = starts[wanted] + (rng.random(len(wanted)) * np.maximum(count, 1)).astype(np.int64)
    found = order[np.minimum(pick, len(order) - 1)] if len(order) else np.zeros_like(wanted)
    return np.where(count > 0, found, -1)


def make_people(
    n: int,
    provinces: IntArray,
    rng: np.random.Generator,
    rates: PopulationRates = PopulationRates(),  # noqa: B008 - frozen dataclass
) -> People:
    """Draw ``n`` true persons living in the given province indices (population-weighted)."""
    geo = geography()
    weights = geo.population[provinces] / geo.population[provinces].sum()
    residence = provinces[rng.choice(len(provinces), size=n, p=weights)]
    elsewhere = rng.random(n) < rates.born_elsewhere
    birth_province = np.where(
        elsewhere, rng.choice(len(geo.codes), size=n, p=geo.population / geo.population.sum()),
        residence,
    )  # fmt: skip
    county = geo.county_codes[birth_province, rng.integers(0, geo.county_codes.shape[1], size=n)]
    ages = np.arange(MIN_AGE, MAX_AGE + 1)
    age_w = np.asarray(_AGE_BANDS, dtype=np.float64)[ages // 5]
    age = rng.choice(ages, size=n, p=age_w / age_w.sum())
    birth = REFERENCE_DAY - (age * 365.25).astype(np.int64) - rng.integers(0, 365, size=n)
    male = rng.random(n) < 0.51
    surname = rng.choice(len(surname_pool().names), size=n, p=surname_pool().weights)
    given = _draw_given(rng, male)
    phone = rng.choice(np.asarray(_MOBILE_PREFIXES), size=n) * 10**8 + rng.integers(
        0, 10**8, size=n
    )

    # Children under 14 get a guardian aged 28-50 in their province.
    child = np.flatnonzero(age < CHILD_AGE)
    adults = np.flatnonzero((age >= 28) & (age <= 50))
    guardian = np.full(n, -1, dtype=np.int64)
    guardian[child] = _sample_within(rng, residence, adults, residence[child])
    has = child[guardian[child] >= 0]
    g = guardian[has]
    same_surname = rng.random(len(has)) < rates.guardian_surname
    surname[has[same_surname]] = surname[g[same_surname]]
    same_county = rng.random(len(has)) < rates.guardian_county
    county[has[same_county]] = county[g[same_county]]
    phone[has] = phone[g]

    # Twins: copy a primary's family attributes onto a secondary (neither is a guardian).
    twin = np.full(n, -1, dtype=np.int64)
    is_guardian = np.zeros(n, dtype=bool)
    is_guardian[guardian[guardian >= 0]] = True
    free = rng.permutation(np.flatnonzero(~is_guardian))
    pairs = min(int(round(n * rates.twins / 2)), len(free) // 2)
    first, second = free[:pairs], free[pairs : 2 * pairs]
    for field in (residence, county, birth, surname, guardian):
        field[second] = field[first]
    same_sex = rng.random(pairs) < rates.twins_same_sex
    male[second] = np.where(same_sex, male[first], ~male[first])
    given[second] = _draw_given(rng, male[second])
    pool_m, pool_f = given_name_pool("M"), given_name_pool("F")
    for pool, sex in ((pool_m, True), (pool_f, False)):
        alike = same_sex & (male[first] == sex)
        f_given = given[first[alike]]
        size = pool.sibling_size[f_given]
        step = 1 + (rng.random(len(f_given)) * np.maximum(size - 1, 1)).astype(np.int64)
        sibling = pool.sibling_order[
            pool.sibling_start[f_given] + (pool.sibling_pos[f_given] + step) % size
        ]
        given[second[alike]] = np.where(size > 1, sibling, given[second[alike]])
    share_phone = (rng.random(pairs) < rates.twins_same_phone) | (guardian[first] >= 0)
    phone[second[share_phone]] = phone[first[share_phone]]
    twin[first], twin[second] = second, first

    seq = _draw_seq(rng, male)
    step = np.where(same_sex, 2, rng.choice(np.asarray([1, 3]), size=pairs))
    seq[second] = np.where(seq[first] + step <= 994, seq[first] + step, seq[first] - step)
    _make_unique(rng, county, birth, seq, male, twin)
    return People(
        residence=residence,
        county=county,
        male=male,
        birth=birth,
        surname=surname,
        given=given,
        seq=seq,
        phone=phone,
        guardian=guardian,
        twin=twin,
        id18=id_digits(county, birth, seq),
    )


def _make_unique(
    rng: np.random.Generator,
    county: IntArray,
    birth: IntArray,
    seq: IntArray,
    male: BoolArray,
    twin: IntArray,
) -> None:
    """Redraw sequence codes (in place) until every ID number is unique; twins keep theirs."""
    order = np.argsort(twin < 0, kind="stable")  # twins first: they win collisions
    for _ in range(50):
        key = (county * 10**8 + birth + 10**6) * 1000 + seq
        _, first = np.unique(key[order], return_index=True)
        dup = np.ones(len(key), dtype=bool)
        dup[first] = False
        redo = order[dup]
        if len(redo) == 0:
            return
        seq[redo] = _draw_seq(rng, male[redo])
    raise RuntimeError("could not draw unique ID numbers")  # pragma: no cover
