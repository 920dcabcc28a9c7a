"""Text as integer codes into one Arrow vocabulary: pieces placed by index arithmetic, their
bytes gathered by Arrow's ``take`` and written on a second thread.

The kernel of :mod:`matcher.history_lines` (1.48 GB of JSON lines at 1M persons): every
distinct piece of text is stored once, in Arrow tables joined into one ``Vocabulary``; a row
of text is a sequence of codes, so the output never exists as Python strings.
"""

from __future__ import annotations

import io
from concurrent.futures import Future, ThreadPoolExecutor
from json.encoder import encode_basestring
from typing import Any, BinaryIO, Final, TextIO, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Groups",
    "Section",
    "Vocabulary",
    "Writes",
    "interleave",
    "json_strings",
    "texts",
]

Groups = npt.NDArray[np.int64]  # a sorted group (line, list) per row
Pieces = npt.NDArray[np.int32]  # codes into a ``Vocabulary``
Section = tuple[Groups, list[Pieces]]  # sorted group per row; columns of pieces per row
Table = tuple[npt.NDArray[np.int64], Any]  # per row an index into an Arrow text table

# Characters ``json.dumps`` escapes in a string (with ensure_ascii=False): RE2 syntax.
_ESCAPED: Final = r'["\\\x00-\x1f]'


def texts(values: list[str]) -> Any:
    """Arrow text of Python strings."""
    return pa.array(values, type=pa.string())


def json_strings(text: Any) -> Any:
    """JSON strings of Arrow text, nulls as ``null`` (``json.dumps`` escapes only ``"``, ``\\``
    and control characters: the few strings holding one are encoded by Python)."""
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    escaped = pc.fill_null(pc.match_substring_regex(text, _ESCAPED), False)
    if pc.any(escaped).as_py():
        at = pa.array(np.flatnonzero(np.asarray(escaped)))
        fixed = [str(encode_basestring(s)) for s in text.take(at).to_pylist()]
        quoted = pc.replace_with_mask(quoted, escaped, texts(fixed))
    return pc.fill_null(quoted, "null")


class Vocabulary:
    """The tables of every encoded column as one Arrow text array; rows become codes into it.

    The pieces of a chunk of lines are then one integer array, and ``take`` gathers their
    text in C++ into one buffer, written as it is: no Python string per piece, no join, no
    encoding by a text file. At 1M persons (~33M pieces, 1.48 GB), placing Python strings,
    joining, encoding and writing them took ~9 s of CPU (from a profile); placing the codes,
    the gather and the write take 0.5 + 2.0 + 2.5 s.
    """

    def __init__(self) -> None:
        self._tables: list[Any] = []
        self._size = 0
        self.text: Any = None

    def codes(self, encoded: Table) -> Pieces:
        """Vocabulary codes (int32: 4 bytes per piece) of a column's rows, given as indices
        into its table."""
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


def interleave(lo: int, hi: int, sections: list[Section]) -> tuple[Pieces, Groups]:
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


class Writes:
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

    def __enter__(self) -> Writes:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown(wait=True)
