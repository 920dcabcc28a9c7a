"""Adding many columns to a large frame without copying them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "as_series",
    "with_columns",
]

Column = npt.NDArray[Any] | pd.api.extensions.ExtensionArray


def as_series(values: Column | pd.Series, index: pd.Index | None = None) -> pd.Series:
    """A Series over ``values`` without copying them. Object arrays are taken as they are:
    pandas would otherwise scan each one for dates (~1 ms per million rows, dozens of times
    per link job)."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        values = np.asarray(values)  # its array itself (``to_numpy`` scans for missing values)
    dtype = object if isinstance(values, np.ndarray) and values.dtype == object else None
    return pd.Series(values, index=index, dtype=dtype, copy=False)


def with_columns(frame: pd.DataFrame, columns: Mapping[str, Column]) -> pd.DataFrame:
    """``frame`` with ``columns`` (one value per row) added, or replacing those of the same name.

    Like ``frame[name] = values`` for each on a shallow copy, but no array is copied: pandas
    copies every array assigned that way, and joining frames merges (copies) their blocks.
    Joining single columns does neither. ``frame`` is not changed.
    """
    if not columns or not frame.columns.is_unique:
        # Nothing to add, or names a dict of the columns would merge: assign one by one.
        out = frame.copy(deep=False)
        for name, values in columns.items():
            out[name] = values
        return out
    parts = dict(frame.items())
    for name, values in columns.items():
        parts[name] = as_series(values, frame.index)
    return pd.concat(parts, axis=1, copy=False)
