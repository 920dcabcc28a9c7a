"""Character-level name differences by kind, and their agreement with the comparison levels."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from matcher import columns as c
from matcher import persons as p
from matcher.compare import FUZZY_PINYIN, LEFT, LEVELS, RIGHT, compare_pairs, level_column
from matcher.name_diff import NameDiffKind, diff_names
from matcher.names import fuzzy_pinyin
from matcher.normalise import normalise_doses

S, T, H, N, P, M, D = (
    NameDiffKind.SAME, NameDiffKind.TRADITIONAL, NameDiffKind.HOMOPHONE,
    NameDiffKind.NEAR_HOMOPHONE, NameDiffKind.PINYIN, NameDiffKind.MISSING,
    NameDiffKind.DIFFERENT,
)  # fmt: skip


@pytest.mark.parametrize(
    ("left", "right", "left_kinds", "right_kinds", "kinds"),
    [
        ("张伟", "张伟", (S, S), (S, S), ()),
        ("张伟", "张玮", (S, H), (S, H), (H,)),
        ("張偉", "张伟", (T, T), (T, T), (T,)),
        ("刘小明", "劉曉明", (T, H, S), (T, H, S), (T, H)),  # 曉 is 晓, which reads like 小
        ("陈明", "程明", (N, S), (N, S), (N,)),  # chen / cheng: -n/-ng folded
        ("欧阳娜", "欧娜", (S, M, S), (S, S), (M,)),
        ("张?明", "张喆明", (S, M, S), (S, M, S), (M,)),  # a placeholder for a rare character
        ("张xin", "张鑫", (S, P, P, P), (S, P), (P,)),  # pinyin typed for the character
        ("ZHANG WEI", "张伟", (P,) * 5 + (S,) + (P,) * 3, (P, P), (P,)),
        ("张伟", "李伟", (D, S), (D, S), (D,)),
        ("朱丽", "朱婷婷", (S, D), (S, D, M), (M, D)),
        ("王单", "王丹", (S, H), (S, H), (H,)),  # heteronym: the whole names read the same
        ("买买提·艾力", "买买提艾力", (S,) * 6, (S,) * 5, ()),  # the dot only separates
    ],
)
def test_kinds(left, right, left_kinds, right_kinds, kinds) -> None:
    diff = diff_names(left, right)
    assert diff.left_kinds == left_kinds and diff.right_kinds == right_kinds
    assert diff.kinds == kinds
    assert len(diff.left) == len(diff.left_kinds) and len(diff.right) == len(diff.right_kinds)


def test_missing_name_compares_nothing() -> None:
    diff = diff_names(None, "张三")
    assert diff.kinds == () and diff.left == "" and diff.right_kinds == (S, S)


def test_symmetric() -> None:
    for a, b in [("张伟", "張玮"), ("欧阳娜", "欧娜"), ("ZHANG WEI", "张伟")]:
        one, two = diff_names(a, b), diff_names(b, a)
        assert one.left_kinds == two.right_kinds and one.kinds == two.kinds


NAMES = [
    "张伟",
    "张玮",
    "章伟",
    "張偉",
    "张伟伟",
    "张?",
    "ZHANG WEI",
    "陈明",
    "程明",
    "王芳",
    "王方",
]


def test_kinds_agree_with_the_comparison_level() -> None:
    """The kinds are read off the same keys the name level is: a level names which kinds can
    occur (exact: none; same simplified: 繁简 only; same pinyin: no 不同 or 缺字 ...)."""
    frame = pd.DataFrame({c.SOURCE: "11", c.PERSON_REF: [f"R{i}" for i in range(len(NAMES))],
                          c.NAME: NAMES, c.DOSE_DATE: "2021-06-01", c.VACCINE: "科兴"})  # fmt: skip
    for col in c.CANONICAL_COLUMNS:
        if col not in frame:
            frame[col] = None
    records = p.build_person_records(
        normalise_doses(frame, today=pd.Timestamp("2023-06-01")).doses
    ).records
    records[FUZZY_PINYIN] = fuzzy_pinyin(records[c.NAME_PINYIN])  # as matcher.pipeline adds it
    pairs = pd.DataFrame(
        list(itertools.combinations(range(len(records)), 2)), columns=[LEFT, RIGHT]
    )
    levels = compare_pairs(records, pairs)
    names = LEVELS["name"]
    seen = set()
    for row in levels.itertuples(index=False):
        a, b = records[c.NAME].iloc[getattr(row, LEFT)], records[c.NAME].iloc[getattr(row, RIGHT)]
        level = names[getattr(row, level_column("name"))]
        kinds = set(diff_names(a, b).kinds)
        seen.add(level)
        if level == "exact":
            assert kinds == set(), (a, b)
        elif level == "same_simplified":
            assert kinds == {T}, (a, b, kinds)
        elif level == "same_pinyin_or_tokens":
            assert kinds and kinds <= {T, H, P}, (a, b, kinds)
        elif level == "same_fuzzy_pinyin":
            assert N in kinds and kinds <= {T, H, N, P}, (a, b, kinds)
        else:  # only similar, or different: some character is really another or missing
            assert kinds & {D, M}, (a, b, level, kinds)
    assert {"same_simplified", "same_pinyin_or_tokens", "same_fuzzy_pinyin"} <= seen
