"""Schedule rules of DOMAIN.md §4: dose-report pair rules, primary/booster labels and status.

Everything is vectorised over numpy arrays; the schedule state machine loops over dose
*positions* (at most a handful), never over persons.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.columns import DOSE_DATE, LOT_NUMBER, PRODUCT_CODE, RECORD_ID, SOURCE
from matcher.sorting import group_order
from matcher.vaccines import CATALOGUE

__all__ = [
    "BOOSTER",
    "CONFLICT",
    "DUPLICATE",
    "MIN_DOSE_GAP_DAYS",
    "PRIMARY",
    "PRIMARY_COMPLETE",
    "PRIMARY_IN_PROGRESS",
    "STATUSES",
    "UNSURE",
    "DoseLabels",
    "Flag",
    "classify_report_pairs",
    "compare_dose_histories",
    "flag_names",
    "label_doses",
    "lots_as_recorded",
    "normalise_lots",
    "product_index",
    "schedule_products",
]

# --- Policy dates and thresholds ----------------------------------------------------------
HETEROLOGOUS_BOOSTER_FROM: Final = np.datetime64("2022-02-19", "D")  # 序贯加强免疫
# 国卫明电〔2022〕484号 (加强老年人新冠病毒疫苗接种工作方案), issued 2022-11-29: 60+ may get the
# booster ≥3 months after the primary series. We apply it to doses given on or after that day.
ELDERLY_EARLY_BOOSTER_FROM: Final = np.datetime64("2022-11-29", "D")
SECOND_BOOSTER_FROM: Final = np.datetime64("2022-12-13", "D")  # second-booster plan
BOOSTER_MONTHS: Final = 6
ELDERLY_BOOSTER_MONTHS: Final = 3
ELDERLY_AGE: Final = 60
BOOSTER_MIN_AGE: Final = 18
# Shortest legitimate gap between two real doses (inactivated, 21 days): two reports of one
# person closer than this are the same event or an error, never two valid doses (DOMAIN §5).
MIN_DOSE_GAP_DAYS: Final = 21
# Two reports of one vaccine group this close are one event whatever else they say: no
# schedule gives two doses within a day (a re-entered dose is sometimes dated a day off).
SAME_EVENT_DAYS: Final = 1
# Two reports of the same product from different sources up to this many days apart are the
# same event with a date-entry disagreement (flagged), even without a lot number.
DATE_TOLERANCE_DAYS: Final = 3
MAX_DOSES: Final = 5  # ZF2001 3-dose primary + 2 boosters: the longest schedule
# A dose given up to 4 days before a minimum interval is over still counts (the grace period
# of ACIP's General Best Practice Guidelines, which IIS forecasters apply). It also absorbs the
# difference between "6 months" and "180 days" as systems count the booster interval.
GRACE_DAYS: Final = 4

NOT_VACCINATED: Final = "not_vaccinated"
PRIMARY_IN_PROGRESS: Final = "primary_in_progress"
PRIMARY_COMPLETE: Final = "primary_complete"
BOOSTER: Final = "booster"
STATUSES: Final[tuple[str, ...]] = (NOT_VACCINATED, PRIMARY_IN_PROGRESS, PRIMARY_COMPLETE, BOOSTER)
PRIMARY: Final = "primary"


class Flag(enum.IntFlag):
    """Quality flags on dose events and persons (stored as a bit mask; never silent fixes)."""

    DOSE_BEFORE_BIRTH = enum.auto()
    DOSE_IN_FUTURE = enum.auto()
    INTERVAL_TOO_SHORT = enum.auto()  # gap to the previous event below the products' minimum
    TOO_MANY_DOSES = enum.auto()  # more doses than any schedule allows
    SAME_DAY_EVENTS = enum.auto()  # two distinct events on one day
    UNKNOWN_VACCINE = enum.auto()  # vaccine text not mapped to one catalogue product
    REVIEW_POSSIBLE_DUPLICATE = enum.auto()  # unsure whether two reports are one event
    REPORTS_DISAGREE = enum.auto()  # merged reports differ in date, product or lot
    BOOSTER_TOO_EARLY = enum.auto()
    BOOSTER_NOT_INDICATED = enum.auto()  # product, date or age outside the booster rules
    BOOSTER_WITHOUT_PRIMARY = enum.auto()  # booster-only product before a complete primary
    MIXED_PRIMARY_PLATFORMS = enum.auto()  # primary doses of different vaccine types
    CONFLICTING_NAME = enum.auto()
    CONFLICTING_ID = enum.auto()
    CONFLICTING_SEX = enum.auto()
    CONFLICTING_BIRTH_DATE = enum.auto()
    MISSING_DOSE_DATE = enum.auto()
    # Persons: a record's birth date was unusable (made missing), or a record has neither a
    # usable name nor an ID number (linked on phone, birth date and sex alone).
    BIRTH_DATE_UNUSABLE = enum.auto()
    IDENTITY_INCOMPLETE = enum.auto()


_FLAG_BITS: Final = tuple((int(f), str(f.name).lower()) for f in Flag)


def flag_names(mask: int) -> list[str]:
    """Lower-case names of the flags set in ``mask``, in declaration order."""
    mask = int(mask)
    return [name for bit, name in _FLAG_BITS if mask & bit] if mask else []


# --- Report pairs (dedup and match evidence) ------------------------------------------------
DISTINCT: Final = 0  # far enough apart to be two real doses
DUPLICATE: Final = 1  # the same event
CONFLICT: Final = 2  # two different events closer than any legitimate interval
UNSURE: Final = 3  # cannot tell: review

_LOT_STRIP = re.compile(r"[\s\-_/\\.·,，。]+")


def normalise_lots(lots: pd.Series) -> npt.NDArray[np.int64]:
    """Comparable lot numbers as integer codes (NFKC, upper case, separators removed); -1 missing.

    Equal codes mean equal normalised lots; the text work is done once per distinct value.
    """
    codes, uniques = pd.factorize(lots, use_na_sentinel=True)
    normalised = [
        u if u.isascii() and u.isalnum() and u == u.upper() else _lot_key(u)
        for u in (str(v) for v in uniques)
    ]
    norm_codes, _ = pd.factorize(pd.Series(normalised, dtype=object))
    norm_codes = np.where(np.array([n == "" for n in normalised], bool), -1, norm_codes)
    return np.where(codes >= 0, norm_codes[np.maximum(codes, 0)] if len(uniques) else -1, -1)


def lots_as_recorded(lots: pd.Series) -> npt.NDArray[np.bool_]:
    """True where a lot number is in the form a system records it: ASCII capitals and digits
    only. A lot typed again by hand from a certificate often is not (lower case, separators,
    full-width digits, a 批号 prefix). Worked out once per distinct value, by Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = pd.factorize(lots, use_na_sentinel=True)
    text = pa.array([str(u) for u in uniques], type=pa.string())
    clean = pc.match_substring_regex(text, "^[0-9A-Z]+$").to_numpy(zero_copy_only=False)
    return np.append(np.asarray(clean, dtype=bool), False)[codes]


def _lot_key(text: str) -> str:
    return _LOT_STRIP.sub("", unicodedata.normalize("NFKC", text).upper())


def classify_report_pairs(
    gap_days: npt.NDArray[np.int64],
    product_l: npt.NDArray[np.int64],
    product_r: npt.NDArray[np.int64],
    lot_l: npt.NDArray[np.int64],
    lot_r: npt.NDArray[np.int64],
    same_source: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int8]:
    """DISTINCT / DUPLICATE / CONFLICT / UNSURE for two dose reports of one person.

    Products are catalogue indices (-1 unknown), lots codes of :func:`normalise_lots` (-1 missing).
    All COVID-19 products form one vaccine group (DOMAIN §5), so the date decides first:

    - ≥ 21 days apart → distinct (two real doses);
    - on the same day or one day apart → the same event, whatever the lots, products or
      sources say: no schedule has two doses a day apart, and a dose re-entered by a second
      province from the paper certificate carries its own lot text, product wording and
      sometimes a date off by a day (the disagreement is flagged on the event, not merged away);
    - same lot and product inside the window → the same event;
    - same product (or one unknown), up to 3 days apart, two sources → the same event (a date
      entry disagreement);
    - otherwise different lots → a conflict (review), anything else inside the window → unsure.
    """
    gap = np.abs(gap_days)
    lots_both = (lot_l >= 0) & (lot_r >= 0)
    lots_differ = lots_both & (lot_l != lot_r)
    lots_same = lots_both & (lot_l == lot_r)
    known_both = (product_l >= 0) & (product_r >= 0)
    same_product = known_both & (product_l == product_r)
    compatible = same_product | ~known_both  # same product, or one side unknown
    duplicate = gap <= SAME_EVENT_DAYS
    duplicate |= same_product & lots_same
    duplicate |= compatible & (gap <= DATE_TOLERANCE_DAYS) & ~same_source
    conds = [gap >= MIN_DOSE_GAP_DAYS, duplicate, lots_differ]
    return np.select(conds, [DISTINCT, DUPLICATE, CONFLICT], default=UNSURE).astype(np.int8)


def product_index(codes: pd.Series) -> npt.NDArray[np.int64]:
    """Catalogue position of each product code, -1 for NA or an unknown code."""
    values, uniques = pd.factorize(codes, use_na_sentinel=True)
    position = {c: i for i, c in enumerate(CATALOGUE)}
    table = np.array([position.get(str(u), -1) for u in uniques] + [-1], np.int64)
    return table[values]


# Per-product attributes, indexed by catalogue position.
_PRODUCTS = tuple(CATALOGUE.values())
_MIN_GAP = np.array([max(MIN_DOSE_GAP_DAYS, p.min_interval_days) for p in _PRODUCTS], np.int64)
_G_INACT, _G_AD5, _G_ZF, _G_BOOSTER_ONLY = 0, 1, 2, 3
_GROUP = np.array(
    [
        _G_BOOSTER_ONLY
        if p.booster_only
        else _G_INACT
        if p.platform == "inactivated"
        else _G_AD5
        if p.code == "AD5"
        else _G_ZF
        for p in _PRODUCTS
    ],
    np.int64,
)
_SERIES_DOSES = np.array([2, 1, 3, 0], np.int64)  # doses completing each group's primary series


def add_months(days: npt.NDArray[np.datetime64], months: int) -> npt.NDArray[np.datetime64]:
    """Calendar month arithmetic on ``datetime64[D]``; day clamped to the month's end; NaT kept."""
    month = days.astype("datetime64[M]")
    day = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    out = target.astype("datetime64[D]") + np.minimum(day, length - 1).astype("timedelta64[D]")
    out[np.isnat(days)] = np.datetime64("NaT")
    return out


def _months_after(day: npt.NDArray[np.int64], months: int) -> npt.NDArray[np.int64]:
    """:func:`add_months` on int day numbers."""
    return add_months(day.astype("datetime64[D]"), months).astype(np.int64)


def min_gap_days(product: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Shortest legitimate gap before/after a dose of each product (21 days for unknown)."""
    return np.where(product >= 0, _MIN_GAP[np.maximum(product, 0)], MIN_DOSE_GAP_DAYS)


@dataclass(frozen=True, slots=True, eq=False)
class DoseLabels:
    """Schedule labels per event (event order) and status per person (person order)."""

    dose_number: npt.NDArray[np.int64]
    is_booster: npt.NDArray[np.bool_]
    counts: npt.NDArray[np.bool_]  # a valid dose under §4 (primary dose or booster)
    justifies: npt.NDArray[np.bool_]  # one of the doses that justify the person's status
    flags: npt.NDArray[np.int64]
    status: npt.NDArray[np.int64]  # index into STATUSES
    status_date: npt.NDArray[np.datetime64]
    primary_complete_date: npt.NDArray[np.datetime64]
    booster_count: npt.NDArray[np.int64]


_INACTIVATED_STAND_IN: Final = next(
    i for i, p in enumerate(_PRODUCTS) if p.platform == "inactivated" and p.min_interval_days <= 21
)


def schedule_products(
    person: npt.NDArray[np.int64],
    product: npt.NDArray[np.int64],
    inactivated_text: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """The product the schedule rules assume for each event: its own when known; for an
    unknown one, the product of the person's other doses when they are all of one vaccine
    group (DOMAIN §4: the series is completed with the same product), else an inactivated
    product when the text names the platform ("新冠病毒灭活疫苗（Vero细胞）"), else -1.

    The event stays unknown in the history (flagged ``unknown_vaccine``); only counting uses this.
    """
    out = product.copy()
    unknown = product < 0
    if not unknown.any():
        return out
    n_persons = int(person.max()) + 1
    known = ~unknown
    group = np.where(known, _GROUP[np.maximum(product, 0)], -1)
    primary = known & (group != _G_BOOSTER_ONLY)
    kinds = np.zeros(n_persons, np.int64)  # bit per vaccine group seen
    np.bitwise_or.at(kinds, person[primary], np.left_shift(1, group[primary]))
    first_event = np.full(n_persons, len(product), np.int64)  # the person's first such dose
    np.minimum.at(first_event, person[primary], np.flatnonzero(primary))
    first = np.append(product, -1)[first_event]
    one_group = (kinds != 0) & ((kinds & (kinds - 1)) == 0)
    from_person = np.where(one_group[person], first[person], -1)
    from_text = np.where(inactivated_text, _INACTIVATED_STAND_IN, -1)
    return np.where(unknown, np.where(from_person >= 0, from_person, from_text), product)


def label_doses(
    person: npt.NDArray[np.int64],
    dose_date: npt.NDArray[np.datetime64],
    product: npt.NDArray[np.int64],
    birth_date: npt.NDArray[np.datetime64],
    *,
    assumed: npt.NDArray[np.int64] | None = None,
) -> DoseLabels:
    """Number, label and validate each person's doses and compute the status.

    Args:
        person: person index 0..P-1 per event; events sorted by (person, date).
        dose_date: ``datetime64[D]``, no NaT.
        product: catalogue index per event, -1 unknown.
        birth_date: ``datetime64[D]`` per person (NaT unknown).
        assumed: the product the schedule rules take for each event (``schedule_products``);
            ``product`` when None. Unknown products are flagged either way.
    """
    n_persons = len(birth_date)
    n = len(person)
    unknown = product < 0
    if assumed is not None:
        product = assumed
    starts = np.searchsorted(person, np.arange(n_persons))
    n_doses = np.bincount(person, minlength=n_persons)
    pos = np.arange(n) - starts[person]
    width = int(pos.max()) + 1 if n else 0
    flags = np.zeros(n, np.int64)
    days = dose_date.astype("datetime64[D]").astype(np.int64)

    # Gaps between consecutive events (any kind).
    same_prev = np.r_[False, person[1:] == person[:-1]][:n]
    gap = np.r_[0, np.diff(days)][:n]
    need = np.maximum(min_gap_days(product), np.r_[0, min_gap_days(product)[:-1]][:n])
    flags[same_prev & (gap == 0)] |= Flag.SAME_DAY_EVENTS
    flags[same_prev & (gap > 0) & (gap < need)] |= Flag.INTERVAL_TOO_SHORT
    flags[unknown] |= Flag.UNKNOWN_VACCINE
    flags[pos >= MAX_DOSES] |= Flag.TOO_MANY_DOSES

    # Age thresholds once per person (add_months is costly), compared per event.
    born = birth_date[person]
    adult = np.isnat(born) | (add_months(birth_date, 12 * BOOSTER_MIN_AGE)[person] <= dose_date)
    elderly = ~np.isnat(born) & (add_months(birth_date, 12 * ELDERLY_AGE)[person] <= dose_date)
    group_of = np.where(product >= 0, _GROUP[np.maximum(product, 0)], -1)
    is_booster = np.zeros(n, bool)
    counts = np.zeros(n, bool)

    never = np.iinfo(np.int64).min // 2
    far = -never  # "not yet due"
    hetero_from = HETEROLOGOUS_BOOSTER_FROM.astype(np.int64)
    elderly_from = ELDERLY_EARLY_BOOSTER_FROM.astype(np.int64)
    second_from = SECOND_BOOSTER_FROM.astype(np.int64)
    # Per person, what the status needs (persons without doses keep these values).
    completed = np.zeros(n_persons, bool)
    complete_day = np.full(n_persons, never, np.int64)
    primary_group = np.full(n_persons, -1, np.int64)
    last_primary_day = np.full(n_persons, never, np.int64)
    boosters = np.zeros(n_persons, np.int64)
    last_booster_day = np.full(n_persons, never, np.int64)

    # Dose position k of every person who has one: the state arrays hold only those persons
    # (``active``), and a person's state is stored once its last dose is labelled, so later
    # positions (few persons have more than three doses) cost only their own rows. (Person x
    # position matrices did this before: at 1M persons 1.3 s and 560 MB at the peak, now
    # 0.9 s and 436 MB.)
    active = np.flatnonzero(n_doses > 0)
    a_completed = completed[active]
    a_complete_day = complete_day[active]
    a_primary_group = primary_group[active]
    a_last_primary_day = last_primary_day[active]
    a_boosters = boosters[active]
    a_last_booster_day = last_booster_day[active]
    group_count = np.zeros((len(active), 4), np.int64)
    groups_seen = np.zeros(len(active), np.int64)
    last_primary_gap = np.zeros(len(active), np.int64)
    due, due_old, second_due = (np.full(len(active), far, np.int64) for _ in range(3))

    for k in range(width):
        at = starts[active] + k  # each active person's k-th event
        rows = np.arange(len(active))
        day, prod, group = days[at], product[at], group_of[at]
        known = prod >= 0
        gap_need = np.maximum(last_primary_gap, min_gap_days(prod))
        # Primary phase.
        pre = ~a_completed
        flags[at[pre & (group == _G_BOOSTER_ONLY)]] |= Flag.BOOSTER_WITHOUT_PRIMARY
        is_booster[at[pre & (group == _G_BOOSTER_ONLY)]] = True
        cand = pre & (group >= 0) & (group < _G_BOOSTER_ONLY)
        counted = cand & (
            (a_last_primary_day == never) | (day - a_last_primary_day >= gap_need - GRACE_DAYS)
        )
        g = np.maximum(group, 0)
        bit = np.left_shift(1, g)
        flags[at[counted & ((groups_seen & ~bit) != 0)]] |= Flag.MIXED_PRIMARY_PLATFORMS
        groups_seen = np.where(counted, groups_seen | bit, groups_seen)
        group_count[rows[counted], g[counted]] += 1
        done = counted & (group_count[rows, g] >= _SERIES_DOSES[g])
        counts[at[counted]] = True
        a_last_primary_day = np.where(counted, day, a_last_primary_day)
        last_primary_gap = np.where(counted, min_gap_days(prod), last_primary_gap)
        # Booster phase (doses after the series was complete before this dose).
        post = a_completed
        is_booster[at[post]] = True
        first = post & (a_boosters == 0)
        early_ok = elderly[at] & (day >= elderly_from) & (day >= due_old)
        interval_ok = (day >= due) | early_ok
        homologous = known & (group == a_primary_group)
        heterologous = known & ~homologous & (a_primary_group == _G_INACT) & (day >= hetero_from)
        first_ok = first & interval_ok & (homologous | heterologous) & adult[at]
        second = post & (a_boosters == 1)
        second_interval = day >= second_due
        second_ok = second & known & (day >= second_from) & second_interval & adult[at]
        flags[at[(first & ~interval_ok) | (second & ~second_interval)]] |= Flag.BOOSTER_TOO_EARLY
        not_indicated = (first & known & ~(homologous | heterologous)) | (
            second & known & (day < second_from)
        )
        not_indicated |= (first | second) & known & ~adult[at]
        flags[at[not_indicated]] |= Flag.BOOSTER_NOT_INDICATED
        flags[at[post & (a_boosters >= 2)]] |= Flag.TOO_MANY_DOSES
        valid_booster = first_ok | second_ok
        counts[at[valid_booster]] = True
        a_boosters += valid_booster
        a_last_booster_day = np.where(valid_booster, day, a_last_booster_day)
        second_due[valid_booster] = _months_after(day[valid_booster], BOOSTER_MONTHS) - GRACE_DAYS
        # Completion takes effect for the following doses.
        a_primary_group = np.where(done, group, a_primary_group)
        a_complete_day = np.where(done, day, a_complete_day)
        due[done] = _months_after(day[done], BOOSTER_MONTHS) - GRACE_DAYS
        due_old[done] = _months_after(day[done], ELDERLY_BOOSTER_MONTHS) - GRACE_DAYS
        a_completed |= done
        # Persons whose last dose this was: store their state, go on with the others.
        last = n_doses[active] == k + 1
        if last.any():
            gone = active[last]
            completed[gone] = a_completed[last]
            complete_day[gone] = a_complete_day[last]
            primary_group[gone] = a_primary_group[last]
            last_primary_day[gone] = a_last_primary_day[last]
            boosters[gone] = a_boosters[last]
            last_booster_day[gone] = a_last_booster_day[last]
            stay = ~last
            active = active[stay]
            a_completed, a_complete_day, a_primary_group = (
                a_completed[stay],
                a_complete_day[stay],
                a_primary_group[stay],
            )
            a_last_primary_day, a_boosters, a_last_booster_day = (
                a_last_primary_day[stay],
                a_boosters[stay],
                a_last_booster_day[stay],
            )
            group_count, groups_seen, last_primary_gap = (
                group_count[stay],
                groups_seen[stay],
                last_primary_gap[stay],
            )
            due, due_old, second_due = due[stay], due_old[stay], second_due[stay]

    justifies = counts & completed[person] & (is_booster | (group_of == primary_group[person]))
    justifies &= is_booster | (days <= complete_day[person])
    status = np.where(
        n_doses == 0, 0, np.where(~completed, 1, np.where(boosters > 0, 3, 2))
    ).astype(np.int64)
    nat = np.datetime64("NaT", "D")
    complete_date = np.where(completed, complete_day.astype("datetime64[D]"), nat)
    status_day = np.select(
        [status == 3, status == 2, status == 1],
        [last_booster_day, complete_day, last_primary_day],
        never,
    )
    status_date = np.where(status_day != never, status_day.astype("datetime64[D]"), nat)
    return DoseLabels(
        dose_number=pos + 1,
        is_booster=is_booster,
        counts=counts,
        justifies=justifies,
        flags=flags,
        status=status,
        status_date=status_date,
        primary_complete_date=complete_date,
        booster_count=boosters,
    )


def compare_dose_histories(pairs: pd.DataFrame, doses: pd.DataFrame) -> npt.NDArray[np.int8]:
    """Dose histories as match evidence, one int8 level per pair.

    -1 no information (a side has no dated dose), 0 conflict (merging would put two different
    events closer than any legitimate interval), 1 neutral (distinct doses, but the union breaks
    a product minimum or has too many doses), 2 plausible complement, 3 the same event is
    reported by both records.
    """
    n = len(pairs)
    dated = doses[DOSE_DATE].notna().to_numpy()
    record = doses[RECORD_ID].to_numpy(dtype=np.int64)[dated]
    day = doses[DOSE_DATE].to_numpy(dtype="datetime64[D]")[dated].astype(np.int64)
    product = product_index(doses[PRODUCT_CODE][dated])
    lot = normalise_lots(doses[LOT_NUMBER][dated])
    source = (
        doses[SOURCE][dated].astype(object).to_numpy(dtype=object)
        if SOURCE in doses
        else np.full(len(record), "", dtype=object)
    )
    left_ids = pairs["record_id_l"].to_numpy(dtype=np.int64)
    right_ids = pairs["record_id_r"].to_numpy(dtype=np.int64)
    # Every (left dose, right dose) combination of every pair: the dated doses grouped by
    # record, each pair expanded to n_left × n_right rows.
    size = 1 + max(
        int(record.max(initial=-1)), int(left_ids.max(initial=-1)), int(right_ids.max(initial=-1))
    )
    by_record = group_order(record)
    per_record = np.bincount(record, minlength=size)
    first = np.cumsum(per_record) - per_record
    n_l, n_r = per_record[left_ids], per_record[right_ids]
    combos = n_l * n_r
    pair = np.repeat(np.arange(n), combos)
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(combos) - combos, combos)
    width = np.repeat(n_r, combos)  # >= 1 on every expanded row
    dose_l = by_record[np.repeat(first[left_ids], combos) + offset // width]
    dose_r = by_record[np.repeat(first[right_ids], combos) + offset % width]
    prod_l, prod_r = product[dose_l], product[dose_r]
    gap = day[dose_l] - day[dose_r]
    src_l, src_r = source[dose_l], source[dose_r]
    cls = classify_report_pairs(
        gap, prod_l, prod_r, lot[dose_l], lot[dose_r], (src_l == src_r) & (src_l != "")
    )
    short = (cls == DISTINCT) & (
        np.abs(gap) < np.maximum(min_gap_days(prod_l), min_gap_days(prod_r))
    )
    seen = combos > 0
    conflict = np.bincount(pair, weights=np.isin(cls, (CONFLICT, UNSURE)), minlength=n) > 0
    n_dup = np.bincount(pair, weights=cls == DUPLICATE, minlength=n)
    neutral = np.bincount(pair, weights=short, minlength=n) > 0
    neutral |= (n_l + n_r - n_dup) > MAX_DOSES
    level = np.select([~seen, conflict, n_dup > 0, neutral], [-1, 0, 3, 1], default=2)
    return level.astype(np.int8)
