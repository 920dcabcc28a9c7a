"""Sorting integer codes by counting instead of comparing."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def group_order(codes: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.intp]:
    """``np.argsort(codes, kind="stable")`` of non-negative integer codes.

    A counting sort (pandas' ``groupsort_indexer``, the one its group-bys use), O(n + k) for k
    the largest code, where numpy's stable sort of 32- or 64-bit integers is a merge sort:
    5-10× faster on a million block or record codes. Codes spread far beyond the number of rows
    (where counting would cost more than comparing) and codes that are not all >= 0 go to numpy.
    """
    n = len(codes)
    if n == 0:
        return np.empty(0, dtype=np.intp)
    low, high = int(codes.min()), int(codes.max())
    if low < 0 or high > 4 * n + 1024:
        return np.argsort(codes, kind="stable")
    try:
        from pandas._libs.algos import groupsort_indexer
    except ImportError:  # pragma: no cover - a pandas without it
        return np.argsort(codes, kind="stable")
    order, _ = groupsort_indexer(np.asarray(codes, dtype=np.intp), high + 1)
    return np.asarray(order, dtype=np.intp)
