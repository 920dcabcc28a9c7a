"""Name keys: DOMAIN.md §3 facts as tables, plus property tests."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from matcher.columns import (
    NAME_IS_LATIN,
    NAME_NORM,
    NAME_PINYIN,
    NAME_SIMPLIFIED,
    NAME_TOKENS,
    SURNAME,
    SURNAME_PINYIN,
)
from matcher.names import (
    COMPOUND_SURNAMES,
    DOT_VARIANTS,
    NAME_COLUMNS,
    SURNAME_READINGS,
    _PinyinCache,
    fuzzy_pinyin,
    normalise_names,
)


def one(name: object) -> pd.Series:
    """The normalised row of a single raw name."""
    return normalise_names(pd.Series([name])).iloc[0]


@pytest.mark.parametrize("dot", list(DOT_VARIANTS))
def test_every_dot_variant_becomes_u00b7(dot: str) -> None:
    row = one(f"买买提{dot}艾力")
    assert row[NAME_NORM] == "买买提·艾力"
    assert row[NAME_PINYIN] == "maimaitiaili"
    assert row[NAME_TOKENS] == "aili maimaiti"
    assert row[SURNAME] is None


@pytest.mark.parametrize(
    ("raw", "norm", "simplified", "pinyin", "tokens", "surname", "surname_pinyin"),
    [
        ("张三", "张三", "张三", "zhangsan", "san zhang", "张", "zhang"),
        ("張偉", "張偉", "张伟", "zhangwei", "wei zhang", "张", "zhang"),
        ("张　三", "张三", "张三", "zhangsan", "san zhang", "张", "zhang"),
        (" 张 三\t", "张三", "张三", "zhangsan", "san zhang", "张", "zhang"),
        ("曾小明", "曾小明", "曾小明", "zengxiaoming", "xiaoming zeng", "曾", "zeng"),
        ("单明", "单明", "单明", "shanming", "ming shan", "单", "shan"),
        ("解放", "解放", "解放", "xiefang", "fang xie", "解", "xie"),
        ("仇英", "仇英", "仇英", "qiuying", "qiu ying", "仇", "qiu"),
        ("区伟", "区伟", "区伟", "ouwei", "ou wei", "区", "ou"),
        ("查良镛", "查良镛", "查良镛", "zhaliangyong", "liangyong zha", "查", "zha"),
        ("朴槿惠", "朴槿惠", "朴槿惠", "piaojinhui", "jinhui piao", "朴", "piao"),
        ("盖聂", "盖聂", "盖聂", "genie", "ge nie", "盖", "ge"),
        ("翟天临", "翟天临", "翟天临", "zhaitianlin", "tianlin zhai", "翟", "zhai"),
        ("乐嘉", "乐嘉", "乐嘉", "yuejia", "jia yue", "乐", "yue"),
        ("欧阳修", "欧阳修", "欧阳修", "ouyangxiu", "ouyang xiu", "欧阳", "ouyang"),
        ("歐陽娜娜", "歐陽娜娜", "欧阳娜娜", "ouyangnana", "nana ouyang", "欧阳", "ouyang"),
        ("诸葛亮", "诸葛亮", "诸葛亮", "zhugeliang", "liang zhuge", "诸葛", "zhuge"),
        ("尉遲恭", "尉遲恭", "尉迟恭", "yuchigong", "gong yuchi", "尉迟", "yuchi"),
        ("万俟卨", "万俟卨", "万俟卨", "moqixie", "moqi xie", "万俟", "moqi"),
        ("单于明", "单于明", "单于明", "chanyuming", "chanyu ming", "单于", "chanyu"),
        ("於丹", "於丹", "於丹", "yudan", "dan yu", "於", "yu"),
        ("張乾", "張乾", "张乾", "zhangqian", "qian zhang", "张", "zhang"),
        ("吕布", "吕布", "吕布", "lvbu", "bu lv", "吕", "lv"),
    ],
)
def test_chinese_names(
    raw: str,
    norm: str,
    simplified: str,
    pinyin: str,
    tokens: str,
    surname: str,
    surname_pinyin: str,
) -> None:
    row = one(raw)
    assert row[NAME_NORM] == norm
    assert row[NAME_SIMPLIFIED] == simplified
    assert row[NAME_PINYIN] == pinyin
    assert row[NAME_TOKENS] == tokens
    assert row[SURNAME] == surname
    assert row[SURNAME_PINYIN] == surname_pinyin
    assert row[NAME_IS_LATIN] is False or not row[NAME_IS_LATIN]


def test_compound_surname_needs_a_given_name() -> None:
    """A two-character name that spells a compound surname is surname + given name."""
    row = one("东方")
    assert (row[SURNAME], row[NAME_TOKENS]) == ("东", "dong fang")


@pytest.mark.parametrize("compound", sorted(COMPOUND_SURNAMES))
def test_every_compound_surname_is_split(compound: str) -> None:
    row = one(compound + "明")
    assert row[SURNAME] == compound
    assert row[SURNAME_PINYIN] == COMPOUND_SURNAMES[compound]


@pytest.mark.parametrize(("surname", "reading"), sorted(SURNAME_READINGS.items()))
def test_every_surname_reading_is_used(surname: str, reading: str) -> None:
    assert one(surname + "明")[SURNAME_PINYIN] == reading


@pytest.mark.parametrize(
    "raw",
    [
        "ZHANG SAN",
        "San Zhang",
        "ZHANG/SAN",
        "zhang,san",
        "  zhang   san ",
        "张三",
        "ＺＨＡＮＧ　ＳＡＮ",
    ],
)
def test_token_set_ignores_order_and_script(raw: str) -> None:
    assert one(raw)[NAME_TOKENS] == "san zhang"


@pytest.mark.parametrize(
    ("raw", "norm", "pinyin", "tokens"),
    [
        ("ZHANG SAN", "zhang san", "zhangsan", "san zhang"),
        ("San Zhang", "san zhang", "sanzhang", "san zhang"),
        ("ZHANG/SAN", "zhang san", "zhangsan", "san zhang"),
        ("ＺＨＡＮＧ", "zhang", "zhang", "zhang"),
        ("Xiao-Ming Zhang", "xiao-ming zhang", "xiaomingzhang", "xiaoming zhang"),
        ("ZHANG, XIAOMING", "zhang xiaoming", "zhangxiaoming", "xiaoming zhang"),
        ("Zhāng Sān", "zhāng sān", "zhangsan", "san zhang"),
        ("LÜ Bu", "lü bu", "lvbu", "bu lv"),
        ("J. Smith", "j smith", "jsmith", "j smith"),
    ],
)
def test_latin_names(raw: str, norm: str, pinyin: str, tokens: str) -> None:
    row = one(raw)
    assert (row[NAME_NORM], row[NAME_PINYIN], row[NAME_TOKENS]) == (norm, pinyin, tokens)
    assert row[NAME_SIMPLIFIED] == norm
    assert row[NAME_IS_LATIN]
    assert row[SURNAME] is None and row[SURNAME_PINYIN] is None


def test_passport_spelling_meets_chinese_tokens() -> None:
    assert one("张小明")[NAME_TOKENS] == one("ZHANG XIAOMING")[NAME_TOKENS] == "xiaoming zhang"


@pytest.mark.parametrize("placeholder", ["?", "？", "□", "\ue000", "\uf8ff"])
def test_rare_character_placeholders_are_kept_but_not_read(placeholder: str) -> None:
    row = one(f"张{placeholder}三")
    assert row[NAME_NORM] == f"张{placeholder}三".replace("？", "?")
    assert row[NAME_PINYIN] == "zhangsan"
    assert row[SURNAME] == "张"


def test_name_of_placeholders_only_has_no_pinyin() -> None:
    row = one("□□")
    assert row[NAME_NORM] == "□□"
    assert row[NAME_PINYIN] is None and row[NAME_TOKENS] is None and row[SURNAME] is None


def test_pinyin_typed_for_a_rare_character_is_kept() -> None:
    assert one("王yan")[NAME_PINYIN] == one("王䶮")[NAME_PINYIN] == "wangyan"


def test_stray_and_repeated_dots_are_cleaned() -> None:
    assert one("·买买提··艾力。")[NAME_NORM] == "买买提·艾力"


@pytest.mark.parametrize("missing", [None, float("nan"), "", "   ", "\u3000"])
def test_missing_names(missing: object) -> None:
    row = one(missing)
    assert all(row[c] is None for c in NAME_COLUMNS if c != NAME_IS_LATIN)
    assert not row[NAME_IS_LATIN]


def test_frame_shape_and_dtypes() -> None:
    names = pd.Series(["张三", None, "ZHANG SAN", "张三"], index=[10, 7, 3, 99])
    frame = normalise_names(names)
    assert list(frame.columns) == list(NAME_COLUMNS)
    assert frame.index.equals(names.index)
    assert frame[NAME_IS_LATIN].dtype == bool
    assert frame[NAME_IS_LATIN].tolist() == [False, False, True, False]
    assert frame.loc[99, NAME_PINYIN] == frame.loc[10, NAME_PINYIN] == "zhangsan"


def test_empty_input() -> None:
    frame = normalise_names(pd.Series([], dtype=object))
    assert frame.empty and list(frame.columns) == list(NAME_COLUMNS)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("张三", "章三"),
        ("zhangsan", "zangsan"),
        ("chenlin", "cennin"),
        ("shanshan", "sansan"),
        ("wangliang", "wannian"),
        ("lvbu", "lubu"),
    ],
)
def test_fuzzy_pinyin_folds_dialect_confusions(left: str, right: str) -> None:
    pinyin = [one(x)[NAME_PINYIN] if not x.isascii() else x for x in (left, right)]
    folded = fuzzy_pinyin(pd.Series(pinyin))
    assert folded[0] == folded[1]


def test_fuzzy_pinyin_keeps_f_and_h_apart_and_missing_as_none() -> None:
    folded = fuzzy_pinyin(pd.Series(["fang", "huang", None], index=[5, 6, 7]))
    assert folded.tolist() == ["fan", "huan", None]
    assert folded.index.tolist() == [5, 6, 7]


def test_fast_pinyin_path_agrees_with_lazy_pinyin() -> None:
    """Two-character parts outside the phrase table skip lazy_pinyin; the result must agree."""
    cache = _PinyinCache()
    for text in ["长青", "长江", "重庆", "乐乐", "行长", "朝阳", "单单", "曾经", "解放", "小明"]:
        assert cache.part(text) == "".join(lazy_pinyin(text))


_NAME_CHARS = st.sampled_from(
    list("张王李曾单欧阳尉迟万俟於乾張偉歐陽伟明小三丹") + list(DOT_VARIANTS) + list("?□\ue000 　")
) | st.characters(codec="utf-8")
_LATIN_CHARS = st.sampled_from(list("ZHANGSanxiao /,-.'ÜüĀ ＺＨ"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(_NAME_CHARS, max_size=8) | st.text(_LATIN_CHARS, max_size=12), max_size=6))
def test_normalising_name_norm_again_changes_nothing(names: list[str]) -> None:
    first = normalise_names(pd.Series(names, dtype=object))
    again = normalise_names(first[NAME_NORM])
    pd.testing.assert_frame_equal(first, again)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(_NAME_CHARS, max_size=5)), max_size=10),
    st.randoms(use_true_random=False),
)
def test_output_index_equals_input_index(names: list[str | None], rnd: object) -> None:
    index = list(range(100, 100 + len(names)))
    rnd.shuffle(index)  # type: ignore[attr-defined]
    series = pd.Series(names, index=index, dtype=object)
    frame = normalise_names(series)
    assert frame.index.equals(series.index)
    assert len(frame) == len(series)


def _name_mix() -> list[object]:
    """Plain and other names: compound and heteronym surnames, traditional characters, 乾/於,
    one- and two-character names, dots, spaces, Latin and non-text values."""
    rnd = random.Random(4)
    given = list("小明娜伟芳丽强军平刚长乾於干國華東陳张乐单曾")
    raw: list[object] = ["张三", "張三", "欧阳娜娜", "欧阳·娜娜", "张 三", "\uf900", "王\u200b五"]
    raw += ["Li Na", "", "㐀", "欧阳", "张", "於乾", "乾隆", "于乾", "於", "\u9fff\u9fff", 7, None]
    raw += [s + "".join(rnd.sample(given, rnd.randint(0, 2))) for s in COMPOUND_SURNAMES]
    raw += [s + "".join(rnd.sample(given, rnd.randint(0, 2))) for s in SURNAME_READINGS]
    raw += ["".join(rnd.choices(given, k=rnd.randint(1, 4))) for _ in range(300)]
    return raw


def test_vectorised_paths_give_the_python_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.names as names_module

    raw = _name_mix()
    fast = names_module.keys_of_uniques(raw)
    assert names_module._plain_mask(raw)[:3].tolist() == [True, True, True]
    monkeypatch.setattr(names_module, "_plain_text_mask", lambda texts: np.zeros(len(texts), bool))
    assert names_module.keys_of_uniques(raw) == fast


def test_fuzzy_pinyin_vectorised_equals_the_per_value_fold() -> None:
    from matcher.names import _fold_pinyin, fuzzy_pinyin

    values = ["zhangsan", "chenlong", "shilv", "liuying", "", "zhuang zhi", "lvshan", "nanning"]
    folded = fuzzy_pinyin(pd.Series([*values, None], dtype=object))
    assert folded.tolist() == [*(_fold_pinyin(v) for v in values), None]
    assert folded.iloc[0] == "zansan" and folded.iloc[3] == "niuyin"


def test_text_that_is_not_utf8_falls_back_to_python_objects() -> None:
    # A lone surrogate (possible in text that did not come from a file) cannot be an Arrow
    # string: that column is kept as Python objects, with the same keys.
    from matcher.dictionary import as_object, encode

    raw = pd.Series(["张三", "x\ud800y", "Li Na", None, "張\ud800"], dtype=object)
    for names in (raw, encode(raw)):
        keys = normalise_names(names)
        assert as_object(keys[NAME_NORM]).tolist() == [
            "张三",
            "x\ud800y",
            "li na",
            None,
            "張\ud800",
        ]
        # OpenCC cannot take the Chinese one: left traditional, its pinyin still read.
        assert as_object(keys[NAME_SIMPLIFIED]).tolist()[4] == "張\ud800"
        assert as_object(keys[NAME_PINYIN]).tolist() == ["zhangsan", "xy", "lina", None, "zhang"]
        assert as_object(keys[NAME_TOKENS]).tolist() == ["san zhang", "xy", "li na", None, "zhang"]
        assert keys[NAME_IS_LATIN].tolist() == [False, True, True, False, False]


def test_fuzzy_pinyin_of_name_keys_uses_their_arrow_text() -> None:
    from matcher.dictionary import as_object, distinct, encode, known_text
    from matcher.names import _fold_pinyin, fuzzy_pinyin

    names = encode(pd.Series(["张三", "陈龙", None, "吕山", "张三", "Li Na"], dtype=object))
    pinyin = normalise_names(names)[NAME_PINYIN]
    assert known_text(distinct(pinyin)[1]) is not None  # the vectorised input
    folded = fuzzy_pinyin(pinyin)
    expected = [None if v is None else _fold_pinyin(v) for v in as_object(pinyin).tolist()]
    assert (
        as_object(folded).tolist()
        == expected
        == ["zansan", "cennon", None, "nusan", "zansan", "nina"]
    )
    assert known_text(distinct(folded)[1]).to_pylist() == ["zansan", "cennon", "nusan", "nina"]
