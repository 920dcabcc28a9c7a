"""The scalar key paths of history queries agree with the vectorised normalisers."""

from __future__ import annotations

import pandas as pd

from matcher import columns as c
from matcher.lookup_keys import id_key_of, name_keys_of
from matcher.names import normalise_names
from matcher.resident_id import checksum_char, normalise_ids
from matcher.synthetic import SyntheticConfig, generate


def _valid(first17: str) -> str:
    return first17 + checksum_char(first17)


EXTRA_IDS = [
    ("resident_id", _valid("11010519491231002")),
    ("身份证", _valid("44030119900101123")),
    ("1", _valid("31010119851111001")),
    ("passport", _valid("11010519491231002")),  # declared otherwise: vectorised path
    ("resident_id", _valid("91010119900101123")),  # foreign permanent resident (new)
    ("resident_id", _valid("83000019900101123")),  # residence permit address
    ("resident_id", _valid("71010119900101123")),
    ("resident_id", _valid("11010530000101123")),  # birth date in the future
    ("resident_id", _valid("11010519900230123")),  # 30 February
    ("resident_id", "110105194912310020"),  # checksum error (probably)
    ("resident_id", "110105491231002"),  # 15 digits
    ("resident_id", _valid("11010519491231002").lower()),
    ("resident_id", " " + _valid("11010519491231002")),
    ("resident_id", "000000000000000000"),
    ("", _valid("11010519491231002")),
    ("unknown type", _valid("11010519491231002")),
    ("hkmo_permit", "H12345678"),
]


def test_id_key_of_matches_normalise_ids() -> None:
    data = generate(SyntheticConfig(persons=3000, provinces=5, seed=11, legacy_exports=False))
    frame = data.doses[[c.ID_TYPE, c.ID_NUMBER]].dropna().astype(str).drop_duplicates()
    pairs = [*frame.itertuples(index=False, name=None), *EXTRA_IDS]
    expected = normalise_ids(
        pd.Series([n for _, n in pairs], dtype=object),
        pd.Series([t for t, _ in pairs], dtype=object),
    )[c.ID_KEY].tolist()
    got = [id_key_of(t, n) for t, n in pairs]
    assert got == [k if isinstance(k, str) else None for k in expected]


def test_name_keys_of_matches_normalise_names() -> None:
    data = generate(SyntheticConfig(persons=2000, provinces=3, seed=12, legacy_exports=False))
    names = [
        *data.doses[c.NAME].dropna().astype(str).unique(),
        "ZHANG Wei",
        "張 偉",
        "买买提・艾力",
    ]
    frame = normalise_names(pd.Series(names, dtype=object))
    for name, row in zip(names, frame.itertuples(index=False), strict=True):
        simplified, latin, pinyin = name_keys_of(name)
        assert simplified == getattr(row, c.NAME_SIMPLIFIED)
        assert latin == bool(getattr(row, c.NAME_IS_LATIN))
        assert pinyin == getattr(row, c.NAME_PINYIN)
