"""Fast rendering of histories.jsonl: the lines of :func:`matcher.histories.history_documents`.

Every field is JSON-encoded once per distinct value and column-wise, into Arrow tables of
UTF-8 text; each row of a column is an integer code into its table. All tables share one
vocabulary, so the pieces of all lines are placed in output order as integer codes (index
arithmetic, no per-person Python loop) and one Arrow ``take`` per chunk of persons gathers
their bytes, which go to the file as they are. The output is byte-identical to
``json.dumps(document, ensure_ascii=False, default=str)`` per document.

Measured at 1M persons (2.4M events, 1.48 GB written): the earlier form of this module, the
same layout with Python strings per piece joined by ``str.join`` and encoded by the text
file, took 18.7 s of CPU; codes and Arrow's gather take 4 s (see ``_Vocabulary``).
"""

from __future__ import annotations

import io
import json
from concurrent.futures import Future, ThreadPoolExecutor
from json.encoder import encode_basestring
from typing import Any, BinaryIO, Final, TextIO, cast

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

__all__ = ["IDENTITY_COLUMNS", "write_history_lines"]

# The identity columns the lines are made from (``PERSON_ID``, ``SOURCE``, ``PERSON_REF``
# required).
IDENTITY_COLUMNS: Final = (PERSON_ID, SOURCE, PERSON_REF, NAME, ID_KEY, SEX)

Groups = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int64]
Encoded = tuple[Codes, Any]  # per row an index into an Arrow table of JSON texts
Part = str | Encoded
Pieces = npt.NDArray[np.int32]  # codes into the vocabulary of all tables (``_Vocabulary``)
Section = tuple[Groups, list[Pieces]]  # sorted group per row; columns of pieces per row
_CHUNK_PERSONS: Final = 20_000  # persons rendered and written at a time (~30 MB of text)
_SEP: Final = ["", ", "]  # before the first / a later list item
# Characters ``json.dumps`` escapes in a string (with ensure_ascii=False): RE2 syntax.
_ESCAPED: Final = r'["\\\x00-\x1f]'


def _scalar(value: Any) -> str:
    """One value as ``json.dumps(..., ensure_ascii=False, default=str)`` writes it."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, str):
        return str(encode_basestring(value))
    if isinstance(value, bool | int | float):
        return "null" if value != value else json.dumps(value)
    return str(encode_basestring(str(value)))


def _texts(values: list[str]) -> Any:
    return pa.array(values, type=pa.string())


def _json_strings(text: Any) -> Any:
    """JSON strings of Arrow text, nulls as ``null`` (``json.dumps`` escapes only ``"``, ``\\``
    and control characters: the few strings holding one are encoded by Python)."""
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    escaped = pc.fill_null(pc.match_substring_regex(text, _ESCAPED), False)
    if pc.any(escaped).as_py():
        at = pa.array(np.flatnonzero(np.asarray(escaped)))
        fixed = [str(encode_basestring(s)) for s in text.take(at).to_pylist()]
        quoted = pc.replace_with_mask(quoted, escaped, _texts(fixed))
    return pc.fill_null(quoted, "null")


def _table(uniques: Any) -> Any:
    """JSON texts of ``uniques`` plus a final ``null`` (the code of missing values)."""
    known = known_text(uniques)
    if known is not None and not known.null_count:
        texts = _json_strings(known.cast(pa.string()))
    elif pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        texts = _json_strings(pa.array(np.asarray(uniques, dtype=object), type=pa.string()))
    else:
        texts = _texts([_scalar(u) for u in uniques])
    return pa.concat_arrays([texts, _texts(["null"])])


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
    table = _json_strings(pa.array(values, type=pa.string()))
    return np.arange(len(values), dtype=np.int64), table


def _dates(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """``"YYYY-MM-DD"`` per date, ``null`` for NaT."""
    days = np.asarray(values, dtype="datetime64[D]")
    nat = np.isnat(days)
    codes, uniques = pd.factorize(days.astype(np.int64)[~nat])
    table = '"' + np.datetime_as_string(uniques.astype("datetime64[D]")).astype(object) + '"'
    out = np.full(len(days), len(uniques), np.int64)
    out[~nat] = codes
    return out, _texts([*table.tolist(), "null"])


def _months(values: pd.Series | npt.NDArray[Any]) -> Encoded:
    """``"YYYY-MM"`` per date (birth dates beside a masked ID, see masking.mask_birth_date)."""
    codes, table = _dates(values)
    return codes, _texts([t if t == "null" else t[:8] + '"' for t in table.to_pylist()])


def _ints(values: npt.NDArray[np.integer[Any]]) -> Encoded:
    codes, uniques = pd.factorize(np.asarray(values))
    return codes.astype(np.int64), _texts([str(int(u)) for u in uniques])


def _flag_lists(masks: npt.NDArray[np.int64]) -> Encoded:
    codes, uniques = pd.factorize(masks)
    table = [json.dumps(flag_names(int(m)), ensure_ascii=False) for m in uniques]
    return codes.astype(np.int64), _texts(table)


def _bools(values: npt.NDArray[Any]) -> Encoded:
    return np.asarray(values, dtype=bool).astype(np.int64), _texts(["false", "true"])


def _later(groups: Groups) -> Encoded:
    """Separator before each list item (``groups`` sorted): none for each group's first."""
    later = np.r_[False, groups[1:] == groups[:-1]] if len(groups) else np.zeros(0, bool)
    return later.astype(np.int64), _texts(_SEP)


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
    return np.zeros(n, np.int64), _texts([text])


class _Vocabulary:
    """The tables of every encoded column as one Arrow text array; rows become codes into it.

    The pieces of a chunk of lines are then one integer array, and ``take`` gathers their
    text in C++ into one buffer, written as it is: no Python string per piece, no join, no
    encoding by a text file (at 1M persons: ~35M pieces, 1.48 GB; the pieces as Python
    strings, ``str.join`` and the text file's UTF-8 encoding cost ~12 s of CPU, the gather
    and the write ~1.5 s).
    """

    def __init__(self) -> None:
        self._tables: list[Any] = []
        self._size = 0
        self.text: Any = None

    def codes(self, encoded: Encoded) -> Pieces:
        """Vocabulary codes (int32: 4 bytes per piece) of an encoded column's rows."""
        codes, table = encoded
        self._tables.append(table)
        self._size += len(table)
        return (codes + (self._size - len(table))).astype(np.int32)

    def finish(self) -> None:
        """Join the tables into one text array (64-bit offsets from 2 GiB of text on), each
        table copied in and released in turn: the tables are not held twice."""
        sizes = [_text_span(table) for table in self._tables]
        total = sum(end - start for start, end in sizes)
        width = np.int64 if total >= 2**31 else np.int32
        offsets = np.empty(self._size + 1, dtype=width)
        data = np.empty(total, dtype=np.uint8)
        at = written = 0
        tables, self._tables = self._tables[::-1], []
        for start, end in sizes:
            table = tables.pop()
            table_offsets = _offsets(table)
            offsets[at : at + len(table)] = table_offsets[:-1] - start + written
            if end > start:
                data[written : written + end - start] = np.frombuffer(
                    table.buffers()[2], dtype=np.uint8, count=end - start, offset=start
                )
            at += len(table)
            written += end - start
        offsets[-1] = written
        kind = pa.large_string() if width == np.int64 else pa.string()
        self.text = pa.Array.from_buffers(
            kind, self._size, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )

    def gather(self, codes: Pieces) -> memoryview:
        """UTF-8 bytes of the pieces ``codes``, in order."""
        text = self.text.take(pa.array(codes))
        start, end = _text_span(text)
        data = text.buffers()[2]
        return memoryview(b"") if data is None else memoryview(data)[start:end]


def _offsets(text: Any) -> npt.NDArray[np.int64]:
    """The ``len(text) + 1`` value offsets of an Arrow (large) string array."""
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], dtype=width)
    return offsets[text.offset : text.offset + len(text) + 1].astype(np.int64)


def _text_span(text: Any) -> tuple[int, int]:
    """Where the values of an Arrow (large) string array lie in its data buffer."""
    offsets = _offsets(text)
    return int(offsets[0]), int(offsets[-1])


def _interleave(lo: int, hi: int, sections: list[Section]) -> tuple[Pieces, Groups]:
    """Pieces of groups ``lo``..``hi``-1 ordered by group, section, row in section, column.

    A section is a sorted group per row and one or more columns (vocabulary codes) per row.
    Returns the pieces' codes and their group minus ``lo``.
    """
    n_groups = hi - lo
    rows = []
    for groups, columns in sections:
        start, stop = np.searchsorted(groups, [lo, hi])
        rows.append((groups[start:stop] - lo, [c[start:stop] for c in columns]))
    counts = [np.bincount(g, minlength=n_groups) * len(cols) for g, cols in rows]
    totals = np.sum(counts, axis=0)
    base = np.cumsum(totals) - totals
    out = np.empty(int(totals.sum()), dtype=np.int32)
    for (groups, materialised), count in zip(rows, counts, strict=True):
        first = np.cumsum(count) - count
        at = base[groups] + (np.arange(len(groups)) * len(materialised) - first[groups])
        for j, pieces in enumerate(materialised):
            out[at + j] = pieces
        base = base + count
    return out, np.repeat(np.arange(n_groups, dtype=np.int64), totals)


def _event_sections(histories: Histories, ev_person: Groups, vocab: _Vocabulary) -> list[Section]:  # fmt: skip
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
        return _texts([mask_id(str(k)) for k in keys])
    known = known_text(keys)
    text = known.cast(pa.string()) if known is not None else pa.array(keys, type=pa.string())
    fast = pc.fill_null(pc.match_substring_regex(text, "^[0-9A-Za-z]{18}$"), False)
    masked = pc.utf8_replace_slice(text, start=6, stop=14, replacement="*" * 8)
    if not pc.all(fast).as_py():
        slow = np.flatnonzero(~np.asarray(fast))
        fixed = _texts([mask_id(k) for k in keys[slow].tolist()])
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


def _identity_sections(identities: pd.DataFrame, persons: pd.Index, vocab: _Vocabulary) -> tuple[Section, Section, Encoded, Encoded]:  # fmt: skip
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
        id_items = (ids["m"].to_numpy().astype(np.int64), _json_strings(masks))
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
    vocab = _Vocabulary()
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
    with _Writes(handle) as writes:
        for lo in range(0, n, _CHUNK_PERSONS):
            hi = min(n, lo + _CHUNK_PERSONS)
            first_event, last_event = np.searchsorted(ev_person, [lo, hi])
            doses, event_of = _interleave(int(first_event), int(last_event), event_sections)
            dose_person = ev_person[first_event + event_of]
            dose_section = (dose_person, [doses])
            pieces, _ = _interleave(lo, hi, [*before, dose_section, *after])
            writes.put(vocab.gather(pieces))
    return n


class _Writes:
    """Writes chunks of bytes to ``handle`` on a second thread, one chunk at a time, while the
    caller gathers the next (the write releases the GIL, and so does Arrow's gather).

    At 1M persons the writes of the 1.48 GB took 3.9 s on the second thread (a loaded
    machine), of which the main thread waited 0.2 s. A text handle (tests, ``io.StringIO``)
    gets decoded text, written at once.
    """

    def __init__(self, handle: BinaryIO | TextIO) -> None:
        self._handle = handle
        self._text = isinstance(handle, io.TextIOBase)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vaxlink-write")
        self._pending: Future[int] | None = None

    def put(self, data: memoryview) -> None:
        """Queue ``data`` (kept alive until written) after the chunk being written."""
        if self._text:
            cast(TextIO, self._handle).write(str(data, "utf-8"))
            return
        self._wait()
        self._pending = self._pool.submit(cast(BinaryIO, self._handle).write, data)

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()  # (raises the write's error, if any)
            self._pending = None

    def __enter__(self) -> _Writes:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown(wait=True)
