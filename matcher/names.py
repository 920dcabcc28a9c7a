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

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.columns import (
    NAME_IS_LATIN,
    NAME_NORM,
    NAME_PINYIN,
    NAME_SIMPLIFIED,
    NAME_TOKENS,
    SURNAME,
    SURNAME_PINYIN,
)
from matcher.dictionary import (
    ObjectArray,
    arrow_strings,
    distinct,
    expand,
    is_dictionary,
    known_text,
    with_missing_slot,
)

__all__ = [
    "fuzzy_pinyin",
    "keys_of_uniques",
    "load_tables",
    "normalise_names",
]

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


@functools.cache
def _t2s() -> Any:
    """OpenCC's traditional → simplified converter (built on first use)."""
    from opencc import OpenCC

    return OpenCC("t2s")


@functools.cache
def _pinyin() -> tuple[Callable[..., list[str]], Mapping[str, Any]]:
    """pypinyin's ``lazy_pinyin`` and its phrase table (loaded on first use: ~0.2 s)."""
    from pypinyin import lazy_pinyin
    from pypinyin.constants import PHRASES_DICT

    return lazy_pinyin, PHRASES_DICT


def load_tables() -> None:
    """Load the conversion and pinyin tables now rather than on first use (a caller can load
    them on a thread while it reads files)."""
    _t2s()
    _pinyin()


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
    converter = _t2s()
    try:
        out = converter.convert("\n".join(norms)).split("\n")
    except UnicodeEncodeError:  # a lone surrogate (text not read from a file): name by name
        out = []
    if len(out) != len(norms):  # never expected otherwise: names hold no newline
        out = [_convert(converter, n) for n in norms]
    changed = np.flatnonzero(np.array(norms, dtype=object) != np.array(out, dtype=object))
    for i in changed.tolist():
        before, after = norms[i], out[i]
        if len(before) != len(after):
            continue
        if before[0] in _KEEP_FIRST or not _KEEP_ANYWHERE.isdisjoint(before):
            chars = list(after)
            for j, ch in enumerate(before):
                if ch in _KEEP_ANYWHERE or (j == 0 and ch in _KEEP_FIRST):
                    chars[j] = ch
            out[i] = "".join(chars)
    return out


def _convert(converter: Any, name: str) -> str:
    """OpenCC's conversion of one name; a name that is not UTF-8 text stays as it is."""
    try:
        return str(converter.convert(name))
    except UnicodeEncodeError:
        return name


class _PinyinCache:
    """Tone-less pinyin of name parts, memoised (given names repeat far more than full names).

    Fast path, same result as ``lazy_pinyin``: a one- or two-hanzi part that is not in pypinyin's
    phrase table is the join of its characters' default readings (each looked up once).
    """

    def __init__(self) -> None:
        self._parts: dict[str, str] = {}
        self._errors: Callable[[str], str] = _ascii_letters
        self._lazy_pinyin, self._phrases = _pinyin()

    def _lazy(self, text: str) -> str:
        return _ascii_letters("".join(self._lazy_pinyin(text, errors=self._errors)))

    def part(self, text: str) -> str:
        cached = self._parts.get(text)
        if cached is None:
            if len(text) == 2 and text not in self._phrases and _HANZI.fullmatch(text[0]):
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


def _plain_mask(values: Sequence[object] | ObjectArray) -> npt.NDArray[np.bool_]:
    """True for strings of U+4E00–U+9FFF ideographs only: NFKC-stable, no dots or spaces."""
    if not isinstance(values, np.ndarray):
        values = np.fromiter(values, dtype=object, count=len(values))
    return _plain_text_mask(arrow_strings(values))


def _plain_text_mask(texts: Any) -> npt.NDArray[np.bool_]:
    """``_plain_mask`` of Arrow strings (False for nulls)."""
    import pyarrow.compute as pc

    found = pc.match_substring_regex(texts, "^[\u4e00-\u9fff]+$").fill_null(False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def keys_of_uniques(uniques: Iterable[object]) -> dict[str, list[object]]:
    """All name columns for each distinct raw name, as lists in ``NAME_COLUMNS`` order."""
    values = list(uniques)
    keys = _name_keys(np.fromiter(values, dtype=object, count=len(values)))
    return {column: _as_list(column_values) for column, column_values in keys.items()}


def _as_list(values: Any) -> list[object]:
    """The values of an Arrow array, an object array or a list, as a list."""
    if isinstance(values, list):
        return values
    return values.tolist() if isinstance(values, np.ndarray) else values.to_pylist()


# A text column of the name keys: Arrow strings (null when missing) or, when some value is not
# UTF-8 text (a lone surrogate), an object array (``None`` when missing).
Texts = Any


def _name_keys(uniques: ObjectArray) -> dict[str, Any]:
    """All name columns (``NAME_COLUMNS``) for each distinct raw name: the text columns as
    ``Texts``, ``NAME_IS_LATIN`` as a bool array.

    Names of plain ideographs (most of them) stay Arrow strings from the raw text to the keys;
    the others are worked on one by one in Python.
    """
    n = len(uniques)
    raw = arrow_strings(uniques)  # the text read from the files, when known
    plain = _plain_text_mask(raw)
    norm, is_latin = _normalised(uniques, raw, plain)
    chinese = np.flatnonzero(_present(norm) & ~is_latin)
    before = cast(list[str], _as_list(_take(norm, chinese)))
    after = _simplify(before)
    changed = np.flatnonzero(np.array(before, dtype=object) != np.array(after, dtype=object))
    kept = np.setdiff1d(np.arange(n), chinese[changed], assume_unique=True)
    simplified = _placed(
        n, [(kept, _take(norm, kept)), (chinese[changed], [after[i] for i in changed.tolist()])]
    )
    return {
        NAME_NORM: norm,
        NAME_SIMPLIFIED: simplified,
        **_pinyin_keys(simplified, is_latin, chinese),
        NAME_IS_LATIN: is_latin,
    }


def _normalised(
    uniques: ObjectArray, raw: Any, plain: npt.NDArray[np.bool_]
) -> tuple[Texts, npt.NDArray[np.bool_]]:
    """``NAME_NORM`` (missing when blank) and whether the name is Latin, per raw name: names of
    plain ideographs are already normalised (their ``raw`` Arrow text), the others are
    normalised one by one."""
    is_latin = np.zeros(len(uniques), dtype=bool)
    other = np.flatnonzero(~plain)
    texts: list[str] = []
    for i in other.tolist():
        text, is_latin[i] = _normalise_text(_as_text(uniques[i]))
        texts.append(text)
    norm = _placed(len(uniques), [(np.flatnonzero(plain), raw.filter(plain)), (other, texts)])
    return norm, is_latin & _present(norm)


def _pinyin_keys(
    simplified: Texts, is_latin: npt.NDArray[np.bool_], chinese: npt.NDArray[np.intp]
) -> dict[str, Texts]:
    """``_PINYIN_COLUMNS`` per name: vectorised for the simplified names of plain ideographs
    (most of them), name by name for the others."""
    cache = _PinyinCache()
    chinese_names = _take(simplified, chinese)
    if isinstance(chinese_names, np.ndarray):  # (text that is not UTF-8 becomes null: not plain)
        chinese_names = arrow_strings(chinese_names)
    is_plain = _plain_text_mask(chinese_names)
    plain = chinese[is_plain]
    fast = _plain_chinese_keys(chinese_names.filter(is_plain), cache)
    named = np.flatnonzero(_present(simplified))
    other = named[~np.isin(named, plain)]
    slow: dict[str, list[str | None]] = {column: [] for column in _PINYIN_COLUMNS}
    texts = cast(list[str], _as_list(_take(simplified, other)))
    for i, text in zip(other.tolist(), texts, strict=True):
        keys = _latin_keys(text) if is_latin[i] else _chinese_keys(text, cache)
        for column, value in zip(_PINYIN_COLUMNS, (*keys, None, None), strict=False):
            slow[column].append(value)
    return {
        column: _placed(len(simplified), [(plain, fast[column]), (other, slow[column])])
        for column in _PINYIN_COLUMNS
    }


# The columns ``_chinese_keys`` gives, in its order (``_latin_keys`` gives the first two).
_PINYIN_COLUMNS: Final = (NAME_PINYIN, NAME_TOKENS, SURNAME, SURNAME_PINYIN)


def _plain_chinese_keys(simplified: Any, cache: _PinyinCache) -> dict[str, Any]:
    """``_chinese_keys`` of simplified names of U+4E00–U+9FFF ideographs only (Arrow strings),
    vectorised: the pinyin is looked up once per distinct surname and given name. Returns
    Arrow strings, empty where ``_chinese_keys`` gives ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = simplified
    head = pc.utf8_slice_codeunits(names, 0, 2)
    compound = pc.and_(
        pc.is_in(head, pa.array(list(COMPOUND_SURNAMES))), pc.greater(pc.utf8_length(names), 2)
    )
    surname = pc.if_else(compound, head, pc.utf8_slice_codeunits(names, 0, 1))
    rest = pc.if_else(
        compound, pc.utf8_slice_codeunits(names, 2), pc.utf8_slice_codeunits(names, 1)
    )
    surname_py, rest_py = _per_distinct(surname, cache.surname), _per_distinct(rest, cache.part)
    has_surname, has_rest = pc.not_equal(surname_py, ""), pc.not_equal(rest_py, "")
    in_order = pc.less_equal(surname_py, rest_py)  # sorted(tokens)
    both = pc.if_else(
        in_order,
        pc.binary_join_element_wise(surname_py, rest_py, " "),
        pc.binary_join_element_wise(rest_py, surname_py, " "),
    )
    tokens = pc.if_else(has_surname, pc.if_else(has_rest, both, surname_py), rest_py)
    return {
        NAME_PINYIN: pc.binary_join_element_wise(surname_py, rest_py, ""),
        NAME_TOKENS: tokens,
        SURNAME: surname,
        SURNAME_PINYIN: surname_py,
    }


def _per_distinct(texts: Any, function: Callable[[str], str]) -> Any:
    """``function`` of each Arrow string, called once per distinct string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(texts)
    results = [function(text) for text in encoded.dictionary.to_pylist()]
    return pa.array(results, type=pa.string()).take(encoded.indices)


def _placed(n: int, parts: Sequence[tuple[npt.NDArray[np.intp], Any]]) -> Texts:
    """A text column of ``n`` rows from parts ``(rows, values)``, each value list (Arrow
    strings, an object array or a list of ``str``/``None``) giving the values of its rows in
    order; rows no part names are missing, and so is empty text. Arrow strings when every
    value is UTF-8 text; otherwise an object array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arrays = [
            values.cast(pa.string())
            if isinstance(values, pa.Array)
            else pa.array(list(values), type=pa.string())
            for _, values in parts
        ]
    except (UnicodeEncodeError, pa.ArrowException):
        out = np.full(n, None, dtype=object)
        for rows, values in parts:
            out[rows] = np.fromiter(_as_list(values), dtype=object, count=len(rows))
        out[out == ""] = None
        return out
    at = np.full(n, sum(len(array) for array in arrays), dtype=np.intp)  # → the last: null
    offset = 0
    for (rows, _), array in zip(parts, arrays, strict=True):
        at[rows] = offset + np.arange(len(array))
        offset += len(array)
    texts = pa.concat_arrays([*arrays, pa.nulls(1, pa.string())]).take(pa.array(at))
    return pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)


def _take(texts: Texts, rows: npt.NDArray[np.intp]) -> Texts:
    """The given rows of a ``Texts`` column."""
    import pyarrow as pa

    return texts[rows] if isinstance(texts, np.ndarray) else texts.take(pa.array(rows))


def _present(texts: Texts) -> npt.NDArray[np.bool_]:
    """Where a ``Texts`` column has a value."""
    if isinstance(texts, np.ndarray):
        return np.asarray(pd.notna(texts), dtype=bool)
    return np.asarray(texts.is_valid(), dtype=bool)


def normalise_names(names: pd.Series) -> pd.DataFrame:
    """Comparable keys of raw names, one row per input row (index kept).

    Returns:
        Columns ``NAME_COLUMNS``: strings (object dtype, ``None`` when missing; dictionary-encoded
        when ``names`` is) and the bool ``NAME_IS_LATIN``. A missing or blank name gives
        ``None`` everywhere and ``False``.
    """
    import pyarrow as pa

    codes, uniques = distinct(names)
    keys = _name_keys(uniques)
    columns: dict[str, pd.Series] = {}
    for column in NAME_COLUMNS:
        # One extra slot for missing names: code -1 takes the last element.
        values = keys[column]
        if column == NAME_IS_LATIN:
            values = np.append(values, False)
        elif isinstance(values, np.ndarray):
            values = with_missing_slot(values)
        else:
            values = pa.concat_arrays([values, pa.nulls(1, values.type)])
        columns[column] = expand(
            codes, values, index=names.index, dictionary=is_dictionary(names), name=column
        )
    return pd.DataFrame(columns, index=names.index, copy=False)


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
    text = known_text(uniques)
    if text is None:
        text = pa.array([str(u) for u in uniques], type=pa.string())
    text = pc.replace_substring_regex(text, _FUZZY_INITIAL.pattern, r"\1")
    text = pc.replace_substring(text, "ng", "n")
    for letter, replacement in (("l", "n"), ("v", "u")):
        text = pc.replace_substring(text, letter, replacement)
    folded = pa.concat_arrays([text.cast(pa.string()), pa.nulls(1, pa.string())])
    return expand(
        codes, folded, index=pinyin.index, dictionary=is_dictionary(pinyin), name=pinyin.name
    )
