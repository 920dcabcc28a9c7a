"""Writers of the link job's output files (persons, pairs, review, rejects, model, summary)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from matcher import columns as c
from matcher.compare import FIELDS, LEFT, RIGHT, level_column
from matcher.decisions import DECISION, REVIEW_REASON, REVIEW_REASON_TEXT, RULES_FIRED, WEIGHT_RULES
from matcher.dictionary import known_text
from matcher.masking import mask_id, mask_name
from matcher.scoring import MATCH_PROBABILITY, MATCH_WEIGHT, weight_column

PAIR_KEY_COLUMNS = ("source_l", "person_ref_l", "source_r", "person_ref_r")


def persons_frame(records: pd.DataFrame) -> pd.DataFrame:
    """``source, person_ref, person_id``: one row per input person record.

    Dictionary-encoded columns stay encoded: ``write_csv`` formats each category once.
    """
    return records[[c.SOURCE, c.PERSON_REF, c.PERSON_ID]]


def pairs_frame(
    pairs: pd.DataFrame, records: pd.DataFrame, *, evidence: bool = False
) -> pd.DataFrame:
    """Pairs with both keys, levels, per-field weights, weight, probability and decision.

    Weights are rounded to 3 decimals, the probability to 6 (``write_csv`` formats each
    distinct number once). With ``evidence``, masked identifiers of both records are added for
    reviewers.
    """
    left = pairs[LEFT].to_numpy()
    right = pairs[RIGHT].to_numpy()
    out = pd.DataFrame(
        {
            f"{column}_{side}": records[column].array.take(idx)
            for side, idx in (("l", left), ("r", right))
            for column in (c.SOURCE, c.PERSON_REF)
        }
    )
    for f in FIELDS:
        out[level_column(f)] = pairs[level_column(f)].to_numpy()
    if "level_doses" in pairs:
        out["level_doses"] = pairs["level_doses"].to_numpy()
    for f in FIELDS:
        out[weight_column(f)] = pairs[weight_column(f)].round(3).to_numpy()
    out[WEIGHT_RULES] = pairs[WEIGHT_RULES].round(3).to_numpy()
    out[MATCH_WEIGHT] = pairs[MATCH_WEIGHT].round(3).to_numpy()
    out[MATCH_PROBABILITY] = pairs[MATCH_PROBABILITY].round(6).to_numpy()
    out[DECISION] = pairs[DECISION].to_numpy()
    out[RULES_FIRED] = pairs[RULES_FIRED].to_numpy()
    if evidence:
        reasons = (
            pairs[REVIEW_REASON] if REVIEW_REASON in pairs else pd.Series("", index=pairs.index)
        )
        out[REVIEW_REASON] = reasons.to_numpy(dtype=object)
        out[f"{REVIEW_REASON}_text"] = reasons.map(REVIEW_REASON_TEXT).fillna("").to_numpy()
        for side, idx in (("l", left), ("r", right)):
            ids = records[c.ID_KEY].take(idx).to_numpy(dtype=object)
            names = records[c.NAME_NORM].take(idx).to_numpy(dtype=object)
            out[f"id_masked_{side}"] = [mask_id(v) if isinstance(v, str) else "" for v in ids]
            out[f"name_masked_{side}"] = [mask_name(v) if isinstance(v, str) else "" for v in names]
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as ``frame.to_csv(path, index=False)`` does, byte for byte, but faster.

    Each column becomes Arrow text exactly as pandas renders it (numbers and categories are
    formatted once per distinct value), fields are quoted where Python's ``csv`` module would
    quote them, and Arrow kernels join the rows. Columns of other types (datetimes, extension
    dtypes, objects that are not all text, ...) and compressed paths are left to pandas.
    """
    if not str(path).lower().endswith(_COMPRESSED_SUFFIXES):
        try:
            _write_csv(frame, path)
            return
        except _LeftToPandas:
            pass
    frame.to_csv(path, index=False)


class _LeftToPandas(Exception):
    """A column (or label) that only pandas renders exactly."""


# Rows per batch of ``write_csv`` (keeps each batch's text well below Arrow's 2 GiB limit).
_CSV_CHUNK_ROWS = 1 << 17
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")

# Renders rows [start, stop) of a column as CSV fields (Arrow text, no nulls).
_Renderer = Callable[[int, int], Any]


def _csv_line(fields: list[str]) -> str:
    """One line as ``to_csv`` writes it (Python's csv module, pandas' dialect)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=os.linesep).writerow(fields)
    return buffer.getvalue()


# The characters that make the csv module quote a field: the delimiter, the quote character
# and the line terminator's (whether a lone "\r" counts depends on the Python version).
_QUOTE_TRIGGERS = [ch for ch in ',"\r\n' if _csv_line([f"a{ch}b", ""]) != f"a{ch}b,{os.linesep}"]


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``write_csv`` (raises ``_LeftToPandas``, possibly after writing part of the file)."""
    if frame.shape[1] == 0 or not all(type(name) is str for name in frame.columns):
        raise _LeftToPandas
    renderers = [_renderer(series) for _, series in frame.items()]
    names = list(frame.columns)
    plain = pacsv.WriteOptions(include_header=False, quoting_style="none", eol=os.linesep)
    with open(path, "wb") as handle:
        handle.write(_csv_line(names).encode("utf-8"))
        for start in range(0, len(frame), _CSV_CHUNK_ROWS):
            stop = min(start + _CSV_CHUNK_ROWS, len(frame))
            texts = [render(start, stop) for render in renderers]
            if len(texts) > 1:
                # Fields that need no quotes (the usual case): Arrow's writer, which refuses
                # quotes, delimiters and line breaks in values (then: back to this batch's start).
                position = handle.tell()
                try:
                    pacsv.write_csv(pa.table(texts, names=names), handle, plain)
                    continue
                except pa.ArrowInvalid:
                    handle.seek(position)
                    handle.truncate()
            else:  # the csv module writes a row of one empty field as ""
                texts[0] = pc.if_else(pc.equal(texts[0], ""), '""', texts[0])
            last = pc.binary_join_element_wise(texts[-1], os.linesep, "")
            rows = pc.binary_join_element_wise(*texts[:-1], last, ",")
            offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
            first, end = offsets[rows.offset], offsets[rows.offset + len(rows)]
            handle.write(memoryview(rows.buffers()[2])[first:end])


def _renderer(series: pd.Series) -> _Renderer:
    """Rows of ``series`` as the text ``to_csv`` writes for them."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_renderer(series)
    if not isinstance(dtype, np.dtype):
        raise _LeftToPandas
    values = series.to_numpy()
    if dtype.kind == "O":
        return _object_renderer(values)
    if dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        # pandas writes ``values.astype(str)`` (shortest round-trip text; "" for NaN): formatted
        # once per distinct bit pattern, so -0.0 stays "-0.0".
        codes, distinct = pd.factorize(values.view(f"i{dtype.itemsize}"))
        numbers = np.asarray(distinct).view(dtype)
        text = numbers.astype(str).astype(object)
        text[np.isnan(numbers)] = ""
        return _dictionary_renderer(codes, pa.array(text, type=pa.string()))
    if dtype.kind in "iu":
        return lambda start, stop: pa.array(values[start:stop]).cast(pa.string())
    if dtype.kind == "b":
        return _dictionary_renderer(values.view(np.uint8), pa.array(["False", "True"]))
    raise _LeftToPandas


def _categorical_renderer(series: pd.Series) -> _Renderer:
    """Renderer of a Categorical: its text categories converted once (only those in use when
    the rows are fewer than the categories, as in pairs.csv)."""
    index = series.cat.categories
    if index.dtype != object:  # numbers, dates: as objects, like pandas (or left to pandas)
        return _object_renderer(series.to_numpy(dtype=object))
    codes = np.asarray(series.cat.codes, dtype=np.intp)
    if len(index) > len(codes):
        used = np.zeros(len(index) + 1, dtype=bool)
        used[codes] = True  # (-1, missing: the last slot)
        kept = np.flatnonzero(used[:-1])
        recode = np.full(len(index) + 1, len(kept), dtype=np.intp)
        recode[kept] = np.arange(len(kept))
        return _dictionary_renderer(recode[codes], _with_blank(index.to_numpy()[kept]))
    text = _with_blank(index.to_numpy())
    return _dictionary_renderer(np.where(codes < 0, len(index), codes), text)


def _with_blank(values: npt.NDArray[np.object_]) -> Any:
    """CSV text of distinct values and a last "" (for missing cells)."""
    return pa.concat_arrays([_text(values), pa.array([""])])


def _object_renderer(values: npt.NDArray[np.object_]) -> _Renderer:
    """Renderer of objects: text and missing cells (anything else raises ``_LeftToPandas``)."""
    return lambda start, stop: _text(values[start:stop])


def _dictionary_renderer(codes: npt.NDArray[Any], dictionary: Any) -> _Renderer:
    """Renderer of ``dictionary[codes]`` (the dictionary already CSV text)."""
    return lambda start, stop: dictionary.take(pa.array(codes[start:stop]))


def _text(values: npt.NDArray[np.object_]) -> Any:
    """Strings or missing cells (None, NaN, NA, NaT) → CSV fields: "" for missing, quoted where
    the csv module quotes. Raises ``_LeftToPandas`` on any other object (number, bytes, ...)."""
    known = known_text(values)  # categories read by Arrow: their text as it was read
    try:
        # (bytes, also mixed with str, become binary: refused below)
        text = pa.array(values, from_pandas=True) if known is None else known.cast(pa.string())
    except (pa.ArrowException, UnicodeError) as exc:
        raise _LeftToPandas from exc
    if isinstance(text, pa.ChunkedArray):  # over 2 GiB of text
        raise _LeftToPandas
    if text.type == pa.null():
        text = text.cast(pa.string())
    if text.type != pa.string():
        raise _LeftToPandas
    text = text.fill_null("")
    data = text.buffers()[2]
    blob = b"" if data is None else data.to_pybytes()  # (all of the buffer: at worst a
    if not any(ch.encode() in blob for ch in _QUOTE_TRIGGERS):  # needless check below)
        return text
    needs_quotes = reduce(pc.or_, (pc.match_substring(text, ch) for ch in _QUOTE_TRIGGERS))
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs_quotes, quoted, text)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write pretty, UTF-8 JSON."""
    path.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
