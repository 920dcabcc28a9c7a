"""Fast rendering of histories.jsonl: the lines of :func:`matcher.histories.history_documents`.

Every field is JSON-encoded once per distinct value and column-wise; the pieces of all lines
are then placed in output order with index arithmetic (no per-person Python loop) and written
in chunks. The output is byte-identical to ``json.dumps(document, ensure_ascii=False,
default=str)`` per document.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any, Final, TextIO

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.columns import (
    BIRTH_DATE,
    DOSE_DATE,
    DOSE_SEQ,
    ID_KEY,
    LOT_NUMBER,
    NAME,
    PERSON_ID,
    PERSON_REF,
    PRODUCT_CODE,
    SEX,
    SITE,
    SOURCE,
    VACCINE,
)
from matcher.dictionary import distinct, is_dictionary
from matcher.histories import (
    ADMINISTERING_SOURCE,
    BOOSTER_COUNT,
    DOSE_NUMBER,
    EVENT_ID,
    FLAGS,
    JUSTIFIES,
    KIND,
    MANUFACTURER,
    PRIMARY_COMPLETE_DATE,
    PRODUCT_NAME,
    REPORT_RANK,
    STATUS,
    STATUS_DATE,
    VALID,
    Histories,
)
from matcher.masking import mask_id, mask_name
from matcher.schedules import flag_names

__all__ = ["write_history_lines"]

Pieces = npt.NDArray[np.object_]
Groups = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int64]
Encoded = tuple[Codes, Pieces]  # per row an index into a table of JSON texts
Part = str | Encoded
Section = tuple[Groups, list[Encoded]]  # sorted group per row; columns of pieces per row
_CHUNK_PERSONS: Final = 20_000  # persons rendered and written at a time
_SEP: Final = np.array(["", ", "], dtype=object)  # before the first / a later list item


def _scalar(value: Any) -> str:
    """One value as ``json.dumps(..., ensure_ascii=False, default=str)`` writes it."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, str):
        return str(encode_basestring(value))
    if isinstance(value, bool | int | float):
        return "null" if value != value else json.dumps(value)
    return str(encode_basestring(str(value)))


def _table(uniques: Any) -> Pieces:
    """JSON texts of ``uniques`` plus a final ``null`` (the code of missing values)."""
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        texts = [str(encode_basestring(u)) for u in uniques]
    else:
        texts = [_scalar(u) for u in uniques]
    return np.array([*texts, "null"], dtype=object)


def _encode(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """Table of the JSON text of each distinct value, and each row's index into it."""
    if isinstance(values, pd.Series) and is_dictionary(values):
        codes, uniques = distinct(values)  # the dictionary's codes: no hashing
    else:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes).astype(np.int64)
    return codes, _table(uniques)


def _dates(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """``"YYYY-MM-DD"`` per date, ``null`` for NaT."""
    days = np.asarray(values, dtype="datetime64[D]")
    nat = np.isnat(days)
    codes, uniques = pd.factorize(days.astype(np.int64)[~nat])
    table = '"' + np.datetime_as_string(uniques.astype("datetime64[D]")).astype(object) + '"'
    out = np.full(len(days), len(uniques), np.int64)
    out[~nat] = codes
    return out, np.array([*table.tolist(), "null"], dtype=object)


def _months(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """``"YYYY-MM"`` per date (birth dates beside a masked ID, see masking.mask_birth_date)."""
    codes, table = _dates(values)
    return codes, np.array(
        [t if t == "null" else t[:8] + '"' for t in table.tolist()], dtype=object
    )


def _ints(values: npt.NDArray[np.integer[Any]]) -> Encoded:
    uniques, inverse = np.unique(values, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), np.array([str(int(u)) for u in uniques], object)


def _flag_lists(masks: npt.NDArray[np.int64]) -> Encoded:
    uniques, inverse = np.unique(masks, return_inverse=True)
    table = [json.dumps(flag_names(int(m)), ensure_ascii=False) for m in uniques]
    return inverse.reshape(-1).astype(np.int64), np.array(table, dtype=object)


def _bools(values: npt.NDArray[Any]) -> Encoded:
    return np.asarray(values, dtype=bool).astype(np.int64), np.array(["false", "true"], object)


def _later(groups: Groups) -> Encoded:
    """Separator before each list item (``groups`` sorted): none for each group's first."""
    later = np.r_[False, groups[1:] == groups[:-1]] if len(groups) else np.zeros(0, bool)
    return later.astype(np.int64), _SEP


def _render(n: int, parts: list[Part]) -> Encoded:
    """Per row, the concatenation of ``parts``; each distinct combination is built once."""
    encoded = [p for p in parts if not isinstance(p, str)]
    key = np.zeros(n, np.int64)
    size = 1
    for codes, table in encoded:
        if size * len(table) >= 2**62:
            key, uniques = pd.factorize(key)
            size = len(uniques)
        key = key * len(table) + codes
        size *= len(table)
    inverse, _ = pd.factorize(key)
    seen = np.maximum.accumulate(inverse) if n else inverse
    first = np.flatnonzero(np.r_[True, inverse[1:] > seen[:-1]]) if n else inverse
    out = np.full(len(first), "", dtype=object)
    for part in parts:
        out = out + (part if isinstance(part, str) else part[1][part[0][first]])
    return inverse.astype(np.int64), np.asarray(out, dtype=object)


def _const(n: int, text: str) -> Encoded:
    return np.zeros(n, np.int64), np.array([text], dtype=object)


def _interleave(lo: int, hi: int, sections: list[Section]) -> tuple[Pieces, Groups]:
    """Pieces of groups ``lo``..``hi``-1 ordered by group, section, row in section, column.

    A section is a sorted group per row and one or more encoded columns (pieces) per row.
    Returns the pieces and their group minus ``lo``.
    """
    n_groups = hi - lo
    rows = []
    for groups, columns in sections:
        start, stop = np.searchsorted(groups, [lo, hi])
        rows.append((groups[start:stop] - lo, [t[c[start:stop]] for c, t in columns]))
    counts = [np.bincount(g, minlength=n_groups) * len(cols) for g, cols in rows]
    totals = np.sum(counts, axis=0)
    base = np.cumsum(totals) - totals
    out = np.empty(int(totals.sum()), dtype=object)
    for (groups, materialised), count in zip(rows, counts, strict=True):
        first = np.cumsum(count) - count
        at = base[groups] + (np.arange(len(groups)) * len(materialised) - first[groups])
        for j, pieces in enumerate(materialised):
            out[at + j] = pieces
        base = base + count
    return out, np.repeat(np.arange(n_groups, dtype=np.int64), totals)


def _event_sections(histories: Histories, ev_person: Groups) -> list[Section]:
    """Sections of every dose object (with its ``reported_by``), grouped by event."""
    ev = histories.events
    n = len(ev)
    reps = histories.reports
    reps = reps[reps[EVENT_ID].to_numpy() >= 0]
    order = np.lexsort((reps[REPORT_RANK].to_numpy(), reps[EVENT_ID].to_numpy()))
    reps = reps.iloc[order]
    rep_event = reps[EVENT_ID].to_numpy().astype(np.int64)
    m = len(reps)
    seq = _encode(reps[DOSE_SEQ]) if DOSE_SEQ in reps else _encode(np.full(m, None, object))
    rep_head = _render(m, [_later(rep_event), '{"source": ', _encode(reps[SOURCE]), ', "person_ref": '])  # fmt: skip
    rep_tail = _render(m, [', "dose_seq": ', seq, "}"])
    product: list[Part] = [
        _later(ev_person),
        '{"date": ',
        _dates(ev[DOSE_DATE]),
        ', "product": ',
        _encode(ev[PRODUCT_CODE]),
        ', "product_name": ',
        _encode(ev[PRODUCT_NAME]),
        ', "manufacturer": ',
        _encode(ev[MANUFACTURER]),
        ', "vaccine_text": ',
        _encode(ev[VACCINE]),
    ]
    lot_site: list[Part] = [
        ', "lot_number": ',
        _encode(ev[LOT_NUMBER]),
        ', "site": ',
        _encode(ev[SITE]),
    ]
    labels: list[Part] = [
        ', "dose_number": ',
        _ints(ev[DOSE_NUMBER].to_numpy()),
        ', "kind": ',
        _encode(ev[KIND]),
        ', "valid": ',
        _bools(ev[VALID].to_numpy()),
        ', "administering_source": ',
        _encode(ev[ADMINISTERING_SOURCE]),
        ', "reported_by": [',
    ]
    tail = _render(n, ['], "flags": ', _flag_lists(ev[FLAGS].to_numpy(dtype=np.int64)), "}"])
    events = np.arange(n, dtype=np.int64)
    return [
        (events, [_render(n, product), _render(n, lot_site), _render(n, labels)]),
        (rep_event, [rep_head, _encode(reps[PERSON_REF]), rep_tail]),
        (events, [tail]),
    ]


def _first_rows(groups: Groups) -> npt.NDArray[np.bool_]:
    """True on the first row of each run of equal ``groups``."""
    return np.r_[True, groups[1:] != groups[:-1]] if len(groups) else np.zeros(0, bool)


def _mask_ids(keys: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """:func:`mask_id` of each key; 18-character alphanumeric keys without a Python loop."""
    text = keys.astype(str)
    out = np.empty(len(text), dtype=object)
    long = np.char.str_len(text) == 18
    fast = long & np.char.isalnum(text)
    if fast.any():
        chars = text[fast].astype("<U18").view(np.uint32).reshape(-1, 18).copy()
        chars[:, 6:14] = ord("*")
        out[fast] = chars.view("<U18").reshape(-1).astype(object)
    out[~fast] = [mask_id(k) for k in text[~fast].tolist()]
    return out


def _identity_sections(identities: pd.DataFrame, persons: pd.Index) -> tuple[Section, Section, Encoded, Encoded]:  # fmt: skip
    """``records`` and ``identifiers`` items; name and sex per person (as the dict path)."""
    columns = [c for c in (PERSON_ID, SOURCE, PERSON_REF, NAME, ID_KEY, SEX) if c in identities]
    pos = persons.get_indexer(pd.Index(identities[PERSON_ID]))
    keep = np.flatnonzero(pos >= 0)
    keep = keep[np.argsort(pos[keep], kind="stable")]
    ident = identities[columns].iloc[keep]
    group = pos[keep].astype(np.int64)
    source, ref = _encode(ident[SOURCE]), _encode(ident[PERSON_REF])
    record_key = (group * len(source[1]) + source[0]) * len(ref[1]) + ref[0]
    unique = ~pd.Index(record_key).duplicated()
    rec_group = group[unique]
    k = len(rec_group)
    source_part = (source[0][unique], source[1])
    records = [
        _render(k, [_later(rec_group), '{"source": ', source_part, ', "person_ref": ']),
        (ref[0][unique], ref[1]),
        _const(k, "}"),
    ]
    id_group, id_items = np.zeros(0, np.int64), _const(0, "")
    if ID_KEY in ident:
        has = ident[ID_KEY].notna().to_numpy()
        codes, uniques = pd.factorize(ident[ID_KEY].to_numpy(dtype=object)[has])
        masked, masks = pd.factorize(_mask_ids(np.asarray(uniques, dtype=object))[codes])
        ids = pd.DataFrame({"g": group[has], "m": masked}).drop_duplicates()
        several = ids["g"].duplicated(keep=False).to_numpy()
        if several.any():  # identifiers sorted as text inside a person (the rare multi-ID case)
            text = pd.Series(np.asarray(masks, dtype=object)[ids["m"].to_numpy()], index=ids.index)
            ordered = ids.assign(t=text)[several].sort_values(["g", "t"], kind="stable")
            ids = pd.concat([ids[~several], ordered[["g", "m"]]])
            ids = ids.iloc[np.argsort(ids["g"].to_numpy(), kind="stable")]
        id_group = ids["g"].to_numpy().astype(np.int64)
        id_items = (ids["m"].to_numpy().astype(np.int64), _table(masks)[:-1])
    n = len(persons)

    def first_valid(column: str, mask: bool) -> Encoded:
        values = np.full(n, None, dtype=object)
        if column in ident:
            found = ident[column].notna().to_numpy()
            first = _first_rows(group[found])
            values[group[found][first]] = ident[column].to_numpy(dtype=object)[found][first]
        if not mask:
            return _encode(values)
        codes, uniques = pd.factorize(values)
        table = _table([mask_name(str(u)) for u in uniques])
        return np.where(codes < 0, len(uniques), codes).astype(np.int64), table

    return (
        (rec_group, records),
        (id_group, [_later(id_group), id_items]),
        first_valid(NAME, mask=True),
        first_valid(SEX, mask=False),
    )


def write_history_lines(histories: Histories, identities: pd.DataFrame, handle: TextIO) -> int:
    """Write one JSON line per person to ``handle``; return the number of lines.

    Same arguments and content as :func:`matcher.histories.history_documents` (``identities``:
    ``PERSON_ID``, ``SOURCE``, ``PERSON_REF``, optionally ``NAME``, ``ID_KEY``, ``SEX``).
    """
    persons = histories.persons
    n = len(persons)
    index = pd.Index(persons[PERSON_ID])
    ev_person = index.get_indexer(histories.events[PERSON_ID]).astype(np.int64)
    event_sections = _event_sections(histories, ev_person)
    records, identifiers, name, sex = _identity_sections(identities, index)
    just = histories.events[JUSTIFIES].to_numpy(dtype=bool)
    just_group = ev_person[just]
    number = _ints(histories.events[DOSE_NUMBER].to_numpy()[just])
    middle: list[Part] = ['], "name": ', name, ', "birth_date": ', _months(persons[BIRTH_DATE]), ', "sex": ', sex, ', "doses": [']  # fmt: skip
    status: list[Part] = [
        '], "status": {"state": ',
        _encode(persons[STATUS]),
        ', "date": ',
        _dates(persons[STATUS_DATE]),
        ', "primary_complete_date": ',
        _dates(persons[PRIMARY_COMPLETE_DATE]),
        ', "booster_count": ',
        _ints(persons[BOOSTER_COUNT].to_numpy()),
        ', "doses": [',
    ]
    tail: list[Part] = [']}, "flags": ', _flag_lists(persons[FLAGS].to_numpy(dtype=np.int64)), "}\n"]  # fmt: skip
    everyone = np.arange(n, dtype=np.int64)
    before: list[Section] = [
        (
            everyone,
            [_const(n, '{"person_id": '), _encode(persons[PERSON_ID]), _const(n, ', "records": [')],
        ),  # fmt: skip
        records,
        (everyone, [_const(n, '], "identifiers": [')]),
        identifiers,
        (everyone, [_render(n, middle)]),
    ]
    after: list[Section] = [
        (everyone, [_render(n, status)]),
        (just_group, [_render(len(just_group), [_later(just_group), number])]),
        (everyone, [_render(n, tail)]),
    ]
    for lo in range(0, n, _CHUNK_PERSONS):
        hi = min(n, lo + _CHUNK_PERSONS)
        first_event, last_event = np.searchsorted(ev_person, [lo, hi])
        doses, event_of = _interleave(int(first_event), int(last_event), event_sections)
        dose_person = ev_person[first_event + event_of]
        dose_section = (dose_person, [(np.arange(len(doses), dtype=np.int64), doses)])
        pieces, _ = _interleave(lo, hi, [*before, dose_section, *after])
        handle.write("".join(pieces.tolist()))
    return n
