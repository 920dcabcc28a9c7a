"""Vectorised comparison against a small per-pair reference (rapidfuzz's scalar scorer)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from rapidfuzz.distance import Indel, JaroWinkler

from matcher import columns as c
from matcher import persons as p
from matcher.compare import LEFT, LEVELS, RIGHT, birth_days, compare_pairs, level_column
from matcher.normalise import normalise_doses
from matcher.resident_id import checksum_char

NAMES = [
    "张伟",
    "张玮",
    "章伟",
    "張偉",
    "王芳",
    "ZHANG Wei",
    "Wei Zhang",
    "欧阳翾",
    "王子成",
    "王子平",
    None,
]
BIRTHS = ["1990-01-02", "1990-02-01", "1990-01-03", "1991-01-02", "1985-07-30", None]


def _id(first17: str) -> str:
    return first17 + checksum_char(first17)


IDS = [
    _id("11010519900102123"),
    _id("11010519900102125"),  # a twin's number
    _id("11010519900102123")[:15] + "7" + _id("11010519900102123")[16:],  # one typo
    None,
]


def _records(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            c.SOURCE: "11",
            c.PERSON_REF: [f"R{i}" for i in range(n)],
            c.NAME: rng.choice(np.array(NAMES, dtype=object), n),
            c.BIRTH_DATE: rng.choice(np.array(BIRTHS, dtype=object), n),
            c.ID_NUMBER: rng.choice(np.array(IDS, dtype=object), n),
            c.DOSE_DATE: "2021-06-01",
            c.VACCINE: "科兴",
        }
    )
    no_person = frame[c.NAME].isna() & frame[c.ID_NUMBER].isna()
    frame.loc[no_person, c.NAME] = "李四"
    for col in c.CANONICAL_COLUMNS:
        if col not in frame:
            frame[col] = None
    doses = normalise_doses(frame, today=pd.Timestamp("2023-06-01")).doses
    return p.build_person_records(doses).records


def _reference_name(a: pd.Series, b: pd.Series) -> int:
    if pd.isna(a[c.NAME_SIMPLIFIED]) or pd.isna(b[c.NAME_SIMPLIFIED]):
        return -1
    if a[c.NAME_NORM] == b[c.NAME_NORM]:
        return 7
    if a[c.NAME_SIMPLIFIED] == b[c.NAME_SIMPLIFIED]:
        return 6
    if a[c.NAME_PINYIN] == b[c.NAME_PINYIN] or a[c.NAME_TOKENS] == b[c.NAME_TOKENS]:
        return 5
    x, y = a[c.NAME_SIMPLIFIED], b[c.NAME_SIMPLIFIED]
    hanzi = all("\u4e00" <= ch <= "\u9fff" for ch in x + y)
    if hanzi and x[0] == y[0] and min(len(x), len(y)) >= 2 and Indel.distance(x, y) == 1:
        return 3
    sim = JaroWinkler.normalized_similarity(x, y)
    return 2 if sim >= 0.92 else 1 if sim >= 0.8 else 0


def _reference_birth(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return -1
    if a == b:
        return 4
    da, db = (
        dt.date(a // 10000, a // 100 % 100, a % 100),
        dt.date(b // 10000, b // 100 % 100, b % 100),
    )
    if da.year == db.year and da.month == db.day and da.day == db.month and da.month != da.day:
        return 3
    digits = sum(x != y for x, y in zip(str(a), str(b), strict=True))
    if (
        digits == 1
        or abs((da - db).days) <= 31
        or (a % 10000 == b % 10000 and abs(da.year - db.year) == 1)
    ):
        return 2
    return 1 if da.year == db.year else 0


def test_vectorised_levels_equal_the_per_pair_reference() -> None:
    records = _records(seed=3)
    rng = np.random.default_rng(4)
    pairs = pd.DataFrame(
        {LEFT: rng.integers(0, len(records), 2000), RIGHT: rng.integers(0, len(records), 2000)}
    )
    levels = compare_pairs(records, pairs)
    for row in levels.itertuples(index=False):
        a, b = records.iloc[getattr(row, LEFT)], records.iloc[getattr(row, RIGHT)]
        name_level = getattr(row, level_column("name"))
        expected = _reference_name(a, b)
        # level 4 (same dialect-folded pinyin) sits between the reference's 5 and the lower ones
        assert name_level == expected or (name_level == 4 and expected < 4)
        assert getattr(row, level_column("birth_date")) == _reference_birth(
            a[p.BIRTH_KEY], b[p.BIRTH_KEY]
        )


def test_ids_twins_typos_and_symmetry() -> None:
    records = _records(seed=5)
    keys = records[c.ID_KEY].astype(object)
    twin_a = int(np.flatnonzero(keys == IDS[0])[0])
    twin_b = int(np.flatnonzero(keys == IDS[1])[0])
    typo = int(np.flatnonzero(keys == IDS[2])[0])
    pairs = pd.DataFrame({LEFT: [twin_a, twin_a, typo], RIGHT: [twin_b, typo, twin_a]})
    levels = compare_pairs(records, pairs)[level_column("id")].tolist()
    assert levels[0] == 0  # twins: different valid numbers
    assert levels[1] == levels[2] == 1  # one substitution, both directions


def _reference_id(a: pd.Series, b: pd.Series) -> int:
    ka, kb = a[c.ID_KEY], b[c.ID_KEY]
    if (
        not isinstance(ka, str)
        or not isinstance(kb, str)
        or not ka
        or not kb
        or a[c.ID_DOC_TYPE] != b[c.ID_DOC_TYPE]
        or a[p.ID_BORROWED]
        or b[p.ID_BORROWED]
    ):
        return -1
    if ka == kb:
        return 2 if bool(a[c.ID_UPGRADED]) != bool(b[c.ID_UPGRADED]) else 3
    if len(ka) != 18 or len(kb) != 18 or not (ka.isascii() and kb.isascii()):
        return 0
    diff = [i for i in range(18) if ka[i] != kb[i]]
    one = len(diff) == 1 or (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and ka[diff[0]] == kb[diff[1]]
        and ka[diff[1]] == kb[diff[0]]
    )
    return 1 if one else 0


def test_id_levels_equal_the_per_pair_reference() -> None:
    rng = np.random.default_rng(8)
    base = [_id(f"1101051990010{k:04d}") for k in range(4)]
    keys = []
    for _ in range(120):
        key = base[rng.integers(0, 4)]
        i = int(rng.integers(0, 17))
        kind = rng.integers(0, 5)
        if kind == 1:
            key = key[:i] + str(rng.integers(0, 10)) + key[i + 1 :]
        elif kind == 2:
            key = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
        elif kind == 3:
            key = key[:i] + "A" + key[i + 1 :]  # 18 characters, not a resident number
        keys.append(key)
    n = len(keys)
    records = pd.DataFrame(
        {
            c.RECORD_ID: np.arange(n),
            c.ID_KEY: pd.Series(keys, dtype=object),
            c.ID_DOC_TYPE: rng.choice(["resident_id", "passport"], n, p=[0.9, 0.1]),
            c.ID_UPGRADED: rng.random(n) < 0.1,
            c.ID_PROVINCE: "11",
            p.ID_BORROWED: rng.random(n) < 0.05,
            p.TRUSTED_ID: None,
            p.BIRTH_KEY: 19900101,
            c.SEX: "M",
            c.ID_SEX: "M",
            c.PHONE: None,
            c.NAME_NORM: "张伟",
            c.NAME_SIMPLIFIED: "张伟",
            c.NAME_PINYIN: "zhangwei",
            c.NAME_TOKENS: "wei zhang",
        }
    )
    records.loc[rng.random(n) < 0.05, c.ID_KEY] = None
    records.loc[rng.random(n) < 0.03, c.ID_KEY] = "张" * 18
    pairs = pd.DataFrame({LEFT: rng.integers(0, n, 5000), RIGHT: rng.integers(0, n, 5000)})
    levels = compare_pairs(records, pairs)[level_column("id")].to_numpy()
    expected = [
        _reference_id(records.iloc[a], records.iloc[b])
        for a, b in zip(pairs[LEFT].tolist(), pairs[RIGHT].tolist(), strict=True)
    ]
    assert levels.tolist() == expected
    assert {-1, 0, 1, 2, 3} <= set(expected)  # every level is exercised


def test_birth_days_match_pandas_dates() -> None:
    keys = np.array(
        [0, 19900101, 20000229, 19000229, 20230431, 20231301, 19991200, 18000101, 17991231,
         20901231, 19641231, 20240229, 20230229],
        dtype=np.int64,
    )  # fmt: skip
    days = birth_days(keys)
    parsed = pd.to_datetime(
        pd.Series(keys).where(keys > 0).astype("Int64").astype(str),
        format="%Y%m%d",
        errors="coerce",
    )
    expected = (parsed - pd.Timestamp("1800-01-01")).dt.days.fillna(-1).astype(np.int64)
    assert days.tolist() == expected.tolist()


def test_categorical_text_columns_compare_like_object_columns() -> None:
    records = _records(seed=9)
    rng = np.random.default_rng(10)
    pairs = pd.DataFrame(
        {LEFT: rng.integers(0, len(records), 3000), RIGHT: rng.integers(0, len(records), 3000)}
    )
    categorical = records.copy()
    for column in categorical.columns:
        if categorical[column].dtype == object:
            categorical[column] = categorical[column].astype("category")
    pd.testing.assert_frame_equal(compare_pairs(records, pairs), compare_pairs(categorical, pairs))


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("张三丰", "张丰", "one_character"),  # a character dropped
        ("李娜", "李娜娜", "one_character"),  # one added
        ("王?", "王䶮", "one_character"),  # a rare character typed as a placeholder
        ("陈□明", "陈喆明", "one_character"),
        ("赵\ue023", "赵龑", "one_character"),  # a private-use code point
        ("张伟", "李伟伟", "different"),  # the first character differs
        ("张伟杰", "张伟豪", "jaro_winkler_low"),  # a different character: twins, not a drop
    ],
)
def test_one_character_variants(left: str, right: str, level: str) -> None:
    frame = pd.DataFrame(
        {c.SOURCE: "11", c.PERSON_REF: ["a", "b"], c.NAME: [left, right],
         c.DOSE_DATE: "2021-06-01", c.VACCINE: "科兴"}
    )  # fmt: skip
    for col in c.CANONICAL_COLUMNS:
        if col not in frame:
            frame[col] = None
    doses = normalise_doses(frame, today=pd.Timestamp("2023-06-01")).doses
    records = p.build_person_records(doses).records
    pairs = pd.DataFrame({LEFT: [0], RIGHT: [1]})
    got = compare_pairs(records, pairs)[level_column("name")].iloc[0]
    assert LEVELS["name"][int(got)] == level
