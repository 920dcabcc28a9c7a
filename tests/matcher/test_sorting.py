"""group_order is numpy's stable argsort of non-negative integer codes, by counting."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.sorting import group_order


@pytest.mark.parametrize(
    ("n", "largest"),
    [(0, 1), (1, 1), (10, 3), (100_000, 50), (100_000, 1_000_000), (1_000, 10**9)],
)
def test_group_order_is_the_stable_argsort(n: int, largest: int) -> None:
    codes = np.random.default_rng(n).integers(0, largest, n)
    order = group_order(codes)
    assert order.dtype == np.intp
    np.testing.assert_array_equal(order, np.argsort(codes, kind="stable"))


def test_group_order_of_negative_or_small_codes() -> None:
    for codes in (np.array([3, -1, 2, -1, 3]), np.array([2, 0, 1, 0], dtype=np.int8)):
        np.testing.assert_array_equal(group_order(codes), np.argsort(codes, kind="stable"))
