"""Dictionary-encoded text columns: each distinct value stored once, rows as integer codes.

Exports repeat most of their text on every dose row (a person's name, ID and phone on each of
their doses; a site or vaccine on thousands of rows). The readers therefore hand text columns
over as pandas ``Categorical`` (Arrow's dictionary encoding): work per distinct value instead of
per row, integer codes instead of string hashing, and a fraction of the memory. Functions here
accept plain object columns too, so callers need not care which they got.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

ObjectArray = npt.NDArray[np.object_]


def is_dictionary(series: pd.Series) -> bool:
    """True when ``series`` is dictionary-encoded (pandas Categorical)."""
    return isinstance(series.dtype, pd.CategoricalDtype)


def from_arrow(array: Any) -> pd.Series:
    """Arrow text → Categorical: values trimmed, blank cells missing.

    ``array`` is an Array, a ChunkedArray or a sequence of arrays; each chunk holds strings,
    dictionary-encoded strings (as Arrow's CSV reader makes them, one dictionary per block) or
    nulls. The chunks' dictionaries are merged with one hash pass over them, never over the
    rows. Trimming and the blank check run on the distinct values only; values that become
    equal after trimming (``" 张三"`` and ``"张三"``) share one category.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = _dictionary_chunks(array)
    if not chunks:
        return dictionary_column(np.empty(0, dtype=np.int64), np.empty(0, dtype=object))
    entries = pa.concat_arrays([chunk.dictionary.cast(pa.string()) for chunk in chunks])
    merged = pc.dictionary_encode(entries)
    # Row → its entry in ``entries`` (chunk offset + local index), then → merged code.
    rows = np.empty(sum(len(chunk) for chunk in chunks), dtype=np.int64)
    start = offset = 0
    for chunk in chunks:
        local = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        rows[start : start + len(chunk)] = np.where(local >= 0, local + offset, -1)
        start += len(chunk)
        offset += len(chunk.dictionary)
    entry_codes = np.append(merged.indices.to_numpy(zero_copy_only=False), -1)
    codes = entry_codes[rows]  # -1 (null cell) picks the last slot
    dictionary = merged.dictionary
    trimmed = pc.utf8_trim_whitespace(dictionary)
    values = np.asarray(trimmed.to_numpy(zero_copy_only=False), dtype=object)
    if not trimmed.equals(dictionary):
        return _recode(codes, values)  # trimming made some values equal or blank
    # Still distinct: only an empty-string entry has to go.
    blank = pc.index(dictionary, "").as_py()
    if blank < 0:
        return dictionary_column(codes, values)
    lookup = np.arange(len(values) + 1, dtype=np.int64)
    lookup[blank] = -1
    lookup[blank + 1 :] -= 1
    lookup[-1] = -1  # code -1 (null cell) stays missing
    return dictionary_column(lookup[codes], np.delete(values, blank))


def _dictionary_chunks(array: Any) -> list[Any]:
    """The non-empty chunks of ``array`` as dictionary arrays (strings and nulls encoded)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        chunks = list(array.chunks)
    elif isinstance(array, pa.Array):
        chunks = [array]
    else:
        chunks = [part for item in array for part in _dictionary_chunks(item)]
    encoded = []
    for chunk in chunks:
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
    return _recode(np.asarray(codes, dtype=np.int64), texts).set_axis(series.index)


def dictionary_column(codes: npt.NDArray[Any], categories: ObjectArray) -> pd.Series:
    """A Categorical column from codes (-1 = missing) and distinct, non-missing categories
    (their distinctness is not re-checked)."""
    codes = codes.astype(_code_dtype(len(categories)))
    return pd.Series(_from_codes(codes, pd.Index(categories, dtype=object), distinct=True))


def _from_codes(codes: npt.NDArray[Any], index: pd.Index, *, distinct: bool) -> pd.Categorical:
    """``Categorical.from_codes`` without validation (codes are in range by construction)."""
    if distinct:
        # Telling pandas the categories are distinct saves hashing them all again
        # (0.25 s per million) when it checks the dtype.
        cast(Any, index)._cache["is_unique"] = True
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
        return _recode(np.asarray(codes, dtype=np.int64), results[:-1]).set_axis(series.index)
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
    values: npt.NDArray[Any],
    *,
    index: pd.Index | None = None,
    dictionary: bool = False,
    name: Hashable | None = None,
) -> pd.Series:
    """A per-row column from one value per distinct input: row ``i`` gets ``values[codes[i]]``.

    ``values`` ends with the value for missing input (code -1 picks the last element). With
    ``dictionary`` an object-valued result is dictionary-encoded (values that coincide share
    a category, ``None`` is missing); otherwise, and for typed values, a plain column.
    """
    if dictionary and values.dtype == object:
        merged, categories = pd.factorize(values, use_na_sentinel=True)
        series = dictionary_column(merged[codes], np.asarray(categories, dtype=object))
    else:
        series = pd.Series(values.take(codes), dtype=values.dtype, copy=False)
    if index is not None:
        series.index = index
    series.name = name
    return series


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
    return dictionary_column(rank[codes], uniques[order]).set_axis(values.index)


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
