"""Draw names (Han, minority, Latin) and derive their variants: homophones, pinyin, traditional."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import opencc
from pypinyin import Style, lazy_pinyin

from .name_pools import (
    GIVEN_CHARS,
    GIVEN_NAMES,
    LATIN_GIVEN,
    LATIN_SURNAMES,
    MONGOLIAN_NAMES,
    SURNAMES,
    TIBETAN_NAMES,
    UYGHUR_GIVEN,
)

Strings = npt.NDArray[np.object_]

_SURNAME_KEYS = np.array(list(SURNAMES), dtype=object)
_SURNAME_P = np.array(list(SURNAMES.values()), dtype=float) / sum(SURNAMES.values())
_S2T = opencc.OpenCC("s2t")
# pypinyin's default (common-word) readings are wrong for these surnames; people type the
# surname reading when they romanise their own name.
_SURNAME_READING = {
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
    "万俟": "moqi",
    "尉迟": "yuchi",
    "单于": "chanyu",
}


def _zipf(n: int, exponent: float = 0.9) -> npt.NDArray[np.float64]:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


def draw_surnames(n: int, rng: np.random.Generator) -> Strings:
    """Surnames by national frequency, compound and heteronym surnames included."""
    return rng.choice(_SURNAME_KEYS, size=n, p=_SURNAME_P)


def generation(birth_year: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """Naming generation: old (< 1960), mid (1960-1989) or young (1990+)."""
    return np.where(birth_year < 1960, "old", np.where(birth_year < 1990, "mid", "young"))


def draw_given(
    sex: npt.NDArray[np.str_], birth_year: npt.NDArray[np.int64], rng: np.random.Generator
) -> Strings:
    """Given names: mostly common names of the person's generation (Zipf), some composed."""
    n = len(sex)
    out = np.empty(n, dtype=object)
    gen = generation(birth_year)
    for g in ("old", "mid", "young"):
        for s in ("M", "F"):
            idx = np.flatnonzero((gen == g) & (sex == s))
            if len(idx) == 0:
                continue
            pool = np.array(GIVEN_NAMES[(g, s)], dtype=object)
            common = rng.choice(pool, size=len(idx), p=_zipf(len(pool)))
            chars = np.array(list(GIVEN_CHARS[s]), dtype=object)
            single_share = {"old": 0.3, "mid": 0.3, "young": 0.12}[g]
            c1 = rng.choice(chars, size=len(idx))
            c2 = rng.choice(chars, size=len(idx))
            composed = np.where(rng.random(len(idx)) < single_share, c1, c1 + c2)
            out[idx] = np.where(rng.random(len(idx)) < 0.35, composed, common)
    return out


def _by_sex(
    pools: dict[str, tuple[str, ...]], sex: npt.NDArray[np.str_], rng: np.random.Generator
) -> Strings:
    out = np.empty(len(sex), dtype=object)
    for s in ("M", "F"):
        idx = np.flatnonzero(sex == s)
        out[idx] = rng.choice(np.array(pools[s], dtype=object), size=len(idx))
    return out


def draw_minority(
    kind: str, sex: npt.NDArray[np.str_], rng: np.random.Generator, father: Strings | None = None
) -> Strings:
    """Minority names without a surname: Uyghur 'own·father' (U+00B7), Tibetan, Mongolian."""
    if kind == "uyghur":
        dad = father if father is not None else _by_sex(UYGHUR_GIVEN, np.full(len(sex), "M"), rng)
        own = _by_sex(UYGHUR_GIVEN, sex, rng)
        own = np.where(own == dad, "艾山", own)
        return own + "\u00b7" + dad
    return _by_sex(TIBETAN_NAMES if kind == "tibetan" else MONGOLIAN_NAMES, sex, rng)


def draw_latin(sex: npt.NDArray[np.str_], rng: np.random.Generator) -> tuple[Strings, Strings]:
    """Latin-script (given, surname) pairs for foreign passport holders."""
    surname = rng.choice(np.array(LATIN_SURNAMES, dtype=object), size=len(sex))
    return _by_sex(LATIN_GIVEN, sex, rng), surname


@lru_cache(maxsize=1)
def _homophone_table() -> dict[str, tuple[str, ...]]:
    chars: set[str] = set(GIVEN_CHARS["M"]) | set(GIVEN_CHARS["F"])
    for names in GIVEN_NAMES.values():
        chars.update("".join(names))
    chars.update(s for s in SURNAMES if len(s) == 1)
    chars.update("章汪黎柳阳皇伍武邹程玮薇炜娅亚怡仪宜艺轩萱暄璇涵含晗寒菡琳林霖麟婷亭庭")
    by_key: dict[str, list[str]] = {}
    for ch in sorted(chars):
        key = _sound_key(lazy_pinyin(ch, style=Style.NORMAL)[0])
        by_key.setdefault(key, []).append(ch)
    return {
        ch: tuple(o for o in group if o != ch)
        for group in by_key.values()
        for ch in group
        if len(group) > 1
    }


def _sound_key(syllable: str) -> str:
    """Toneless syllable with the common dialect confusions folded (zh/z, ch/c, sh/s, -ng/-n, l/n)."""
    s = syllable
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(a):
            s = b + s[2:]
    if s.startswith("l"):
        s = "n" + s[1:]
    if s.endswith("ng"):
        s = s[:-1]
    return s


def homophone_of(ch: str, rng: np.random.Generator) -> str | None:
    """A same- or near-sounding character for ch, or None."""
    others = _homophone_table().get(ch)
    if not others:
        return None
    return others[int(rng.integers(0, len(others)))]


def homophone_typo(surname: str, given: str, rng: np.random.Generator) -> str | None:
    """Full name with one character replaced by a homophone (given name 80 %), or None."""
    positions = [("g", i) for i in range(len(given))]
    if rng.random() < 0.2 or not positions:
        positions = [("s", i) for i in range(len(surname))] + positions
    order = rng.permutation(len(positions))
    for k in order:
        part, i = positions[int(k)]
        text = given if part == "g" else surname
        rep = homophone_of(text[i], rng)
        if rep is None:
            continue
        text = text[:i] + rep + text[i + 1 :]
        return surname + text if part == "g" else text + given
    return None


def pinyin_of(text: str, surname: bool = False) -> list[str]:
    """Toneless pinyin syllables; the surname reading table for a surname."""
    if surname and text in _SURNAME_READING:
        return [_SURNAME_READING[text]]
    return lazy_pinyin(text, style=Style.NORMAL)


def to_traditional(texts: Strings) -> Strings:
    """Simplified → traditional with opencc (s2t), per unique value."""
    uniq = {t: _S2T.convert(t) for t in set(texts.tolist())}
    return np.array([uniq[t] for t in texts.tolist()], dtype=object)
