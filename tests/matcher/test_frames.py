"""Adding columns to a frame without copying them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matcher.frames import as_series, with_columns


def test_columns_are_added_or_replaced_without_copies_and_the_frame_is_kept() -> None:
    frame = pd.DataFrame({"a": np.arange(3), "b": ["x", "y", None]}, index=[5, 6, 7])
    added = np.array([1, 2, 3], dtype=np.int32)
    codes = pd.Categorical(["p", None, "p"])
    out = with_columns(frame, {"c": added, "a": np.zeros(3, dtype=np.int8), "d": codes})
    assert list(out.columns) == ["a", "b", "c", "d"]
    assert out.index.tolist() == [5, 6, 7]
    assert out["a"].dtype == np.int8 and out["c"].dtype == np.int32
    assert out["d"].dtype == "category" and out["d"].isna().tolist() == [False, True, False]
    assert np.shares_memory(out["c"].to_numpy(), added)
    assert list(frame.columns) == ["a", "b"] and frame["a"].tolist() == [0, 1, 2]


def test_duplicate_column_names_fall_back_to_assignment() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    out = with_columns(frame, {"b": np.array([3])})
    assert list(out.columns) == ["a", "a", "b"]
    assert out.iloc[0].tolist() == [1, 2, 3]
    assert with_columns(frame, {}).equals(frame)


def test_object_columns_are_taken_as_they_are() -> None:
    values = np.array(["x", None, "2024-01-01"], dtype=object)  # a date-like string too
    source = pd.Series(values, dtype=object)
    out = as_series(source, pd.RangeIndex(3))
    assert out.dtype == object and np.shares_memory(out.to_numpy(), values)
    assert out.tolist() == ["x", None, "2024-01-01"]
