"""pandas frames ↔ Spark rows: the few dtypes of the link job's frames, losslessly.

Dates travel as int days since 1970 (null = NaT), text as strings (null = missing), bools and
integers as they are. ``Kinds`` (column → kind) is computed once on the driver and shipped
to the executors, which restore each batch to the dtypes the pandas functions expect.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Kinds",
    "ddl",
    "from_rows",
    "kinds_of",
    "to_rows",
]

Kinds = dict[str, str]  # column → "date" | "text" | a numpy dtype name (bool, int8, float32…)

_SPARK_TYPES = {
    "date": "int",
    "text": "string",
    "bool": "boolean",
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "uint8": "smallint",
    "float32": "float",
    "float64": "double",
}


def kinds_of(frame: pd.DataFrame) -> Kinds:
    """The kind of every column of ``frame``."""
    kinds: Kinds = {}
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[str(name)] = "date"
        elif isinstance(dtype, np.dtype) and dtype.name in _SPARK_TYPES:
            kinds[str(name)] = dtype.name
        else:
            kinds[str(name)] = "text"
    return kinds


def ddl(kinds: Kinds, extra: str = "") -> str:
    """A Spark DDL schema string of ``kinds`` (plus ``extra`` fields, DDL too)."""
    fields = [f"`{name}` {_SPARK_TYPES[kind]}" for name, kind in kinds.items()]
    return ", ".join([*fields, extra] if extra else fields)


def to_rows(frame: pd.DataFrame, kinds: Kinds) -> pd.DataFrame:
    """``frame`` as Spark takes it (the columns of ``kinds``, in order; absent ones null)."""
    out: dict[str, Any] = {}
    n = len(frame)
    for name, kind in kinds.items():
        if name not in frame:
            out[name] = pd.Series([None] * n, dtype=object)
            continue
        values = frame[name]
        if kind == "date":
            dates = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
            days = dates.astype("datetime64[D]")
            if bool((days.astype("datetime64[ns]") != dates)[~np.isnat(dates)].any()):
                raise ValueError(f"column {name}: a time of day where dates are expected")
            out[name] = pd.array(np.where(np.isnat(days), 0, days.astype(np.int64)), dtype="Int32")
            out[name][np.isnat(days)] = pd.NA
        elif kind == "text":
            objects = values.astype(object).to_numpy(dtype=object)
            objects[pd.isna(objects)] = None
            out[name] = objects
        else:
            out[name] = values.to_numpy()
    return pd.DataFrame(out)


def from_rows(frame: pd.DataFrame, kinds: Kinds) -> pd.DataFrame:
    """Rows from Spark back in the dtypes of ``kinds`` (other columns kept as they are)."""
    out = frame.copy(deep=False)
    for name, kind in kinds.items():
        if name not in out:
            continue
        values = out[name]
        if kind == "date":
            days = pd.to_numeric(values).to_numpy(dtype=np.float64)
            dates = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
            known = ~np.isnan(days)
            dates[known] = days[known].astype(np.int64).astype("datetime64[D]")
            out[name] = dates
        elif kind == "text":
            objects = values.astype(object).to_numpy(dtype=object)
            objects[pd.isna(objects)] = None
            out[name] = objects
        else:
            out[name] = values.to_numpy(dtype=kind)
    return out
