"""Lookup tables for the synthetic generator: names, homophones, provinces, counties, sites.

Everything here is small (a few thousand entries) and is turned into numpy arrays once, so the
generator itself only indexes arrays. Data files live in ``matcher/data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from opencc import OpenCC
from pypinyin import Style, lazy_pinyin

from matcher.regions import MAINLAND_PROVINCES

__all__ = [
    "NamePool",
    "geography",
    "given_name_pool",
    "surname_pool",
]

DATA_DIR: Final = Path(__file__).parent / "data"
SITE_KINDS: Final = ("社区卫生服务中心", "人民医院", "疾病预防控制中心", "妇幼保健院", "临时接种点")

StrArray = npt.NDArray[np.str_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NamePool:
    """Names of one kind (surnames, or one sex's given names) with their variant forms.

    ``homophone_offsets``/``homophone_counts`` index ``homophones``: the homophone variants of
    entry i are ``homophones[offsets[i] : offsets[i] + counts[i]]`` (count 0: none).
    ``sibling_group`` groups entries that look alike (same first character), for twins.
    """

    names: StrArray
    weights: FloatArray  # probabilities, sum 1
    traditional: StrArray  # s2t form ("" when identical to the simplified form)
    pinyin: StrArray  # capitalised pinyin, syllables joined: "Ouyang", "Xiaoming"
    homophones: StrArray
    homophone_offsets: IntArray
    homophone_counts: IntArray
    sibling_order: IntArray  # entry indices sorted by sibling group
    sibling_start: IntArray  # per entry: start of its group in sibling_order
    sibling_size: IntArray  # per entry: size of its group
    sibling_pos: IntArray  # per entry: its position inside its group


@dataclass(frozen=True, slots=True)
class Geography:
    """Mainland provinces with population weights, county codes and vaccination sites."""

    codes: StrArray  # 2-digit province codes, MAINLAND_PROVINCES order
    population: FloatArray
    county_codes: IntArray  # (n_provinces, counties_per_province), 6-digit codes
    county_names: StrArray  # same shape
    sites: StrArray  # (n_provinces, n_sites): vaccination unit names


def _data_lines(name: str) -> list[list[str]]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def _homophone_table() -> dict[str, str]:
    return {row[0]: row[1] for row in _data_lines("homophones.tsv")}


def _pinyin(text: str, override: str = "") -> str:
    syllables = override or "".join(lazy_pinyin(text, style=Style.NORMAL))
    return syllables[:1].upper() + syllables[1:]


def _build_pool(names: list[str], weights: list[float], pinyin_overrides: list[str]) -> NamePool:
    s2t = OpenCC("s2t")
    table = _homophone_table()
    traditional = []
    for name in names:
        converted = s2t.convert(name)
        traditional.append(converted if converted != name else "")
    variants: list[str] = []
    offsets: list[int] = []
    counts: list[int] = []
    for name in names:
        offsets.append(len(variants))
        found = [
            name[:i] + alt + name[i + 1 :]
            for i, char in enumerate(name)
            for alt in table.get(char, "")
        ]
        variants.extend(found)
        counts.append(len(found))
    groups = np.array([name[0] if len(name) > 1 else "" for name in names])
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts_sorted = np.searchsorted(sorted_groups, sorted_groups, side="left")
    ends_sorted = np.searchsorted(sorted_groups, sorted_groups, side="right")
    start = np.empty(len(names), dtype=np.int64)
    size = np.empty(len(names), dtype=np.int64)
    pos = np.empty(len(names), dtype=np.int64)
    start[order] = starts_sorted
    size[order] = ends_sorted - starts_sorted
    pos[order] = np.arange(len(names)) - starts_sorted
    w = np.asarray(weights, dtype=np.float64)
    return NamePool(
        names=np.asarray(names, dtype=np.str_),
        weights=w / w.sum(),
        traditional=np.asarray(traditional, dtype=np.str_),
        pinyin=np.asarray(
            [_pinyin(n, o) for n, o in zip(names, pinyin_overrides, strict=True)], dtype=np.str_
        ),
        homophones=np.asarray(variants or [""], dtype=np.str_),
        homophone_offsets=np.asarray(offsets, dtype=np.int64),
        homophone_counts=np.asarray(counts, dtype=np.int64),
        sibling_order=order.astype(np.int64),
        sibling_start=start,
        sibling_size=size,
        sibling_pos=pos,
    )


@lru_cache(maxsize=1)
def surname_pool() -> NamePool:
    """Surnames with real population shares; heteronym readings taken from the data file."""
    rows = _data_lines("surnames.tsv")
    return _build_pool(
        [r[0] for r in rows],
        [float(r[1]) for r in rows],
        [r[2] if len(r) > 2 else "" for r in rows],
    )


def _rank_weights(chars: str) -> list[float]:
    return [1.0 / (rank + 2.0) ** 0.9 for rank in range(len(chars))]


@lru_cache(maxsize=2)
def given_name_pool(sex: str) -> NamePool:
    """Given names for ``sex`` ("M"/"F"): single characters (a quarter) and two-character pairs."""
    roles = {r[1]: r[2] for r in _data_lines("given_names.tsv") if r[0] == sex}
    names: list[str] = []
    weights: list[float] = []
    single_w = _rank_weights(roles["single"])
    total_single = sum(single_w)
    for char, w in zip(roles["single"], single_w, strict=True):
        names.append(char)
        weights.append(0.25 * w / total_single)
    first_w = _rank_weights(roles["first"])
    second_w = _rank_weights(roles["second"])
    total_pair = sum(first_w) * sum(second_w)
    for first, fw in zip(roles["first"], first_w, strict=True):
        for second, sw in zip(roles["second"], second_w, strict=True):
            if first != second and first + second not in names:
                names.append(first + second)
                weights.append(0.75 * fw * sw / total_pair)
    return _build_pool(names, weights, [""] * len(names))


@lru_cache(maxsize=1)
def geography() -> Geography:
    """Provinces (MAINLAND_PROVINCES order), their populations, counties and sites."""
    rows = {r[0]: r for r in _data_lines("provinces.tsv")}
    population = []
    county_codes = []
    county_names = []
    for code in MAINLAND_PROVINCES:
        row = rows[code]
        population.append(float(row[1]))
        pairs = [item.split(" ") for item in row[2].split(",")]
        county_codes.append([int(c) for c, _ in pairs])
        county_names.append([n for _, n in pairs])
    names = np.asarray(county_names, dtype=np.str_)
    sites = np.char.add(
        np.repeat(names, len(SITE_KINDS), axis=1),
        np.tile(np.asarray(SITE_KINDS, dtype=np.str_), names.shape[1]),
    )
    return Geography(
        codes=np.asarray(MAINLAND_PROVINCES, dtype=np.str_),
        population=np.asarray(population, dtype=np.float64),
        county_codes=np.asarray(county_codes, dtype=np.int64),
        county_names=names,
        sites=sites,
    )
