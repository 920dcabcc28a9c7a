"""Fast rendering of histories.jsonl: the lines of :func:`matcher.histories.history_documents`.

Every field is JSON-encoded once per distinct value and column-wise, into Arrow tables of
UTF-8 text; each row of a column is an integer code into its table. All tables share one
vocabulary, so the pieces of all lines are placed in output order as integer codes (index
arithmetic, no per-person Python loop) and one Arrow ``take`` per chunk of persons gathers
their bytes, which go to the file as they are. The output is byte-identical to
``json.dumps(document, ensure_ascii=False, default=str)`` per document.

Measured at 1M persons (2.4M events, 1.48 GB written, CPU on a loaded machine): the earlier
form of this module, the same layout with a Python string per piece joined by ``str.join``
and encoded by a text file, took 18.7 s; this one 7-8.5 s (see :mod:`matcher.text_pieces`).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any, BinaryIO, Final, TextIO

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
from matcher.dictionary import distinct, is_dictionary, known_text
from matcher.histories import (
    ADMINISTERING_SOURCE,
    BOOSTER_COUNT,
    DOSE_COUNT,
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
from matcher.sorting import lexsort_codes
from matcher.text_pieces import (
    Groups,
    Section,
    Vocabulary,
    Writes,
    interleave,
    json_strings,
    texts,
)

__all__ = [
    "IDENTITY_COLUMNS",
    "write_history_lines",
]

# The identity columns the lines are made from (``PERSON_ID``, ``SOURCE``, ``PERSON_REF``
# required).
IDENTITY_COLUMNS: Final = (PERSON_ID, SOURCE, PERSON_REF, NAME, ID_KEY, SEX)

Codes = npt.NDArray[np.int64]
Encoded = tuple[Codes, Any]  # per row an index into an Arrow table of JSON texts
Part = str | Encoded
_CHUNK_PERSONS: Final = 20_000  # persons rendered and written at a time (~30 MB of text)
_SEP: Final = ["", ", "]  # before the first / a later list item


def _scalar(value: Any) -> str:
    """One value as ``json.dumps(..., ensure_ascii=False, default=str)`` writes it."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, str):
        return str(encode_basestring(value))
    if isinstance(value, bool | int | float):
        return "null" if value != value else json.dumps(value)
    return str(encode_basestring(str(value)))


def _table(uniques: Any) -> Any:
    """JSON texts of ``uniques`` plus a final ``null`` (the code of missing values)."""
    known = known_text(uniques)
    if known is not None and not known.null_count:
        table = json_strings(known.cast(pa.string()))
    elif pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        table = json_strings(pa.array(np.asarray(uniques, dtype=object), type=pa.string()))
    else:
        table = texts([_scalar(u) for u in uniques])
    return pa.concat_arrays([table, texts(["null"])])


def _encode(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """Table of the JSON text of each distinct value, and each row's index into it."""
    if isinstance(values, pd.Series) and is_dictionary(values):
        codes, uniques = distinct(values)  # the dictionary's codes: no hashing
    else:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes).astype(np.int64)
    return codes, _table(uniques)


def _encode_rows(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """:func:`_encode` for a column of (nearly) distinct values: one text per row, no hashing."""
    values = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return _encode(values)
    table = json_strings(pa.array(values, type=pa.string()))
    return np.arange(len(values), dtype=np.int64), table


def _dates(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """``"YYYY-MM-DD"`` per date, ``null`` for NaT."""
    days = np.asarray(values, dtype="datetime64[D]")
    nat = np.isnat(days)
    codes, uniques = pd.factorize(days.astype(np.int64)[~nat])
    table = '"' + np.datetime_as_string(uniques.astype("datetime64[D]")).astype(object) + '"'
    out = np.full(len(days), len(uniques), np.int64)
    out[~nat] = codes
    return out, texts([*table.tolist(), "null"])


def _months(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """``"YYYY-MM"`` per date (birth dates beside a masked ID, see masking.mask_birth_date)."""
    codes, table = _dates(values)
    return codes, texts([t if t == "null" else t[:8] + '"' for t in table.to_pylist()])


def _ints(values: npt.NDArray[np.integer[Any]]) -> Encoded:
    codes, uniques = pd.factorize(np.asarray(values))
    return codes.astype(np.int64), texts([str(int(u)) for u in uniques])


def _flag_lists(masks: npt.NDArray[np.int64]) -> Encoded:
    codes, uniques = pd.factorize(masks)
    table = [json.dumps(flag_names(int(m)), ensure_ascii=False) for m in uniques]
    return codes.astype(np.int64), texts(table)


def _bools(values: npt.NDArray[Any]) -> Encoded:
    return np.asarray(values, dtype=bool).astype(np.int64), texts(["false", "true"])


def _later(groups: Groups) -> Encoded:
    """Separator before each list item (``groups`` sorted): none for each group's first."""
    later = np.r_[False, groups[1:] == groups[:-1]] if len(groups) else np.zeros(0, bool)
    return later.astype(np.int64), texts(_SEP)


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
    pieces = [
        part if isinstance(part, str) else part[1].take(pa.array(part[0][first])) for part in parts
    ]
    if all(isinstance(piece, str) for piece in pieces):
        pieces.append(pa.array([""] * len(first), type=pa.string()))
    return inverse.astype(np.int64), pc.binary_join_element_wise(*pieces, "")


def _const(n: int, text: str) -> Encoded:
    return np.zeros(n, np.int64), texts([text])


def _event_sections(histories: Histories, ev_person: Groups, vocab: Vocabulary) -> list[Section]:  # fmt: skip
    """Sections of every dose object (with its ``reported_by``), grouped by event."""
    ev = histories.events
    n = len(ev)
    reports = histories.reports
    event_of = reports[EVENT_ID].to_numpy()
    in_event = np.flatnonzero(event_of >= 0)
    order = in_event[lexsort_codes((reports[REPORT_RANK].to_numpy()[in_event], event_of[in_event]))]
    rep_event = event_of[order].astype(np.int64)
    m = len(order)

    def column(name: str) -> pd.Series:
        return pd.Series(reports[name].array.take(order))  # (not a copy of the whole frame)

    seq = _encode(column(DOSE_SEQ)) if DOSE_SEQ in reports else _encode(np.full(m, None, object))
    rep_head = _render(m, [_later(rep_event), '{"source": ', _encode(column(SOURCE)), ', "person_ref": '])  # fmt: skip
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
    event_columns = [_render(n, product), _render(n, lot_site), _render(n, labels)]
    report_columns = [rep_head, _encode(column(PERSON_REF)), rep_tail]
    return [
        (events, [vocab.codes(column) for column in event_columns]),
        (rep_event, [vocab.codes(column) for column in report_columns]),
        (events, [vocab.codes(tail)]),
    ]


def _first_rows(groups: Groups) -> npt.NDArray[np.bool_]:
    """True on the first row of each run of equal ``groups``."""
    return np.r_[True, groups[1:] != groups[:-1]] if len(groups) else np.zeros(0, bool)


def _mask_ids(keys: npt.NDArray[np.object_]) -> Any:
    """:func:`mask_id` of each key as Arrow text; 18-character ASCII alphanumeric keys by an
    Arrow kernel, the others one by one."""
    if pd.api.types.infer_dtype(keys, skipna=False) != "string":
        return texts([mask_id(str(k)) for k in keys])
    known = known_text(keys)
    text = known.cast(pa.string()) if known is not None else pa.array(keys, type=pa.string())
    fast = pc.fill_null(pc.match_substring_regex(text, "^[0-9A-Za-z]{18}$"), False)
    masked = pc.utf8_replace_slice(text, start=6, stop=14, replacement="*" * 8)
    if not pc.all(fast).as_py():
        slow = np.flatnonzero(~np.asarray(fast))
        fixed = texts([mask_id(k) for k in keys[slow].tolist()])
        masked = pc.replace_with_mask(masked, pc.invert(fast), fixed)
    return masked


def _person_codes(
    column: pd.Series, group: Groups, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Per person (``group``: sorted person per row), the code of its first non-missing value
    in ``column`` (-1: none), and the distinct values the codes index."""
    codes, uniques = distinct(column)
    found = codes >= 0
    first = _first_rows(group[found])
    out = np.full(n, -1, np.int64)
    out[group[found][first]] = codes[found][first]
    return out, uniques


def _used(codes: npt.NDArray[np.int64], uniques: npt.NDArray[Any]) -> tuple[Codes, list[Any]]:
    """``codes`` (-1 missing) renumbered over the values in use, missing last; those values."""
    used = np.zeros(len(uniques) + 1, dtype=bool)
    used[codes] = True  # (-1, missing: the last slot)
    present = np.flatnonzero(used[:-1])
    renumber = np.full(len(uniques) + 1, len(present), dtype=np.int64)
    renumber[present] = np.arange(len(present))
    return renumber[codes], uniques[present].tolist()


def _positions(person_ids: pd.Series, persons: pd.Index) -> npt.NDArray[np.intp]:
    """Each identity's position in ``persons`` (-1: none); a dictionary-encoded column whose
    categories are ``persons`` (as the link job passes them) by its codes, without hashing."""
    if is_dictionary(person_ids):
        codes, categories = distinct(person_ids)
        if len(categories) == len(persons) and pd.Index(categories).equals(persons):
            return codes
        found = np.append(persons.get_indexer(pd.Index(categories)), -1)  # code -1: missing
        return found[codes]
    return persons.get_indexer(pd.Index(person_ids))


def _identity_sections(identities: pd.DataFrame, persons: pd.Index, vocab: Vocabulary) -> tuple[Section, Section, Encoded, Encoded]:  # fmt: skip
    """``records`` and ``identifiers`` items; name and sex per person (as the dict path)."""
    columns = [c for c in IDENTITY_COLUMNS if c in identities]
    pos = _positions(identities[PERSON_ID], persons)
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
        codes, uniques = distinct(ident[ID_KEY])
        has = codes >= 0
        masked = pc.dictionary_encode(_mask_ids(uniques))  # different IDs, one mask: one item
        masks, mask_of = masked.dictionary, np.asarray(masked.indices, dtype=np.int64)
        ids = pd.DataFrame({"g": group[has], "m": mask_of[codes[has]]}).drop_duplicates()
        several = ids["g"].duplicated(keep=False).to_numpy()
        if several.any():  # identifiers sorted as text inside a person (the rare multi-ID case)
            text = masks.take(pa.array(ids["m"].to_numpy()[several])).to_pylist()
            ordered = ids[several].assign(t=text).sort_values(["g", "t"], kind="stable")
            ids = pd.concat([ids[~several], ordered[["g", "m"]]])
            ids = ids.iloc[np.argsort(ids["g"].to_numpy(), kind="stable")]
        id_group = ids["g"].to_numpy().astype(np.int64)
        id_items = (ids["m"].to_numpy().astype(np.int64), json_strings(masks))
    n = len(persons)

    def first_valid(column: str, mask: bool) -> Encoded:
        if column not in ident:
            return _const(n, "null")
        codes, values = _used(*_person_codes(ident[column], group, n))
        if not mask:
            return codes, _table(np.asarray(values, dtype=object))
        return codes, _table(np.asarray([mask_name(str(v)) for v in values], dtype=object))

    return (
        (rec_group, [vocab.codes(column) for column in records]),
        (id_group, [vocab.codes(_later(id_group)), vocab.codes(id_items)]),
        first_valid(NAME, mask=True),
        first_valid(SEX, mask=False),
    )


def _event_persons(histories: Histories, index: pd.Index) -> Groups:
    """Each event's position in ``histories.persons``.

    ``build_histories`` orders events by person in the order of ``persons`` (``DOSE_COUNT``
    each): checked by comparing the person ids, which is cheaper than looking them up.
    """
    counts = histories.persons[DOSE_COUNT].to_numpy()
    ev_ids = histories.events[PERSON_ID].to_numpy()
    if int(counts.sum()) == len(ev_ids):
        ev_person = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        if (index.to_numpy()[ev_person] == ev_ids).all():
            return ev_person
    return index.get_indexer(pd.Index(ev_ids)).astype(np.int64)


def write_history_lines(
    histories: Histories, identities: pd.DataFrame, handle: BinaryIO | TextIO
) -> int:
    """Write one JSON line per person to ``handle`` (UTF-8 bytes to a binary file); return the
    number of lines.

    Same arguments and content as :func:`matcher.histories.history_documents` (``identities``:
    ``PERSON_ID``, ``SOURCE``, ``PERSON_REF``, optionally ``NAME``, ``ID_KEY``, ``SEX``).
    """
    persons = histories.persons
    n = len(persons)
    index = pd.Index(persons[PERSON_ID])
    ev_person = _event_persons(histories, index)
    vocab = Vocabulary()
    event_sections = _event_sections(histories, ev_person, vocab)
    records, identifiers, name, sex = _identity_sections(identities, index, vocab)
    just = histories.events[JUSTIFIES].to_numpy(dtype=bool)
    just_group = ev_person[just]
    number = _ints(histories.events[DOSE_NUMBER].to_numpy()[just])
    # Name, then birth month and sex: few distinct each, where together they are ~one per person.
    named = _render(n, ['], "name": ', name])
    born = _render(n, [', "birth_date": ', _months(persons[BIRTH_DATE]), ', "sex": ', sex, ', "doses": ['])  # fmt: skip
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
    opening = [_const(n, '{"person_id": '), _encode_rows(persons[PERSON_ID]), _const(n, ', "records": [')]  # fmt: skip
    before: list[Section] = [
        (everyone, [vocab.codes(column) for column in opening]),
        records,
        (everyone, [vocab.codes(_const(n, '], "identifiers": ['))]),
        identifiers,
        (everyone, [vocab.codes(named), vocab.codes(born)]),
    ]
    numbers = _render(len(just_group), [_later(just_group), number])
    after: list[Section] = [
        (everyone, [vocab.codes(_render(n, status))]),
        (just_group, [vocab.codes(numbers)]),
        (everyone, [vocab.codes(_render(n, tail))]),
    ]
    vocab.finish()
    with Writes(handle) as writes:
        for lo in range(0, n, _CHUNK_PERSONS):
            hi = min(n, lo + _CHUNK_PERSONS)
            first_event, last_event = np.searchsorted(ev_person, [lo, hi])
            doses, event_of = interleave(int(first_event), int(last_event), event_sections)
            dose_person = ev_person[first_event + event_of]
            dose_section = (dose_person, [doses])
            pieces, _ = interleave(lo, hi, [*before, dose_section, *after])
            writes.put(vocab.gather(pieces))
    return n
