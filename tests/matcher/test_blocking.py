"""Blocking: vectorised pair generation, caps, the one-edit ID rule."""

from __future__ import annotations

import itertools
from random import Random

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import columns as c
from matcher.blocking import (
    ID_FORM_18,
    ID_FORM_BAD_CHECKSUM,
    ID_FORM_CHECKSUM_OK,
    ID_FORM_OTHER,
    block_pairs,
    encode,
    id_encoding,
    one_edit_id_pairs,
    pairs_within_blocks,
)
from matcher.resident_id import checksum_char
from matcher.settings import BlockingRule, MatchSettings


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=40))
def test_pairs_within_blocks_equals_brute_force(codes: list[int]) -> None:
    arr = np.array(codes, dtype=np.int64)
    rid = np.arange(len(codes), dtype=np.int64)[::-1].copy()
    left, right = pairs_within_blocks(arr, rid)
    got = {(min(a, b), max(a, b)) for a, b in zip(left.tolist(), right.tolist(), strict=True)}
    want = {
        (min(rid[i], rid[j]), max(rid[i], rid[j]))
        for i, j in itertools.combinations(range(len(codes)), 2)
        if codes[i] == codes[j]
    }
    assert got == want
    assert len(left) == len(want)  # no duplicates


def _records(keys: list[str | None], status: list[str] | None = None) -> pd.DataFrame:
    n = len(keys)
    return pd.DataFrame(
        {
            c.RECORD_ID: np.arange(n),
            c.ID_KEY: pd.Series(keys, dtype=object),
            c.ID_STATUS: status or ["valid"] * n,
            c.ID_DOC_TYPE: ["resident_id"] * n,
            "surname": ["张"] * n,
            "birth_key": [19900101] * n,
            "given_initial": ["w"] * n,
            "id_province": ["41"] * n,
            "name_pinyin": [None] * n,
            "name_tokens": [None] * n,
            "birth_year": [1990] * n,
            "birth_month": [1] * n,
            "phone": [None] * n,
        }
    )


def _valid(first17: str) -> str:
    return first17 + checksum_char(first17)


def test_one_edit_rule_finds_substitutions_and_transpositions_not_twins() -> None:
    base = _valid("41010219900101123")
    substituted = base[:10] + ("9" if base[10] != "9" else "8") + base[11:]
    transposed = base[:12] + base[13] + base[12] + base[14:]
    twin = _valid("41010219900101125")  # sequence two apart: a different valid number
    records = _records(
        [base, substituted, transposed, twin],
        ["valid", "checksum_error", "checksum_error", "valid"],
    )
    left, right = one_edit_id_pairs(records)
    found = set(zip(left.tolist(), right.tolist(), strict=True))
    assert (0, 1) in found
    assert (0, 2) in found
    assert (0, 3) not in found


def test_oversize_blocks_are_sub_blocked_then_reported() -> None:
    n = 30
    records = _records([None] * n)
    records["given_initial"] = ["a"] * 10 + ["b"] * 20
    rule = BlockingRule(
        name="bd_surname",
        keys=("birth_key", "surname"),
        sub_keys=("given_initial",),
        max_block_size=12,
    )
    pairs, report = block_pairs(
        records, MatchSettings(blocking_rules=(rule,), one_edit_id_rule=False)
    )
    assert report.pairs_per_rule["bd_surname"] == 45  # the 10 "a" records, sub-blocked
    assert report.capped_blocks["bd_surname"] == 1  # the 20 "b" records stay too large
    assert report.capped_records["bd_surname"] == 20
    assert len(pairs) == 45


def _rule_by_brute_force(
    table: list[tuple[int | None, ...]], keys: int, max_size: int
) -> tuple[set[tuple[int, int]], int, int]:
    """Pairs of a rule whose first ``keys`` columns are its keys and the rest its sub-keys,
    blocked the slow way: (pairs, skipped blocks, skipped records)."""
    pairs: set[tuple[int, int]] = set()
    skipped = [0, 0]

    def split(members: list[int], depth: int) -> None:
        groups: dict[tuple[int | None, ...], list[int]] = {}
        for i in members:
            key = table[i][: keys + depth]
            if None not in key:
                groups.setdefault(key, []).append(i)
        for group in groups.values():
            if len(group) <= max_size:
                pairs.update(itertools.combinations(group, 2))
            elif depth == len(table[0]) - keys:
                skipped[0] += 1
                skipped[1] += len(group)
            else:
                split(group, depth + 1)

    split(list(range(len(table))), 0)
    return pairs, skipped[0], skipped[1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.one_of(st.none(), st.integers(0, 3)) for _ in range(4)]),
        min_size=0,
        max_size=60,
    ),
    st.integers(min_value=2, max_value=8),
)
def test_rule_blocks_and_sub_blocks_as_brute_force_does(
    table: list[tuple[int | None, ...]], max_size: int
) -> None:
    n = len(table)
    columns = ("k1", "k2", "s1", "s2")
    records = pd.DataFrame(
        {c.RECORD_ID: np.arange(n, dtype=np.int64)}
        | {
            name: pd.Series(
                [None if row[i] is None else f"v{row[i]}" for row in table], dtype=object
            )
            for i, name in enumerate(columns)
        }
    )
    rule = BlockingRule(name="r", keys=("k1", "k2"), sub_keys=("s1", "s2"), max_block_size=max_size)
    pairs, report = block_pairs(
        records, MatchSettings(blocking_rules=(rule,), one_edit_id_rule=False)
    )
    want, blocks, skipped = _rule_by_brute_force(table, 2, max_size)
    got = set(
        zip(pairs[f"{c.RECORD_ID}_l"].tolist(), pairs[f"{c.RECORD_ID}_r"].tolist(), strict=True)
    )
    assert got == want
    assert report.pairs_per_rule["r"] == len(want)
    assert (report.capped_blocks["r"], report.capped_records["r"]) == (blocks, skipped)


def test_union_has_no_duplicates_and_keeps_rule_bits() -> None:
    key = _valid("41010219900101123")
    records = _records([key, key, None])
    pairs, report = block_pairs(records, MatchSettings())
    assert (pairs[f"{c.RECORD_ID}_l"] < pairs[f"{c.RECORD_ID}_r"]).all()
    assert not pairs.duplicated([f"{c.RECORD_ID}_l", f"{c.RECORD_ID}_r"]).any()
    row = pairs[(pairs[f"{c.RECORD_ID}_l"] == 0) & (pairs[f"{c.RECORD_ID}_r"] == 1)].iloc[0]
    assert row["rules"] & 1  # found by the id_key rule (bit 0)
    assert report.pairs_per_rule["id_key"] == 1


def _one_edit_apart(a: str, b: str) -> bool:
    diff = [i for i in range(18) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    i = diff[0] if len(diff) == 2 else -1
    return diff == [i, i + 1] and a[i] == b[i + 1] and a[i + 1] == b[i]


def _is_resident_shape(key: object) -> bool:
    return (
        isinstance(key, str)
        and len(key) == 18
        and key[:17].isascii()
        and key[:17].isdigit()
        and key[17] in "0123456789X"
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_one_edit_pairs_equal_a_brute_force_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bases = [_valid(f"4101021990{rng.integers(0, 10**7):07d}") for _ in range(3)]
    keys: list[str | None] = []
    for _ in range(40):
        key = bases[rng.integers(0, len(bases))]
        kind = rng.integers(0, 6)
        i = int(rng.integers(0, 17))
        if kind == 1:  # substitution (the check character may become X)
            key = key[:i] + str(rng.integers(0, 10)) + key[i + 1 :]
        elif kind == 2:  # adjacent transposition, possibly with the check character
            key = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
        elif kind == 3:
            key = key[:17] + "X"
        elif kind == 4:
            key = rng.choice(np.array([None, "", key[:15], key[:16] + "A" + key[17], "张" * 18]))
        keys.append(key)
    status = [
        ("valid" if key == _valid(key[:17]) else "checksum_error")
        if _is_resident_shape(key)
        else "malformed"
        for key in keys
    ]
    records = _records(keys, status)
    records.loc[rng.random(len(keys)) < 0.1, c.ID_DOC_TYPE] = "passport"
    left, right = one_edit_id_pairs(records)
    got = list(zip(left.tolist(), right.tolist(), strict=True))
    assert len(got) == len(set(got))  # distinct pairs
    docs = records[c.ID_DOC_TYPE].tolist()
    shaped = [
        _is_resident_shape(k) and s != "malformed" and d == "resident_id"
        for k, s, d in zip(keys, status, docs, strict=True)
    ]
    want = {
        (i, j)
        for i, j in itertools.combinations(range(len(keys)), 2)
        if shaped[i]
        and shaped[j]
        and "checksum_error" in (status[i], status[j])
        and (keys[i] == keys[j] or _one_edit_apart(str(keys[i]), str(keys[j])))
    }
    assert set(got) == want


def test_block_pairs_read_categorical_keys_like_text() -> None:
    key = _valid("41010219900101123")
    records = _records([key, key, None, key[:17] + "0", None])
    records["phone"] = ["13800000000", None, "13800000000", "", ""]
    as_text, report = block_pairs(records, MatchSettings())
    categorical = records.copy()
    for column in (c.ID_KEY, c.ID_STATUS, c.ID_DOC_TYPE, "surname", "phone", "given_initial"):
        categorical[column] = categorical[column].astype("category")
    as_category, report_cat = block_pairs(categorical, MatchSettings())
    pd.testing.assert_frame_equal(as_text, as_category)
    assert report == report_cat
    assert len(as_text) == 10  # one birth-date + surname block of five
    assert report.pairs_per_rule["phone"] == 1  # empty phones are missing


_KEY_SAMPLES = (
    _valid("41010219900101123"),  # valid
    "410102199001011230",  # wrong check character (or, by chance, right: either is fine)
    "41010219900101123X",
    "4101021990010112X3",  # 18 ASCII characters, not shaped like a resident ID
    "张10102199001011237",  # 18 characters, not ASCII
    "E12345678",
    "",
    None,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_KEY_SAMPLES), max_size=20),
    st.randoms(use_true_random=False),
    st.integers(min_value=0, max_value=2),
)
def test_categorical_keys_encode_like_text(
    keys: list[str | None], random: Random, unused: int
) -> None:
    text = pd.Series(keys, dtype=object)
    # Categories in any order, some never used, as dictionary-encoded columns may have them.
    categories = [
        *dict.fromkeys(k for k in keys if k is not None),
        *(f"x{i}" for i in range(unused)),
    ]
    random.shuffle(categories)
    categorical = text.astype(pd.CategoricalDtype(categories))
    # Equal keys share a code, different keys differ; missing and empty keys are -1.
    shapes = [_id_shape(k) for k in keys]
    for column in (text, categorical):
        codes, chars, form = id_encoding(column)
        assert encode(column).tolist() == codes.tolist()
        for i, a in enumerate(keys):
            assert (codes[i] == -1) == (a is None or a == "")
            for j, b in enumerate(keys):
                if codes[i] >= 0 and codes[j] >= 0:
                    assert (codes[i] == codes[j]) == (a == b)
        assert list(zip(chars.tolist(), form.tolist(), strict=True)) == shapes


def _id_shape(key: str | None) -> tuple[bytes, int]:
    """Reference for ``id_encoding``'s bytes and ``ID_FORM_*`` of one key."""
    if key is None or len(key) != 18 or not key.isascii():
        return b"", ID_FORM_OTHER
    if not (key[:17].isdigit() and key[17] in "0123456789X"):
        return key.encode(), ID_FORM_18
    right = checksum_char(key[:17]) == key[17]
    return key.encode(), ID_FORM_CHECKSUM_OK if right else ID_FORM_BAD_CHECKSUM
