"""Dictionary-encoded text columns: each distinct value stored once, rows as integer codes.

Exports repeat most of their text on every dose row (a person's name, ID and phone on each of
their doses; a site or vaccine on thousands of rows). The readers therefore hand text columns
over as pandas ``Categorical`` (Arrow's dictionary encoding): work per distinct value instead of
per row, integer codes instead of string hashing, and a fraction of the memory. Functions here
accept plain object columns too, so callers need not care which they got.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "ObjectArray",
    "arrow_strings",
    "as_object",
    "ascii_matrix",
    "constant",
    "dictionary_column",
    "distinct",
    "encode",
    "expand",
    "fill_missing",
    "first_seen_numbers",
    "forget_text",
    "from_arrow",
    "is_dictionary",
    "known_text",
    "made_of",
    "map_distinct",
    "per_file",
    "sorted_dictionary",
    "text_ids",
    "with_missing_slot",
]

ObjectArray = npt.NDArray[np.object_]


def is_dictionary(series: pd.Series) -> bool:
    """True when ``series`` is dictionary-encoded (pandas Categorical)."""
    return isinstance(series.dtype, pd.CategoricalDtype)


def from_arrow(array: Any) -> pd.Series:
    """Arrow text → Categorical: values trimmed, blank cells missing.

    ``array`` is an Array, a ChunkedArray or a sequence of arrays; each chunk holds strings,
    dictionary-encoded strings (as Arrow's CSV reader makes them, one dictionary per block) or
    nulls. Dictionary chunks are merged with one hash pass over their dictionaries, never over
    the rows, and are trimmed and checked for blanks there; without any, the cells are (one
    pass). Values that become equal after trimming (``" 张三"`` and ``"张三"``) share one
    category; categories are in order of first appearance either way.
    """
    import pyarrow as pa

    plain = _plain_chunks(array)
    if plain is not None:  # text as parsed: one pass over the cells
        if not plain:
            return dictionary_column(np.empty(0, dtype=np.int64), np.empty(0, dtype=object))
        codes, values = _hashed_entries(_trimmed(pa.concat_arrays(plain)))
        return dictionary_column(codes, values)
    chunks = _dictionary_chunks(array)
    if not chunks:
        return dictionary_column(np.empty(0, dtype=np.int64), np.empty(0, dtype=object))
    # Every block's distinct values, trimmed, blanks as nulls; one pass merges them.
    entries = pa.concat_arrays([chunk.dictionary.cast(pa.string()) for chunk in chunks])
    merged_codes, values = _hashed_entries(_trimmed(entries))
    # Row → its block's entry → merged code (-1 where null or blank), gathered per block
    # straight into the final codes.
    codes = np.empty(sum(len(chunk) for chunk in chunks), dtype=_code_dtype(len(values)))
    start = offset = 0
    for chunk in chunks:
        end = offset + len(chunk.dictionary)
        lookup = np.append(merged_codes[offset:end], -1).astype(codes.dtype)
        local = chunk.indices
        if local.null_count:
            local = local.fill_null(-1)  # index -1 wraps to the last slot: missing
        block = local.to_numpy(zero_copy_only=False)
        np.take(lookup, block, out=codes[start : start + len(chunk)], mode="wrap")
        start += len(chunk)
        offset = end
    return dictionary_column(codes, values)


def _hashed_entries(entries: Any) -> tuple[npt.NDArray[Any], ObjectArray]:
    """``pc.dictionary_encode`` of Arrow strings as (code per entry, -1 for null; the distinct
    values as objects, in order of first appearance)."""
    import pyarrow.compute as pc

    merged = pc.dictionary_encode(entries)
    codes = merged.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return codes, _remembered_objects(merged.dictionary)


def _trimmed(text: Any) -> Any:
    """Arrow strings trimmed of whitespace, empty ones null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _chunks(array: Any) -> list[Any]:
    """The arrays of an Array, a ChunkedArray or a sequence of them."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        return list(array.chunks)
    if isinstance(array, pa.Array):
        return [array]
    return [part for item in array for part in _chunks(item)]


def _plain_chunks(array: Any) -> list[Any] | None:
    """The non-empty chunks of ``array`` as plain strings when none is dictionary-encoded
    (null chunks included); None otherwise."""
    import pyarrow as pa

    chunks = [chunk for chunk in _chunks(array) if len(chunk)]
    if any(pa.types.is_dictionary(chunk.type) for chunk in chunks):
        return None
    return [chunk.cast(pa.string()) for chunk in chunks]


def _dictionary_chunks(array: Any) -> list[Any]:
    """The non-empty chunks of ``array`` as dictionary arrays (strings and nulls encoded)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = []
    for chunk in _chunks(array):
        if len(chunk) == 0:
            continue
        if pa.types.is_null(chunk.type):
            chunk = chunk.cast(pa.string())
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        encoded.append(chunk)
    return encoded


def encode(series: pd.Series) -> pd.Series:
    """A text column → Categorical, like ``from_arrow``: trimmed, blank cells missing.

    Non-text cells (numbers from spreadsheets) are kept as their ``str``. A Categorical is
    taken as already encoded and returned as it is.
    """
    if is_dictionary(series):
        return series
    codes, values = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    texts = np.array([v.strip() if isinstance(v, str) else str(v) for v in values], dtype=object)
    return _recode(np.asarray(codes, dtype=np.int64), texts).set_axis(series.index, copy=False)


def dictionary_column(
    codes: npt.NDArray[Any], categories: ObjectArray, *, text: Any = None
) -> pd.Series:
    """A Categorical column from codes (-1 = missing) and distinct, non-missing categories
    (their distinctness is not re-checked); ``text``, the categories as Arrow strings, is
    remembered with them (see ``known_text``)."""
    if text is not None:
        _remember_text(categories, text)
    codes = codes.astype(_code_dtype(len(categories)), copy=False)
    return pd.Series(_from_codes(codes, pd.Index(categories, dtype=object), distinct=True))


def _from_codes(codes: npt.NDArray[Any], index: pd.Index, *, distinct: bool) -> pd.Categorical:
    """``Categorical.from_codes`` without validation (codes are in range by construction).

    ``distinct``: the categories are known to be distinct and non-missing, as every caller
    here makes them (factorize uniques, Arrow dictionaries, existing categories).
    """
    if distinct:
        # Telling pandas the categories are distinct and non-missing saves hashing them all
        # again (0.25 s per million) and a missing-value scan (0.045 s per million) when it
        # checks the dtype.
        cache = cast(Any, index)._cache
        cache["is_unique"] = True
        cache["hasnans"] = False
    return cast(Any, pd.Categorical).from_codes(codes, categories=index, validate=False)


def _recode(codes: npt.NDArray[np.int64], values: ObjectArray) -> pd.Series:
    """Categorical of ``values[codes]`` (code -1 = missing); blank or None values → missing."""
    cleaned = values.copy()
    cleaned[pd.isna(values) | (values == "")] = None
    merged, categories = pd.factorize(cleaned, use_na_sentinel=True)
    lookup = np.append(merged, -1)  # code -1 picks the last slot: missing
    return dictionary_column(lookup[codes], np.asarray(categories, dtype=object))


def _code_dtype(n: int) -> type[np.signedinteger[Any]]:
    if n < 2**7:
        return np.int8
    if n < 2**15:
        return np.int16
    return np.int32


def distinct(series: pd.Series) -> tuple[npt.NDArray[np.intp], ObjectArray]:
    """(codes, distinct values): ``values[codes]`` is the column, code -1 where missing."""
    if is_dictionary(series):
        categorical = series.array
        codes = np.asarray(categorical.codes, dtype=np.intp)
        return codes, np.asarray(categorical.categories, dtype=object)
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def with_missing_slot(values: ObjectArray) -> ObjectArray:
    """``values`` plus a last ``None``: ``take`` with code -1 then gives ``None``."""
    return np.concatenate([values, np.array([None], dtype=object)])


def as_object(series: pd.Series) -> ObjectArray:
    """The column as an object array with ``None`` for missing values."""
    if is_dictionary(series):
        codes, values = distinct(series)
        return with_missing_slot(values).take(codes)
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def map_distinct(series: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``function`` applied once per distinct non-missing value (missing stays missing).

    A Categorical stays Categorical (values that become equal share a category; ``None`` or
    ``""`` results become missing); an object column gives an object column.
    """
    codes, values = distinct(series)
    results = np.array([function(v) for v in values] + [None], dtype=object)
    if is_dictionary(series):
        return _recode(np.asarray(codes, dtype=np.int64), results[:-1]).set_axis(
            series.index, copy=False
        )
    return pd.Series(results.take(codes), index=series.index, dtype=object)


def constant(value: str | None, length: int) -> pd.Series:
    """A Categorical column holding ``value`` (or missing) on every row."""
    if value is None:
        codes, categories = np.full(length, -1, dtype=np.int8), pd.Index([], dtype=object)
    else:
        codes, categories = np.zeros(length, dtype=np.int8), pd.Index([value], dtype=object)
    categorical = _from_codes(codes, categories, distinct=True)
    return pd.Series(categorical)


def expand(
    codes: npt.NDArray[np.integer[Any]],
    values: Any,
    *,
    index: pd.Index | None = None,
    dictionary: bool = False,
    name: Hashable | None = None,
    ids: npt.NDArray[np.integer[Any]] | None = None,
    text: Any = None,
) -> pd.Series:
    """A per-row column from one value per distinct input: row ``i`` gets ``values[codes[i]]``.

    ``values`` (a numpy or Arrow array) ends with the value for missing input (code -1 picks
    the last element). With ``dictionary`` an object-valued result is dictionary-encoded
    (values that coincide share a category, ``None`` is missing); otherwise, and for typed
    values, a plain column. ``ids``, one integer per value that is equal exactly when the
    values are (-1 for missing; see ``text_ids``), makes the encoding hash those integers
    instead of the values: the same categories in the same order, faster for text (without
    them, text is numbered by Arrow's hash, other values by ``pd.factorize``). ``text``,
    the values as Arrow strings (when ``values`` are not), is remembered with the categories
    (see ``known_text``).
    """
    if dictionary and ids is None:
        # Text is numbered by Arrow's hash (3-5× faster than ``pd.factorize`` on fresh Python
        # strings); values Arrow cannot take as text are factorized below.
        numbered = _text_ids(values)
        if numbered is not None:
            ids, text = numbered[0], numbered[1] if text is None else text
    if dictionary and ids is not None:
        value_codes, first = _encode_ids(ids)
        categories = _objects(values.take(first))
        if text is not None or not isinstance(values, np.ndarray):
            _remember_text(categories, (values if text is None else text).take(first))
        series = _expanded(codes, value_codes, categories)
    else:
        values = values if isinstance(values, np.ndarray) else _objects(values)
        if dictionary and values.dtype == object:
            merged, categories = pd.factorize(values, use_na_sentinel=True)
            series = _expanded(codes, merged, np.asarray(categories, dtype=object))
        else:
            series = pd.Series(values.take(codes), dtype=values.dtype, copy=False)
    if index is not None:
        series.index = index
    series.name = name
    return series


def _expanded(
    codes: npt.NDArray[np.integer[Any]], value_codes: npt.NDArray[Any], categories: ObjectArray
) -> pd.Series:
    """Categorical of ``categories[value_codes[codes]]``, gathered straight into small codes."""
    small = value_codes.astype(_code_dtype(len(categories)))
    return pd.Series(_from_codes(small[codes], pd.Index(categories, dtype=object), distinct=True))


def _text_ids(values: Any) -> tuple[npt.NDArray[np.intp], Any] | None:
    """(``ids`` for ``expand``, the values as Arrow strings) of Arrow strings, or of an object
    array of ``str`` and missing values, numbered by Arrow's hash of the text. None for other
    values, and for text that is not UTF-8 (a lone surrogate)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, np.ndarray):
        if values.dtype != object:
            return None
        try:
            values = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowException, UnicodeEncodeError):
            return None
    elif not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    ids = pc.dictionary_encode(values).indices.fill_null(-1)
    return np.asarray(ids.to_numpy(zero_copy_only=False), dtype=np.intp), values


def _encode_ids(ids: npt.NDArray[np.integer[Any]]) -> tuple[npt.NDArray[np.intp], Any]:
    """Codes of ``ids`` in order of first appearance (-1 for id -1), as ``pd.factorize`` gives
    them, and the position where each code first appears."""
    codes, uniques = pd.factorize(ids)
    # Codes are numbered in order of first appearance: the running maximum grows there.
    running = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.diff(running, prepend=-1) > 0)
    missing = np.flatnonzero(uniques == -1)
    if len(missing):
        at = missing[0]
        first = np.delete(first, at)
        codes = np.where(codes == at, -1, codes - (codes > at))
    return codes, first


def first_seen_numbers(
    keys: npt.NDArray[np.integer[Any]], size: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """Number integer keys (0..size-1; -1 missing) in order of their first row, as
    ``pd.factorize`` numbers values, without hashing: (number per row, -1 where missing; the
    key of each number)."""
    n = len(keys)
    first = np.full(size + 1, n, dtype=np.intp)  # last slot: missing (key -1)
    np.minimum.at(first, keys, np.arange(n))
    is_first = np.zeros(n + 1, dtype=bool)  # slot n: keys that never appear
    is_first[first[:-1]] = True
    distinct_keys = keys[is_first[:n]]  # in order of first row
    rank = np.full(size + 1, -1, dtype=np.intp)
    rank[distinct_keys] = np.arange(len(distinct_keys))
    return rank[keys], distinct_keys


def _objects(values: Any) -> ObjectArray:
    """A numpy or Arrow array as an object array (``None`` for Arrow nulls)."""
    if isinstance(values, np.ndarray):
        return values.astype(object, copy=False)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)


# Arrow strings that object arrays of distinct values were made from, by the arrays' identity
# (entries leave with their arrays): converting a million category values back costs ~0.1 s.
_KNOWN_TEXT: dict[int, tuple[weakref.ref[ObjectArray], Any]] = {}


def _remember_text(values: ObjectArray, text: Any) -> None:
    """Remember ``text`` (Arrow strings, no nulls) as the Arrow form of ``values``."""
    import pyarrow as pa

    if text.null_count or not (
        pa.types.is_string(text.type) or pa.types.is_large_string(text.type)
    ):
        return
    key = id(values)

    def forget(_: object) -> None:
        _KNOWN_TEXT.pop(key, None)

    _KNOWN_TEXT[key] = (weakref.ref(values, forget), text)


def _remembered_objects(text: Any) -> ObjectArray:
    """Arrow strings as an object array, remembered with it (see ``known_text``)."""
    values = _objects(text)
    _remember_text(values, text)
    return values


def forget_text(series: pd.Series) -> None:
    """Drop the Arrow text remembered for a Categorical's categories (memory no longer needed
    once the column has been worked on); nothing for other columns."""
    if is_dictionary(series):
        _KNOWN_TEXT.pop(id(distinct(series)[1]), None)


def known_text(values: ObjectArray) -> Any | None:
    """The Arrow strings ``values`` were made from, when they are the distinct values of a
    column read by Arrow (``from_arrow``, ``expand`` of Arrow text); None otherwise."""
    entry = _KNOWN_TEXT.get(id(values))
    if entry is None or entry[0]() is not values:
        return None
    return entry[1]


def arrow_strings(values: ObjectArray) -> Any:
    """Arrow strings of the ``str`` values; other values, and text UTF-8 cannot encode (lone
    surrogates), are null."""
    import pyarrow as pa

    known = known_text(values)
    if known is not None:
        return known.cast(pa.string())
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        try:
            return pa.array(values, type=pa.string())
        except UnicodeEncodeError:
            pass
    return pa.array([v if _encodable(v) else None for v in values], type=pa.string())


def _encodable(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def ascii_matrix(strings: Any, width: int) -> npt.NDArray[np.uint8]:
    """(n, width) byte matrix of n Arrow strings that all have ``width`` bytes (no nulls)."""
    if len(strings) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    start = strings.offset
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[start : start + len(strings) + 1]
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(-1, width)


def made_of(text: Any, allowed: bytes) -> npt.NDArray[np.bool_]:
    """True where an Arrow string holds only bytes of ``allowed`` (ASCII; empty strings too),
    False for nulls: a regex such as ``^[0-9A-Z]*$`` without the regex engine."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    if not pa.types.is_string(text.type):
        text = text.cast(pa.string())
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(allowed, dtype=np.uint8)] = True
    start = text.offset
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[start : start + len(text) + 1]
    data = text.buffers()[2]
    lengths = np.diff(offsets)
    ok = lengths == 0
    filled = np.flatnonzero(~ok)
    if len(filled) and data is not None:
        raw = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
        bad = ~table[raw]
        any_bad = np.logical_or.reduceat(bad, offsets[filled] - offsets[0])
        ok[filled] = ~any_bad
    return ok & np.asarray(pc.is_valid(text), dtype=bool)


_DIGIT_X: Final = np.full(256, 255, dtype=np.uint8)
_DIGIT_X[np.frombuffer(b"0123456789X", dtype=np.uint8)] = np.arange(11, dtype=np.uint8)


def text_ids(text: Any, width: int) -> npt.NDArray[np.int64]:
    """``ids`` for ``expand`` of Arrow strings: equal exactly when the strings are, -1 for null.

    A string of ``width`` (at most 18) characters from ``0-9`` and ``X`` (ID numbers, phones)
    is its base-11 value, computed without hashing; other strings get negative ids by hashing.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not 0 < width <= 18:
        raise ValueError(f"width {width} is not in 1..18")
    ids = np.full(len(text), -1, dtype=np.int64)
    at = np.flatnonzero(np.asarray(pc.fill_null(pc.equal(pc.binary_length(text), width), False)))
    digits = _DIGIT_X[np.ascontiguousarray(ascii_matrix(text.take(at), width).T)]
    numeric = digits.max(axis=0, initial=0) <= 10  # only 0-9 and X (X = 10)
    value = np.zeros(len(at), dtype=np.int64)
    for row in digits:  # base 11: below 11**18 < 2**63
        value *= 11
        value += row
    ids[at[numeric]] = value[numeric]
    other = np.asarray(text.is_valid(), dtype=bool)
    other[at[numeric]] = False
    codes, _ = pd.factorize(text.filter(pa.array(other)).to_numpy(zero_copy_only=False))
    ids[other] = -2 - codes
    return ids


def sorted_dictionary(values: pd.Series) -> pd.Series:
    """``values`` dictionary-encoded with its categories in text order, so sorting by the codes
    (``pd.factorize(..., sort=True)``, group-bys) sorts by the text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = distinct(values)
    order = np.asarray(pc.sort_indices(pa.array(uniques.tolist(), type=pa.string())))
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    rank[-1] = -1  # code -1: missing
    return dictionary_column(rank[codes], uniques[order]).set_axis(values.index, copy=False)


def per_file(values: Sequence[str | None], file_codes: npt.NDArray[np.intp]) -> pd.Series:
    """A Categorical whose row ``i`` holds ``values[file_codes[i]]`` (one value per file)."""
    merged, categories = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    return dictionary_column(
        np.append(merged, -1)[file_codes], np.asarray(categories, dtype=object)
    )


def fill_missing(series: pd.Series, fallback: pd.Series) -> pd.Series:
    """``series`` with its missing cells taken from ``fallback`` (both Categorical)."""
    missing = series.isna().to_numpy()
    if not missing.any():
        return series
    codes, values = distinct(series)
    fill_codes, fill_values = distinct(fallback)
    merged, categories = pd.factorize(np.concatenate([values, fill_values]), use_na_sentinel=True)
    lookup = np.append(merged, -1)  # code -1 picks the last slot: missing
    own = lookup[codes]
    filled = lookup[np.where(fill_codes >= 0, fill_codes + len(values), -1)]
    return dictionary_column(np.where(missing, filled, own), np.asarray(categories, dtype=object))
