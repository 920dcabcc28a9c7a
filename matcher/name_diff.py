"""Where and how two names differ, character by character, on the matcher's own name keys.

The keys are those ``matcher.names`` gives the comparison step (``NAME_NORM``, the simplified
form, tone-less pinyin, the token set, ``fuzzy_pinyin``), so a difference shown to an auditor is
the one the matcher saw. Each name is cut into units (a character, or a run of Latin letters
typed for a character), the units are aligned on their folded pinyin, and each unit gets a kind:

- ``same``; ``traditional`` (繁简: same simplified character); ``homophone`` (同音字: same
  pinyin, or the two whole names read the same); ``near_homophone`` (近音字: same after the
  dialect folds of ``fuzzy_pinyin``); ``pinyin`` (拼音: pinyin or a Latin spelling against
  characters that read so); ``missing`` (缺字: on one side only, or a placeholder such as ``?``
  or ``□`` where the other side has a character); ``different``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Final

import pandas as pd

from matcher import columns as c
from matcher.names import fuzzy_pinyin, normalise_names

__all__ = [
    "NameDiffKind",
    "diff_names",
]


class NameDiffKind(StrEnum):
    """How one unit of a name relates to the other name."""

    SAME = "same"
    TRADITIONAL = "traditional"
    HOMOPHONE = "homophone"
    NEAR_HOMOPHONE = "near_homophone"
    PINYIN = "pinyin"
    MISSING = "missing"
    DIFFERENT = "different"


@dataclass(frozen=True, slots=True)
class NameDiff:
    """Both names as compared (``NAME_NORM``), a kind per character, the kinds that occur."""

    left: str
    right: str
    left_kinds: tuple[NameDiffKind, ...]
    right_kinds: tuple[NameDiffKind, ...]
    kinds: tuple[NameDiffKind, ...]  # distinct kinds other than ``same``, in the order above


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    simplified: str
    pinyin: str
    fuzzy: str
    latin: bool

    @property
    def placeholder(self) -> bool:
        """No reading and no letter: ``?``, ``□``, a private-use code point."""
        return not self.pinyin and not any(ch.isalpha() for ch in self.text)


_UNITS: Final = re.compile(r"[A-Za-z]+|[^\s\u00b7]")  # a letter run, or one character but a dot
_ORDER: Final = tuple(NameDiffKind)


def _keys(texts: list[str]) -> pd.DataFrame:
    """The matcher's name keys of each text, plus the folded pinyin."""
    keys = normalise_names(pd.Series(texts, dtype=object))
    keys["fuzzy"] = fuzzy_pinyin(keys[c.NAME_PINYIN])
    return keys


def _text(value: object) -> str:
    return "" if value is None or value is pd.NA or value != value else str(value)


def _spans(norm: str) -> list[tuple[int, int]]:
    return [m.span() for m in _UNITS.finditer(norm)]


def _pair_kind(a: _Unit, b: _Unit, whole_pinyin: bool, whole_fuzzy: bool) -> NameDiffKind:
    """Kind of two aligned units (``whole_*``: the two whole names agree on that key)."""
    if a.text == b.text:
        return NameDiffKind.SAME
    if a.placeholder != b.placeholder:
        return NameDiffKind.MISSING
    if a.latin != b.latin:
        same_reading = a.pinyin == b.pinyin or a.fuzzy == b.fuzzy
        return NameDiffKind.PINYIN if same_reading else NameDiffKind.DIFFERENT
    if a.simplified and a.simplified == b.simplified:
        return NameDiffKind.TRADITIONAL
    if a.pinyin and (a.pinyin == b.pinyin or whole_pinyin):
        return NameDiffKind.HOMOPHONE
    if a.fuzzy and (a.fuzzy == b.fuzzy or whole_fuzzy):
        return NameDiffKind.NEAR_HOMOPHONE
    return NameDiffKind.DIFFERENT


def diff_names(left: str | None, right: str | None) -> NameDiff:
    """Character-level difference of two raw names (a missing name: nothing is compared)."""
    raw = [_text(left), _text(right)]
    whole = _keys(raw)
    norms = [_text(v) for v in whole[c.NAME_NORM].tolist()]
    if not norms[0] or not norms[1]:
        return NameDiff(norms[0], norms[1], (NameDiffKind.SAME,) * len(norms[0]),
                        (NameDiffKind.SAME,) * len(norms[1]), ())  # fmt: skip
    pieces = sorted({u for n in norms for u in _UNITS.findall(n)})
    keys = _keys(pieces)
    table = {
        piece: _Unit(
            piece, _text(simplified), _text(pinyin), _text(fuzzy), bool(latin)
        )
        for piece, simplified, pinyin, fuzzy, latin in zip(
            pieces, keys[c.NAME_SIMPLIFIED], keys[c.NAME_PINYIN], keys["fuzzy"],
            keys[c.NAME_IS_LATIN], strict=True,
        )
    }  # fmt: skip
    spans = _spans(norms[0]), _spans(norms[1])
    a = [table[norms[0][i:j]] for i, j in spans[0]]
    b = [table[norms[1][i:j]] for i, j in spans[1]]
    pinyin = [_text(v) for v in whole[c.NAME_PINYIN].tolist()]
    tokens = [_text(v) for v in whole[c.NAME_TOKENS].tolist()]
    fuzzy = [_text(v) for v in whole["fuzzy"].tolist()]
    whole_pinyin = bool(pinyin[0]) and (pinyin[0] == pinyin[1] or tokens[0] == tokens[1])
    whole_fuzzy = bool(fuzzy[0]) and fuzzy[0] == fuzzy[1]
    kinds_a: list[NameDiffKind] = [NameDiffKind.SAME] * len(a)
    kinds_b: list[NameDiffKind] = [NameDiffKind.SAME] * len(b)
    align = [u.fuzzy or u.text for u in a], [u.fuzzy or u.text for u in b]
    matcher = SequenceMatcher(None, align[0], align[1], autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        block_a, block_b = a[i1:i2], b[j1:j2]
        joined = "".join(u.pinyin for u in block_a), "".join(u.pinyin for u in block_b)
        if len(block_a) != len(block_b) and joined[0] and joined[0] == joined[1]:
            # pinyin typed for several characters (or the reverse): one reading, spelled apart
            kinds_a[i1:i2] = [NameDiffKind.PINYIN] * len(block_a)
            kinds_b[j1:j2] = [NameDiffKind.PINYIN] * len(block_b)
            continue
        for k in range(max(len(block_a), len(block_b))):
            if k < len(block_a) and k < len(block_b):
                kind = _pair_kind(block_a[k], block_b[k], whole_pinyin, whole_fuzzy)
                kinds_a[i1 + k] = kinds_b[j1 + k] = kind
            elif k < len(block_a):
                kinds_a[i1 + k] = NameDiffKind.MISSING
            else:
                kinds_b[j1 + k] = NameDiffKind.MISSING
    found = set(kinds_a) | set(kinds_b)
    kinds = tuple(k for k in _ORDER if k in found and k != NameDiffKind.SAME)
    return NameDiff(norms[0], norms[1], _per_char(norms[0], spans[0], kinds_a),
                    _per_char(norms[1], spans[1], kinds_b), kinds)  # fmt: skip


def _per_char(
    norm: str, spans: list[tuple[int, int]], kinds: list[NameDiffKind]
) -> tuple[NameDiffKind, ...]:
    """A unit's kind on each of its characters; separators between units are ``same``."""
    out = [NameDiffKind.SAME] * len(norm)
    for (i, j), kind in zip(spans, kinds, strict=True):
        out[i:j] = [kind] * (j - i)
    return tuple(out)
