"""The key index: one-edit ID keys made by Arrow kernels equal the string-by-string rule, and
a stored record one ID edit away from a new one is found by equality lookups."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from matcher import columns as c
from matcher.key_index import ID_SUB, ID_SWAP, KEY_COLUMNS, neighbour_probes, record_keys
from matcher.resident_id import checksum_char
from matcher.settings import MatchSettings

ID18 = "0123456789X"


def _deletions(key: str) -> list[str]:
    return [f"{i}:{key[:i]}{key[i + 1 :]}" for i in range(18)]


def _swaps(key: str) -> list[str]:
    return [key[:i] + key[i + 1] + key[i] + key[i + 2 :] for i in range(17) if key[i] != key[i + 1]]


def _substitutions(key: str) -> list[str]:
    return [key[:i] + ch + key[i + 1 :] for i in range(18) for ch in ID18 if ch != key[i]]


def _records(keys: list[str | None], status: list[str]) -> pd.DataFrame:
    n = len(keys)
    return pd.DataFrame(
        {
            c.ID_KEY: pd.Series(keys, dtype=object),
            c.ID_STATUS: status,
            c.NAME_SIMPLIFIED: [f"名{i % 3}" for i in range(n)],
            "birth_key": np.arange(n, dtype=np.int64) % 2 + 19900101,
            c.SURNAME: ["张"] * n,
            c.NAME_PINYIN: ["zhang san"] * n,
            "birth_year": [1990] * n,
            c.NAME_TOKENS: ["san|zhang"] * n,
            c.PHONE: [None] * n,
        }
    )


def _ids(n: int, seed: int) -> tuple[list[str | None], list[str]]:
    rng = random.Random(seed)
    keys: list[str | None] = []
    status: list[str] = []
    for _ in range(n):
        first = "".join(rng.choice("0123456789") for _ in range(17))
        good = first + checksum_char(first)
        kind = rng.random()
        if kind < 0.5:
            keys.append(good)
            status.append("valid")
        elif kind < 0.85:
            keys.append(first + rng.choice([x for x in ID18 if x != good[17]]))
            status.append("checksum_error")
        elif kind < 0.95:
            keys.append(first[:10])  # too short for the one-edit keys
            status.append("malformed")
        else:
            keys.append(None)
            status.append("missing")
    return keys, status


def test_edit_keys_are_the_string_rule_record_by_record() -> None:
    keys, status = _ids(300, seed=3)
    records = _records(keys, status)
    ids = np.arange(100, 100 + len(keys), dtype=np.int64)
    made = record_keys(records, MatchSettings(), ids)
    assert list(made.columns) == list(KEY_COLUMNS)
    edits = made[made["rule"].isin([ID_SUB, ID_SWAP])]
    expected = [
        (int(ids[i]), rule, value)
        for i, (key, st) in enumerate(zip(keys, status, strict=True))
        if st == "checksum_error" and isinstance(key, str) and len(key) == 18
        for rule, values in ((ID_SUB, _deletions(key)), (ID_SWAP, _swaps(key)))
        for value in values
    ]
    assert list(edits.itertuples(index=False, name=None)) == expected


def test_probes_are_the_string_rule() -> None:
    keys, status = _ids(200, seed=5)
    probes = neighbour_probes(_records(keys, status), MatchSettings())
    full = [k for k in keys if isinstance(k, str) and len(k) == 18]
    assert probes.rule_values[ID_SUB] == {d for k in full for d in _deletions(k)}
    assert probes.rule_values[ID_SWAP] == set(full)
    broken = [k for k in full if checksum_char(k[:17]) != k[17]]
    assert probes.id_keys == {v for k in broken for v in _substitutions(k) + _swaps(k)}


def test_a_stored_id_one_edit_away_shares_a_key_with_the_probes() -> None:
    first = "41010219900101123"
    good = first + checksum_char(first)
    typo = good[:5] + ("7" if good[5] != "7" else "8") + good[6:]  # breaks the checksum
    stored = record_keys(_records([typo], ["checksum_error"]), MatchSettings(), np.array([9]))
    probes = neighbour_probes(_records([good], ["valid"]), MatchSettings())
    hits = stored[
        stored.apply(lambda r: r["value"] in probes.rule_values.get(r["rule"], set()), axis=1)
    ]
    assert set(hits["rule"]) >= {ID_SUB}
    assert typo not in probes.id_keys  # found by its stored keys, not by its ID
