"""Chinese and Latin personal names → comparable keys: simplified, pinyin, token set (DOMAIN.md §3).

Work is done once per distinct name (``pd.factorize``) and mapped back with ``take``. Decisions:

- **Chinese vs Latin**: a name with at least one hanzi is Chinese; otherwise it is Latin when it
  has a letter. Chinese names lose all whitespace; Latin names are casefolded and split on
  whitespace and ``/ , ; . · _ ( )``. Hyphens and apostrophes join (``Xiao-Ming`` → ``xiaoming``).
- **Dots**: every middle-dot look-alike (DOMAIN §3 table plus a few typed substitutes) becomes
  U+00B7; runs collapse to one and leading/trailing dots are dropped.
- **Simplified**: OpenCC ``t2s``, except that 乾 is kept (t2s gives 干, a different reading) and a
  leading 於 is kept (於 is a surname distinct from 于). Compare the raw name too.
- **Surname**: a compound surname from ``COMPOUND_SURNAMES`` when the name is longer than it,
  else the first hanzi; NA for Latin names, dotted minority names and names starting with a
  placeholder. Its pinyin comes from ``SURNAME_READINGS`` (heteronym readings) when listed.
- **Pinyin**: tone-less, no separators; ``ü`` is ``v`` (pypinyin's default). Placeholders
  (``?``, ``□``, private-use code points), digits and dots are skipped; Latin letters inside a
  Chinese name are kept (rare characters are sometimes typed as pinyin).
- **Tokens** (order-insensitive key): Chinese names give two tokens, surname pinyin and
  given-name pinyin (``张小明`` → ``xiaoming zhang``), so they meet passport spellings such as
  ``ZHANG XIAOMING``; dotted names give one token per part; Latin names their letter tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Final

import numpy as np
import pandas as pd
from opencc import OpenCC
from pypinyin import lazy_pinyin
from pypinyin.constants import PHRASES_DICT

from matcher.columns import (
    NAME_IS_LATIN,
    NAME_NORM,
    NAME_PINYIN,
    NAME_SIMPLIFIED,
    NAME_TOKENS,
    SURNAME,
    SURNAME_PINYIN,
)
from matcher.dictionary import distinct, expand, is_dictionary

NAME_COLUMNS: Final[tuple[str, ...]] = (
    NAME_NORM,
    NAME_SIMPLIFIED,
    NAME_PINYIN,
    NAME_TOKENS,
    SURNAME,
    SURNAME_PINYIN,
    NAME_IS_LATIN,
)

DOT: Final = "\u00b7"
# DOMAIN §3 look-alikes, plus U+02D9 DOT ABOVE, U+2E33 RAISED DOT, U+318D HANGUL ARAEA and
# U+FE52 SMALL FULL STOP, which input methods also produce.
DOT_VARIANTS: Final[str] = (
    "\u00b7\u30fb\uff65\u2022\u2027\u0387\uff0e\u002e\u2024\u3002\u2219\u22c5\u2e31\ua78f"
    "\u02d9\u2e33\u318d\ufe52"
)
_DOT_TABLE: Final = str.maketrans(dict.fromkeys(DOT_VARIANTS, DOT))

# Single-character surnames whose surname reading differs from pypinyin's default reading.
SURNAME_READINGS: Final[dict[str, str]] = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "翟": "zhai",
    "乐": "yue",
    "缪": "miao",
    "繁": "po",
    "召": "shao",
    "种": "chong",
    "秘": "bi",
    "覃": "qin",
    "员": "yun",
    "折": "she",
    "句": "gou",
    "隗": "wei",
    "卜": "bu",
    "薄": "bo",
    "黑": "he",
    "角": "jue",
    "长": "chang",
    "都": "du",
    "重": "chong",
    "阚": "kan",
    "能": "nai",
    "粘": "nian",
    "乜": "nie",
    "佴": "nai",
    "郇": "xun",
    "洗": "xian",
    "蔚": "yu",
    "祭": "zhai",
    "褚": "chu",
}
# Compound surnames (simplified) with their readings, which pypinyin's phrase table agrees with.
COMPOUND_SURNAMES: Final[dict[str, str]] = {
    "欧阳": "ouyang",
    "司马": "sima",
    "诸葛": "zhuge",
    "上官": "shangguan",
    "东方": "dongfang",
    "皇甫": "huangfu",
    "尉迟": "yuchi",
    "公孙": "gongsun",
    "慕容": "murong",
    "令狐": "linghu",
    "司徒": "situ",
    "夏侯": "xiahou",
    "长孙": "zhangsun",
    "宇文": "yuwen",
    "轩辕": "xuanyuan",
    "端木": "duanmu",
    "澹台": "tantai",
    "万俟": "moqi",
    "单于": "chanyu",
    "呼延": "huyan",
    "独孤": "dugu",
    "南宫": "nangong",
    "申屠": "shentu",
    "闻人": "wenren",
    "赫连": "helian",
    "钟离": "zhongli",
    "拓跋": "tuoba",
    "司空": "sikong",
    "淳于": "chunyu",
    "濮阳": "puyang",
    "鲜于": "xianyu",
    "闾丘": "lvqiu",
    "太史": "taishi",
    "公冶": "gongye",
    "仲孙": "zhongsun",
    "亓官": "qiguan",
    "颛孙": "zhuansun",
}
# Characters t2s must not touch: 乾 anywhere (干 is another reading), 於 as the surname.
_KEEP_ANYWHERE: Final = frozenset("乾")
_KEEP_FIRST: Final = frozenset("於")

_HANZI: Final = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_INVISIBLE: Final = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")
_DOT_RUN: Final = re.compile(DOT + "+")
_LATIN_SPLIT: Final = re.compile(r"[\s/,;·_()\[\]（）\u200b-\u200d\u2060\ufeff]+")
_LATIN_JOIN: Final = re.compile(r"[-'’‐‑‒–—]+")
_NOT_AZ: Final = re.compile(r"[^a-z]+")

_T2S: Final = OpenCC("t2s")


def _norm_chinese(text: str) -> str:
    text = _DOT_RUN.sub(DOT, _INVISIBLE.sub("", text)).strip(DOT)
    # Removing a space can bring a letter and a combining mark together: compose them again.
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _norm_latin(text: str) -> str:
    return " ".join(t for t in _LATIN_SPLIT.split(text.casefold()) if t)


def _normalise_text(raw: str) -> tuple[str, bool]:
    """(NAME_NORM, is_latin) of one raw name."""
    text = unicodedata.normalize("NFKC", raw.translate(_DOT_TABLE)).translate(_DOT_TABLE)
    if _HANZI.search(text):
        return _norm_chinese(text), False
    if any(ch.isalpha() for ch in text):
        # casefold can leave non-NFKC text (rarely); normalise again so the result is stable.
        return _norm_latin(unicodedata.normalize("NFKC", _norm_latin(text))), True
    return _norm_chinese(text), False


_U_UMLAUT: Final = str.maketrans({"ü": "v", "Ü": "v", "ǖ": "v", "ǘ": "v", "ǚ": "v", "ǜ": "v"})


def _ascii_letters(text: str) -> str:
    """Lower-case a–z letters of ``text``: ü → v as pypinyin spells it, other accents stripped."""
    return _NOT_AZ.sub("", unicodedata.normalize("NFKD", text.translate(_U_UMLAUT)).lower())


def _simplify(norms: list[str]) -> list[str]:
    """OpenCC t2s of many names in one call, with the ``_KEEP_*`` exceptions restored."""
    if not norms:
        return []
    out = _T2S.convert("\n".join(norms)).split("\n")
    if len(out) != len(norms):  # never expected: names hold no newline
        out = [_T2S.convert(n) for n in norms]
    for i, (before, after) in enumerate(zip(norms, out, strict=True)):
        if before == after or len(before) != len(after):
            continue
        if before[0] in _KEEP_FIRST or not _KEEP_ANYWHERE.isdisjoint(before):
            chars = list(after)
            for j, ch in enumerate(before):
                if ch in _KEEP_ANYWHERE or (j == 0 and ch in _KEEP_FIRST):
                    chars[j] = ch
            out[i] = "".join(chars)
    return out


class _PinyinCache:
    """Tone-less pinyin of name parts, memoised (given names repeat far more than full names).

    Fast path, same result as ``lazy_pinyin``: a one- or two-hanzi part that is not in pypinyin's
    phrase table is the join of its characters' default readings (each looked up once).
    """

    def __init__(self) -> None:
        self._parts: dict[str, str] = {}
        self._errors: Callable[[str], str] = _ascii_letters

    def _lazy(self, text: str) -> str:
        return _ascii_letters("".join(lazy_pinyin(text, errors=self._errors)))

    def part(self, text: str) -> str:
        cached = self._parts.get(text)
        if cached is None:
            if len(text) == 2 and text not in PHRASES_DICT and _HANZI.fullmatch(text[0]):
                cached = self.part(text[0]) + self.part(text[1])
            else:
                cached = self._lazy(text)
            self._parts[text] = cached
        return cached

    def surname(self, surname: str) -> str:
        return COMPOUND_SURNAMES.get(surname) or SURNAME_READINGS.get(surname) or self.part(surname)


def _split_surname(simplified: str) -> tuple[str | None, str]:
    """(surname or None, rest) of a simplified Chinese name without dots."""
    head = simplified[:2]
    if head in COMPOUND_SURNAMES and len(simplified) > 2:
        return head, simplified[2:]
    if simplified and _HANZI.match(simplified):
        return simplified[0], simplified[1:]
    return None, simplified


def _chinese_keys(
    simplified: str, cache: _PinyinCache
) -> tuple[str | None, str | None, str | None, str | None]:
    """(pinyin, tokens, surname, surname pinyin) of one simplified Chinese name."""
    if DOT in simplified:
        parts = [cache.part(p) for p in simplified.split(DOT)]
        tokens = [p for p in parts if p]
        surname: str | None = None
        surname_py: str | None = None
    else:
        surname, rest = _split_surname(simplified)
        surname_py = cache.surname(surname) if surname is not None else None
        tokens = [t for t in (surname_py, cache.part(rest)) if t]
    surname_py = surname_py or None
    if not tokens:
        return None, None, surname, surname_py
    return "".join(tokens), " ".join(sorted(tokens)), surname, surname_py


def _latin_keys(norm: str) -> tuple[str | None, str | None]:
    """(pinyin, tokens) of one normalised Latin name."""
    tokens = [t for t in (_ascii_letters(_LATIN_JOIN.sub("", w)) for w in norm.split(" ")) if t]
    if not tokens:
        return None, None
    return "".join(tokens), " ".join(sorted(tokens))


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _plain_hanzi(values: list[object]) -> list[bool]:
    """True for strings of U+4E00–U+9FFF ideographs only: NFKC-stable, no dots or spaces."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())
    found = pc.match_substring_regex(texts, "^[\u4e00-\u9fff]+$").fill_null(False)
    return [bool(x) for x in found.to_numpy(zero_copy_only=False)]


def _keys_of_uniques(uniques: Iterable[object]) -> dict[str, list[object]]:
    """All name columns for each distinct raw name, as lists in ``NAME_COLUMNS`` order."""
    uniques = list(uniques)
    plain = _plain_hanzi(uniques)
    # Names of plain CJK ideographs only (most of them) are already normalised.
    normed: list[tuple[str, bool]] = [
        (_as_text(u), False) if is_plain else _normalise_text(_as_text(u))
        for u, is_plain in zip(uniques, plain, strict=True)
    ]
    norms = [n for n, _ in normed]
    is_latin = [latin for _, latin in normed]
    chinese_at = [i for i, (n, latin) in enumerate(normed) if n and not latin]
    simplified: list[str | None] = [n if n else None for n in norms]
    for i, s in zip(chinese_at, _simplify([norms[i] for i in chinese_at]), strict=True):
        simplified[i] = s

    size = len(norms)
    pinyin: list[str | None] = [None] * size
    tokens: list[str | None] = [None] * size
    surname: list[str | None] = [None] * size
    surname_py: list[str | None] = [None] * size
    cache = _PinyinCache()
    for i in range(size):
        simp = simplified[i]
        if simp is None:
            continue
        if is_latin[i]:
            pinyin[i], tokens[i] = _latin_keys(simp)
        else:
            pinyin[i], tokens[i], surname[i], surname_py[i] = _chinese_keys(simp, cache)
    return {
        NAME_NORM: [n if n else None for n in norms],
        NAME_SIMPLIFIED: list(simplified),
        NAME_PINYIN: list(pinyin),
        NAME_TOKENS: list(tokens),
        SURNAME: list(surname),
        SURNAME_PINYIN: list(surname_py),
        NAME_IS_LATIN: [bool(n) and latin for n, latin in zip(norms, is_latin, strict=True)],
    }


def normalise_names(names: pd.Series) -> pd.DataFrame:
    """Comparable keys of raw names, one row per input row (index kept).

    Returns:
        Columns ``NAME_COLUMNS``: strings (object dtype, ``None`` when missing; dictionary-encoded
        when ``names`` is) and the bool ``NAME_IS_LATIN``. A missing or blank name gives
        ``None`` everywhere and ``False``.
    """
    codes, uniques = distinct(names)
    keys = _keys_of_uniques(uniques.tolist())
    columns: dict[str, pd.Series] = {}
    for column in NAME_COLUMNS:
        dtype = bool if column == NAME_IS_LATIN else object
        # One extra slot for missing names: code -1 takes the last element.
        values = np.array([*keys[column], False if dtype is bool else None], dtype=dtype)
        columns[column] = expand(
            codes, values, index=names.index, dictionary=is_dictionary(names), name=column
        )
    return pd.DataFrame(columns, index=names.index)


_FUZZY_INITIAL: Final = re.compile(r"([zcs])h")
_FUZZY_LETTERS: Final = str.maketrans({"l": "n", "v": "u"})


def _fold_pinyin(text: str) -> str:
    """``fuzzy_pinyin`` of one value (the reference the vectorised version follows)."""
    return _FUZZY_INITIAL.sub(r"\1", text).replace("ng", "n").translate(_FUZZY_LETTERS)


def fuzzy_pinyin(pinyin: pd.Series) -> pd.Series:
    """Homophone-tolerant key: fold zh/ch/sh → z/c/s, -ng → -n, l → n and v (ü) → u.

    The first four are dialect confusions; ü/u differs only in romanisation (吕 ``lv``, passports
    ``LU``). Conservative on purpose: f/h and other reported confusions are left out because
    they merge too many distinct names. Works on ``NAME_PINYIN`` (no separators) or
    ``NAME_TOKENS``: in pinyin, ``h`` after z/c/s and ``l`` only occur in initials, so folding
    anywhere is safe. Missing stays ``None``; the index is kept.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = distinct(pinyin)
    # Vectorised over the distinct values (Arrow string kernels), same folds as
    # ``_fold_pinyin``.
    text = pa.array([str(u) for u in uniques], type=pa.string())
    text = pc.replace_substring_regex(text, _FUZZY_INITIAL.pattern, r"\1")
    text = pc.replace_substring(text, "ng", "n")
    for letter, replacement in (("l", "n"), ("v", "u")):
        text = pc.replace_substring(text, letter, replacement)
    folded = np.concatenate([np.asarray(text.to_numpy(zero_copy_only=False), dtype=object), [None]])
    return expand(
        codes, folded, index=pinyin.index, dictionary=is_dictionary(pinyin), name=pinyin.name
    )
