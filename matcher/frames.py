"""Adding many columns to a large frame without copying them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt
import pandas as pd

Column = npt.NDArray[Any] | pd.api.extensions.ExtensionArray


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
        parts[name] = pd.Series(values, index=frame.index, copy=False)
    return pd.concat(parts, axis=1, copy=False)
