"""Merged dose history per resolved person: dose-event dedup (DOMAIN §5), numbering, status.

Vectorised: reports are sorted by (person, date), compared with their next few neighbours,
duplicates joined with connected components; per-event values come from ``reduceat`` over
the sorted reports. Only the JSON rendering (:func:`history_documents`) loops over persons.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.clustering import connected_components
from matcher.columns import (
    BIRTH_DATE,
    BIRTH_DATE_UNUSABLE,
    DOSE_DATE,
    DOSE_SEQ,
    ID_KEY,
    LOT_NUMBER,
    NAME,
    NAME_SIMPLIFIED,
    PERSON_ID,
    PERSON_REF,
    PRODUCT_CODE,
    RECORD_ID,
    SEX,
    SITE,
    SOURCE,
    UNKNOWN_SEX,
    VACCINE,
)
from matcher.dictionary import is_dictionary
from matcher.masking import mask_birth_date, mask_id, mask_name
from matcher.schedules import (
    BOOSTER,
    CONFLICT,
    DUPLICATE,
    MIN_DOSE_GAP_DAYS,
    PRIMARY,
    STATUSES,
    UNSURE,
    DoseLabels,
    Flag,
    classify_report_pairs,
    compare_dose_histories,
    flag_names,
    label_doses,
    lots_as_recorded,
    normalise_lots,
    product_index,
    schedule_products,
)
from matcher.sorting import group_order, lexsort_codes
from matcher.vaccines import CATALOGUE, names_inactivated

__all__ = [
    "ADMINISTERING_SOURCE",
    "BOOSTER_COUNT",
    "DOSE_COUNT",
    "DOSE_NUMBER",
    "EVENT_ID",
    "FLAGS",
    "HISTORY_COLUMNS",
    "JUSTIFIES",
    "KIND",
    "MANUFACTURER",
    "PRIMARY_COMPLETE_DATE",
    "PRODUCT_NAME",
    "REPORT_RANK",
    "STATUS",
    "STATUS_DATE",
    "VALID",
    "Histories",
    "build_histories",
    "compare_dose_histories",
    "history_documents",
]

EVENT_ID: Final = "event_id"
PRODUCT_NAME: Final = "product_name"
MANUFACTURER: Final = "manufacturer"
DOSE_NUMBER: Final = "dose_number"
KIND: Final = "kind"  # "primary" / "booster"
VALID: Final = "valid"  # counts under the §4 schedule rules
JUSTIFIES: Final = "justifies_status"
REPORTED_BY: Final = "reported_by"  # list of {source, person_ref, dose_seq}
ADMINISTERING_SOURCE: Final = "administering_source"
FLAGS: Final = "flags"  # Flag bit mask; decode with schedules.flag_names
STATUS: Final = "status"
STATUS_DATE: Final = "status_date"
PRIMARY_COMPLETE_DATE: Final = "primary_complete_date"
BOOSTER_COUNT: Final = "booster_count"
DOSE_COUNT: Final = "dose_count"
REPORT_RANK: Final = "report_rank"  # a report's position in its event (0 = the survivor)

# Every dose column build_histories reads (the link job drops the others before calling it).
HISTORY_COLUMNS: Final = (
    PERSON_ID,
    RECORD_ID,
    SOURCE,
    PERSON_REF,
    DOSE_DATE,
    DOSE_SEQ,
    PRODUCT_CODE,
    VACCINE,
    LOT_NUMBER,
    SITE,
    BIRTH_DATE,
    BIRTH_DATE_UNUSABLE,
    NAME,
    NAME_SIMPLIFIED,
    ID_KEY,
    SEX,
)

_NEIGHBOURS: Final = 4  # reports compared with the next 4 of the same person in date order
_NEVER: Final = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True, eq=False)
class Histories:
    """Merged histories.

    ``events``: one row per merged dose event, sorted by (person, dose number).
    ``persons``: one row per person with status and flags.
    ``reports``: one row per input dose row with the ``event_id`` it was merged into (-1 when
    it has no dose date) and its ``report_rank`` in that event (0 = the surviving report, the
    order of ``reported_by``), so every merge can be traced and undone.
    """

    events: pd.DataFrame
    persons: pd.DataFrame
    reports: pd.DataFrame


def _first_valid(values: npt.NDArray[Any], valid: npt.NDArray[np.bool_], starts: npt.NDArray[np.intp]) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:  # fmt: skip
    """Per group (rows sorted by group, ``starts`` its first rows): first value where valid."""
    idx = np.where(valid, np.arange(len(values)), _NEVER)
    first = np.minimum.reduceat(idx, starts) if len(starts) else idx[:0]
    found = first != _NEVER
    return values[np.where(found, first, 0)], found


def _group_conflict(codes: npt.NDArray[np.int64], starts: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:  # fmt: skip
    """True for groups holding two different non-negative codes (-1 = missing, ignored)."""
    if not len(starts):
        return np.zeros(0, bool)
    high = np.maximum.reduceat(codes, starts)
    low = np.minimum.reduceat(np.where(codes >= 0, codes, _NEVER), starts)
    return (high >= 0) & (low != high)


def _objects(values: pd.Series) -> npt.NDArray[np.object_]:
    """Object array with ``None`` for every missing value (NaN, NA, NaT)."""
    out = values.to_numpy(dtype=object, copy=True)
    out[pd.isna(out)] = None
    return out


def _keep(mask: npt.NDArray[np.bool_], values: npt.NDArray[Any]) -> npt.NDArray[np.object_]:
    """``values`` as objects where ``mask``, ``None`` elsewhere."""
    out = values.astype(object)
    out[~mask] = None
    return out


def _categorical(codes: npt.NDArray[np.integer[Any]], categories: list[str]) -> pd.Categorical:
    """Categorical from integer codes (-1 → missing) without building Python strings per row."""
    return pd.Categorical.from_codes(cast(Any, codes), categories=pd.Index(categories))


def _merge_reports(
    person: npt.NDArray[np.int64],
    day: npt.NDArray[np.int64],
    prod: npt.NDArray[np.int64],
    lots: pd.Series,
    source: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Event label, review flag and lot code per report; reports sorted by (person, date).

    Lots are normalised only for reports with a same-person neighbour inside the window (the
    only ones whose lots are compared); other reports get lot code -1.
    """
    n = len(person)
    near_pairs = []
    for k in range(1, _NEIGHBOURS + 1):
        i = np.arange(k, n)
        j = i - k
        near = (person[i] == person[j]) & (day[i] - day[j] < MIN_DOSE_GAP_DAYS)
        near_pairs.append((i[near], j[near]))
    involved = np.unique(np.concatenate([np.r_[i, j] for i, j in near_pairs]))
    lot = np.full(n, -1, np.int64)
    lot[involved] = normalise_lots(lots.iloc[involved])
    src: list[npt.NDArray[np.int64]] = []
    dst: list[npt.NDArray[np.int64]] = []
    bad: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]] = []
    for i, j in near_pairs:
        cls = classify_report_pairs(
            day[i] - day[j], prod[i], prod[j], lot[i], lot[j], source[i] == source[j]
        )
        dup = cls == DUPLICATE
        src.append(i[dup])
        dst.append(j[dup])
        odd = (cls == CONFLICT) | (cls == UNSURE)
        bad.append((i[odd], j[odd], cls[odd] == UNSURE))
    a, b = np.concatenate(src), np.concatenate(dst)
    n_comp, label = connected_components(n, a, b)
    review = np.zeros(n, bool)
    contested = np.zeros(n_comp, bool)
    for i, j, unsure in bad:
        inside = label[i] == label[j]
        contested[label[i[inside]]] = True  # reports that are both "same" and "different"
        review[i[unsure | inside]] = True
        review[j[unsure | inside]] = True
    split = contested[label]
    review |= split
    label[split] = n_comp + np.flatnonzero(split)  # never guessed: every report stays an event
    return label, review, lot


@dataclass(frozen=True, slots=True, eq=False)
class _Merged:
    """Dose events as merged from their reports, in merge order (one value per event).

    ``rows``: the dose rows of the dated reports grouped by event, preferred report first;
    ``starts``: each event's first position in ``rows``.
    """

    rows: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    person: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    product: npt.NDArray[np.int64]
    lot: npt.NDArray[np.object_]
    site: npt.NDArray[np.object_]
    flags: npt.NDArray[np.int64]
    administering_source: npt.NDArray[np.object_]


def _merge_events(doses: pd.DataFrame, person_ids: npt.NDArray[np.intp], dated: npt.NDArray[np.bool_]) -> _Merged:  # fmt: skip
    """Each person's dated reports merged into events, with each event's values.

    A function of its own so that its per-report arrays (~20 MB each at 2.5M dose rows) are
    freed before the events are labelled.
    """
    source_codes, sources = pd.factorize(doses[SOURCE], use_na_sentinel=True)
    source_codes = source_codes.astype(np.int64)
    site = doses[SITE] if SITE in doses else pd.Series(None, index=doses.index, dtype=object)
    site_codes, sites = pd.factorize(site, use_na_sentinel=True)
    # The province of a site written as a code (a vaccination unit code starts with the
    # province's two digits); "" for a site named in words, which says nothing.
    site_prov = np.array(
        [str(s)[:2] if str(s)[:2].isdigit() else "" for s in sites] + [""], dtype=object
    )[site_codes]
    own = np.array([str(s) for s in sources] + [""], dtype=object)[source_codes]
    administering = np.asarray(site_prov == own, dtype=bool)
    # A report whose site code names another province is a historical copy of that province's
    # dose; an own-province code proves nothing (a re-entering clinic may write its own).
    elsewhere = np.asarray((site_prov != "") & (site_prov != own), dtype=bool)
    prod = product_index(doses[PRODUCT_CODE])
    lot_raw_all = doses[LOT_NUMBER]
    has_lot_text = lot_raw_all.notna().to_numpy() & (lot_raw_all.astype(object) != "").to_numpy()
    # Completeness: product known, a lot number (in the recorded form, not re-typed), a site.
    complete = (prod >= 0).astype(np.int64) + has_lot_text + site.notna().to_numpy()
    complete += lots_as_recorded(lot_raw_all)
    # Survivor preference: not a copy of another province's dose; then the most complete
    # report; then one from a registration holding more than this dose, then one from the
    # person's only registration in its province (a dose re-entered from the paper
    # certificate often comes under a new registration holding only it, typed again: its
    # date may be a day off).
    n_src = len(sources) + 1
    record = _record_codes(doses)
    lone = _lone_reports(record, dated)
    second = _second_registrations(record, person_ids, source_codes, n_src)
    del record
    rank = (((elsewhere * 5 + (4 - complete)) * 2 + lone) * 2 + second) * n_src + source_codes

    # Reports with a date, sorted by (person, date, preference) → events.
    rows = np.flatnonzero(dated)
    day = doses[DOSE_DATE].to_numpy(dtype="datetime64[D]")[rows].astype(np.int64)
    order = lexsort_codes((rank[rows], day, person_ids[rows]))
    rows, day = rows[order], day[order]
    person = person_ids[rows].astype(np.int64)
    label, review, lot = _merge_reports(
        person, day, prod[rows], lot_raw_all.iloc[rows], source_codes[rows]
    )
    # Group each event's reports (first report's position as key), preferred report first.
    first_pos = np.full(int(label.max()) + 1 if len(label) else 0, len(label), np.int64)
    np.minimum.at(first_pos, label, np.arange(len(label)))
    pref = lexsort_codes((rank[rows], first_pos[label]))
    rows, day, person, label, review = (
        rows[pref],
        day[pref],
        person[pref],
        label[pref],
        review[pref],
    )
    lot = lot[pref]
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]][: len(label)]).astype(np.intp)
    ev_prod, has_prod = _first_valid(prod[rows], prod[rows] >= 0, starts)
    lot_raw = _taken_objects(doses[LOT_NUMBER], rows)
    ev_lot, has_lot = _first_valid(lot_raw, has_lot_text[rows], starts)
    site_raw = _taken_objects(site, rows)
    ev_site, has_site = _first_valid(site_raw, pd.notna(site_raw), starts)
    ev_flags = np.where(
        np.logical_or.reduceat(review, starts), int(Flag.REVIEW_POSSIBLE_DUPLICATE), 0
    )
    disagree = np.maximum.reduceat(day, starts) != np.minimum.reduceat(day, starts)
    disagree |= _group_conflict(prod[rows], starts)
    disagree |= _group_conflict(lot, starts)
    ev_flags |= np.where(disagree, int(Flag.REPORTS_DISAGREE), 0)
    single_source = np.maximum.reduceat(source_codes[rows], starts) == np.minimum.reduceat(
        source_codes[rows], starts
    )
    first_src = _taken_objects(doses[SOURCE], rows[starts])
    return _Merged(
        rows=rows,
        starts=starts,
        person=person[starts],
        day=day[starts],
        product=np.where(has_prod, ev_prod, -1),
        lot=_keep(has_lot, ev_lot),
        site=_keep(has_site, ev_site),
        flags=ev_flags,
        administering_source=_keep(administering[rows[starts]] | single_source, first_src),
    )


def _taken_objects(values: pd.Series, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.object_]:
    """``values.astype(object).to_numpy()[rows]``, without an object array of every row."""
    return np.asarray(values.array.take(rows).astype(object), dtype=object)


def build_histories(
    doses: pd.DataFrame, *, today: pd.Timestamp, reported_by: bool = True
) -> Histories:
    """Merge each person's dose reports into events, number and label them, compute status.

    ``reported_by=False`` leaves out the events' ``reported_by`` lists (a Python object per
    report): ``reports`` holds the same facts, and ``write_history_lines`` reads them from
    there. ``history_documents`` and the FHIR export need the lists.
    """
    person_ids, person_all = pd.factorize(doses[PERSON_ID], sort=True)
    n_persons = len(person_all)
    dated = doses[DOSE_DATE].notna().to_numpy()
    merged = _merge_events(doses, person_ids, dated)
    rows, starts = merged.rows, merged.starts
    ends = np.r_[starts[1:], len(rows)]

    # Order events by (person, date, product) and apply the schedule rules.
    ev_order = lexsort_codes((merged.product, merged.day, merged.person))
    by_person = group_order(person_ids)  # dose rows grouped by person
    person_starts = np.searchsorted(person_ids[by_person], np.arange(n_persons)).astype(np.intp)
    birth = _person_birth_dates(doses, by_person, person_starts)
    ev_person = merged.person[ev_order]
    ev_day_d = merged.day[ev_order].astype("datetime64[D]")
    ev_prod = merged.product[ev_order]
    inactivated = np.logical_or.reduceat(names_inactivated(doses[VACCINE])[rows], starts)
    assumed = schedule_products(ev_person, ev_prod, inactivated[ev_order])
    labels = label_doses(ev_person, ev_day_d, ev_prod, birth, assumed=assumed)
    flags = merged.flags[ev_order] | labels.flags
    born = birth[ev_person]
    flags[~np.isnat(born) & (ev_day_d < born)] |= Flag.DOSE_BEFORE_BIRTH
    flags[ev_day_d > np.datetime64(today.date(), "D")] |= Flag.DOSE_IN_FUTURE
    del born

    reports_by = (
        _reported_by(doses, rows, starts[ev_order], ends[ev_order]) if reported_by else None
    )
    event_ids = np.arange(len(ev_order))
    products = [None, *CATALOGUE.values()]
    name_of = np.array([p.name_zh if p else None for p in products], dtype=object)
    maker_of = np.array([p.manufacturer_zh if p else None for p in products], dtype=object)
    p1 = ev_prod + 1
    events = pd.DataFrame(
        {
            PERSON_ID: person_all.to_numpy()[ev_person],
            EVENT_ID: event_ids,
            DOSE_DATE: ev_day_d.astype("datetime64[ns]"),
            PRODUCT_CODE: _categorical(p1 - 1, list(CATALOGUE)),
            PRODUCT_NAME: name_of[p1],
            MANUFACTURER: maker_of[p1],
            VACCINE: _taken_objects(doses[VACCINE], rows[starts[ev_order]]),
            LOT_NUMBER: merged.lot[ev_order],
            SITE: merged.site[ev_order],
            DOSE_NUMBER: labels.dose_number,
            KIND: _categorical(labels.is_booster.astype(np.int8), [PRIMARY, BOOSTER]),
            VALID: labels.counts,
            JUSTIFIES: labels.justifies,
            ADMINISTERING_SOURCE: merged.administering_source[ev_order],
            FLAGS: flags,
        },
        copy=False,
    )
    if reports_by is not None:
        events.insert(list(events.columns).index(JUSTIFIES) + 1, REPORTED_BY, reports_by)
    reports = _reports_frame(doses, rows, ev_order, starts)
    persons = _persons_frame(doses, person_ids, person_all, by_person, person_starts, birth, labels, flags, ev_person, dated)  # fmt: skip
    return Histories(events=events, persons=persons, reports=reports)


def _record_codes(doses: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Each dose row's registration as a code (the record ids where the rows have them)."""
    if RECORD_ID in doses:
        return doses[RECORD_ID].to_numpy(dtype=np.int64)
    source, _ = pd.factorize(doses[SOURCE], use_na_sentinel=True)
    ref, refs = pd.factorize(doses[PERSON_REF], use_na_sentinel=True)
    record = source.astype(np.int64) * (len(refs) + 1) + ref
    return pd.factorize(record)[0].astype(np.int64)


def _lone_reports(record: npt.NDArray[np.int64], dated: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:  # fmt: skip
    """1 for a dated report that is the only dated report of its registration, else 0."""
    per_record = np.bincount(record[dated], minlength=int(record.max(initial=-1)) + 1)
    return (dated & (per_record[record] == 1)).astype(np.int64)


def _second_registrations(
    record: npt.NDArray[np.int64],
    person_ids: npt.NDArray[np.intp],
    source_codes: npt.NDArray[np.int64],
    n_src: int,
) -> npt.NDArray[np.int64]:
    """1 for a report of a registration whose person has another one in the same province.

    A clinic re-entering a dose from the paper certificate often opens a new registration for
    a person its province already holds; the province that gave the dose had no reason to.
    """
    group, groups = pd.factorize(person_ids.astype(np.int64) * n_src + source_codes)
    record, records = pd.factorize(record)  # dense: stored record ids can be large
    span = len(records) + 1
    registrations = pd.unique(group.astype(np.int64) * span + record)  # (person, province, reg.)
    per_group = np.bincount(registrations // span, minlength=len(groups))
    return (per_group[group] > 1).astype(np.int64)


def _person_birth_dates(doses: pd.DataFrame, by_person: npt.NDArray[np.intp], person_starts: npt.NDArray[np.intp]) -> npt.NDArray[np.datetime64]:  # fmt: skip
    """Each person's first known birth date (``by_person``: dose rows grouped by person)."""
    birth = doses[BIRTH_DATE].to_numpy(dtype="datetime64[D]")[by_person]
    values, found = _first_valid(birth, ~np.isnat(birth), person_starts)
    return np.where(found, values, np.datetime64("NaT", "D"))


def _reported_by(doses: pd.DataFrame, rows: npt.NDArray[np.intp], starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]) -> list[list[dict[str, Any]]]:  # fmt: skip
    seq = doses[DOSE_SEQ] if DOSE_SEQ in doses else pd.Series(None, index=doses.index)
    cols = (doses[SOURCE], doses[PERSON_REF], seq)
    s, r, q = (_objects(c)[rows].tolist() for c in cols)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers: full collections would rescan the whole heap
    try:
        recs = [
            {"source": a, "person_ref": b, "dose_seq": c} for a, b, c in zip(s, r, q, strict=True)
        ]
        return [recs[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    finally:
        if gc_was_enabled:
            gc.enable()


def _reports_frame(doses: pd.DataFrame, rows: npt.NDArray[np.intp], ev_order: npt.NDArray[np.intp], starts: npt.NDArray[np.intp]) -> pd.DataFrame:  # fmt: skip
    rank = np.empty(len(ev_order), np.int64)
    rank[ev_order] = np.arange(len(ev_order))  # event position → final event id
    event_of_row = np.repeat(rank, np.diff(np.r_[starts, len(rows)]))
    event = np.full(len(doses), -1, np.int64)
    event[rows] = event_of_row
    first = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    position = np.full(len(doses), -1, np.int64)
    position[rows] = np.arange(len(rows)) - first
    cols = [c for c in (SOURCE, PERSON_REF, PERSON_ID, DOSE_SEQ) if c in doses]
    out = doses[cols].copy()
    out[EVENT_ID] = event
    out[REPORT_RANK] = position
    return out


def _value_codes(column: pd.Series) -> npt.NDArray[np.int64]:
    """Integer codes of a column's values (equal codes for equal values), -1 where missing:
    comparing them costs a fraction of comparing the values (dictionary codes as they are)."""
    if is_dictionary(column):
        return np.asarray(column.array.codes, dtype=np.int64)
    codes, _ = pd.factorize(column, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64)


def _persons_frame(
    doses: pd.DataFrame,
    person_ids: npt.NDArray[np.intp],
    person_all: pd.Index,
    order: npt.NDArray[np.intp],
    starts: npt.NDArray[np.intp],
    birth: npt.NDArray[np.datetime64],
    labels: DoseLabels,
    flags: npt.NDArray[np.int64],
    ev_person: npt.NDArray[np.int64],
    dated: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    n_persons = len(person_all)
    p_flags = np.zeros(n_persons, np.int64)
    if len(flags):
        first = np.flatnonzero(np.r_[True, ev_person[1:] != ev_person[:-1]])
        p_flags[ev_person[first]] = np.bitwise_or.reduceat(flags, first)
    p_flags[np.unique(person_ids[~dated])] |= Flag.MISSING_DOSE_DATE
    if BIRTH_DATE_UNUSABLE in doses:
        unusable = doses[BIRTH_DATE_UNUSABLE].to_numpy(dtype=bool)
        p_flags[np.unique(person_ids[unusable])] |= Flag.BIRTH_DATE_UNUSABLE
    if NAME_SIMPLIFIED in doses and ID_KEY in doses:
        anonymous = doses[NAME_SIMPLIFIED].isna().to_numpy() & doses[ID_KEY].isna().to_numpy()
        p_flags[np.unique(person_ids[anonymous])] |= Flag.IDENTITY_INCOMPLETE
    name_col = NAME_SIMPLIFIED if NAME_SIMPLIFIED in doses else NAME
    sex = doses[SEX].where(doses[SEX] != UNKNOWN_SEX) if SEX in doses else None
    checks = [
        (name_col, doses.get(name_col), Flag.CONFLICTING_NAME),
        (ID_KEY, doses.get(ID_KEY), Flag.CONFLICTING_ID),
        (SEX, sex, Flag.CONFLICTING_SEX),
        (BIRTH_DATE, doses.get(BIRTH_DATE), Flag.CONFLICTING_BIRTH_DATE),
    ]
    person_sorted = person_ids[order]
    for _, column, flag in checks:
        if column is not None and n_persons:
            values = _value_codes(column)[order]
            valid = values >= 0
            first, _ = _first_valid(values, valid, starts)
            differ = valid & (values != first[person_sorted])
            p_flags[np.logical_or.reduceat(differ, starts)] |= flag
    return pd.DataFrame(
        {
            PERSON_ID: person_all.to_numpy(),
            STATUS: _categorical(labels.status, list(STATUSES)),
            STATUS_DATE: labels.status_date.astype("datetime64[ns]"),
            PRIMARY_COMPLETE_DATE: labels.primary_complete_date.astype("datetime64[ns]"),
            BOOSTER_COUNT: labels.booster_count,
            DOSE_COUNT: np.bincount(ev_person, minlength=n_persons),
            BIRTH_DATE: birth.astype("datetime64[ns]"),
            FLAGS: p_flags,
        },
        copy=False,
    )


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def history_documents(histories: Histories, identities: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """One JSON-ready history per person (issue 4 item 6), identifiers masked.

    ``identities`` has one row per dose row or person record: ``PERSON_ID``, ``SOURCE``,
    ``PERSON_REF`` and optionally ``NAME``, ``ID_KEY``, ``SEX``, ``BIRTH_DATE``.
    """
    ident = identities.sort_values(PERSON_ID, kind="stable")
    first = ident.groupby(PERSON_ID, sort=False).first()
    recs = ident[[PERSON_ID, SOURCE, PERSON_REF]].drop_duplicates()
    rec_map: dict[Any, list[dict[str, Any]]] = {}
    for pid, src, ref in recs.itertuples(index=False):
        rec_map.setdefault(pid, []).append({"source": src, "person_ref": ref})
    ids = ident[[PERSON_ID, ID_KEY]].dropna().drop_duplicates() if ID_KEY in ident else None
    id_map: dict[Any, list[str]] = {}
    for pid, key in ids.itertuples(index=False) if ids is not None else ():
        id_map.setdefault(pid, []).append(mask_id(str(key)))

    def lookup(col: str) -> dict[Any, Any]:
        if col not in first:
            return {}
        return dict(zip(first.index.tolist(), _objects(first[col]).tolist(), strict=True))

    names, sexes = lookup(NAME), lookup(SEX)

    ev = histories.events
    ev_pid = ev[PERSON_ID].to_numpy()
    cols = {
        c: _objects(ev[c]).tolist()
        for c in (PRODUCT_CODE, PRODUCT_NAME, MANUFACTURER, LOT_NUMBER, SITE, VACCINE)
    }
    dates = [d.date().isoformat() for d in ev[DOSE_DATE]]
    numbers, kinds = ev[DOSE_NUMBER].tolist(), ev[KIND].tolist()
    valid, just, flags = ev[VALID].tolist(), ev[JUSTIFIES].tolist(), ev[FLAGS].tolist()
    reported, admin = ev[REPORTED_BY].tolist(), ev[ADMINISTERING_SOURCE].tolist()
    bounds = np.searchsorted(ev_pid, histories.persons[PERSON_ID].to_numpy(), side="left")
    for p, row in enumerate(histories.persons.itertuples(index=False)):
        pid = getattr(row, PERSON_ID)
        a = int(bounds[p])
        b = a + int(getattr(row, DOSE_COUNT))
        doses = [
            {
                "date": dates[i],
                "product": cols[PRODUCT_CODE][i],
                "product_name": cols[PRODUCT_NAME][i],
                "manufacturer": cols[MANUFACTURER][i],
                "vaccine_text": cols[VACCINE][i],
                "lot_number": cols[LOT_NUMBER][i],
                "site": cols[SITE][i],
                "dose_number": numbers[i],
                "kind": kinds[i],
                "valid": valid[i],
                "administering_source": admin[i],
                "reported_by": reported[i],
                "flags": flag_names(flags[i]),
            }
            for i in range(a, b)
        ]
        name = names.get(pid)
        yield {
            "person_id": pid,
            "records": rec_map.get(pid, []),
            "identifiers": sorted(set(id_map.get(pid, []))),
            "name": mask_name(str(name)) if name is not None else None,
            "birth_date": mask_birth_date(_iso(getattr(row, BIRTH_DATE))),
            "sex": sexes.get(pid),
            "doses": doses,
            "status": {
                "state": getattr(row, STATUS),
                "date": _iso(getattr(row, STATUS_DATE)),
                "primary_complete_date": _iso(getattr(row, PRIMARY_COMPLETE_DATE)),
                "booster_count": int(getattr(row, BOOSTER_COUNT)),
                "doses": [numbers[i] for i in range(a, b) if just[i]],
            },
            "flags": flag_names(int(getattr(row, FLAGS))),
        }
