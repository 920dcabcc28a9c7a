"""Keyed hashes of Arrow strings: pandas' values, without Python strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher.keyed_hash as keyed_hash
from matcher.keyed_hash import pandas_hash

KEY = "vaxlink-personid"


def _pandas(strings: list[str], key: str = KEY) -> list[int]:
    values = np.array(strings, dtype=object)
    return pd.util.hash_array(values, hash_key=key, categorize=False).tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=30), max_size=40))
def test_the_hashes_are_pandas_hashes(strings: list[str]) -> None:
    assert pandas_hash(pa.array(strings, type=pa.string()), KEY).tolist() == _pandas(strings)


def test_every_length_and_block_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyed_hash, "_BLOCK", 7)  # several blocks per length
    rng = np.random.default_rng(2)
    strings = ["".join(rng.choice(list("ab|张1"), n)) for n in range(0, 40) for _ in range(9)]
    text = pa.array(strings, type=pa.large_string())
    assert pandas_hash(text, KEY).tolist() == _pandas(strings)
    assert pandas_hash(text, "0123456789abcdef").tolist() == _pandas(strings, "0123456789abcdef")


def test_missing_strings_and_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="missing"):
        pandas_hash(pa.array(["a", None]), KEY)
    with pytest.raises(ValueError, match="16-byte"):
        pandas_hash(pa.array(["a"]), "short")
