"""A generic linkage profile: the same blocking, EM and Fellegi–Sunter machinery on any schema.

The vaccination model knows what a Chinese ID number or name means; this profile only knows
field kinds (exact, string, date, identifier). It links one file (deduplication) or two files
(linkage, optionally one-to-one), e.g. FEBRL4: ``docs/profiles/generic/febrl4.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from matcher.blocking import pairs_within_blocks
from matcher.clustering import cluster_pairs
from matcher.em import fit_em
from matcher.errors import ProfileError

__all__ = [
    "DATASET",
    "GenericProfile",
    "link_generic",
]

IntArray = npt.NDArray[np.int64]
DATASET = "dataset"


class GenericField(BaseModel):
    """A compared field: ``exact`` (equal or not), ``string`` (Jaro–Winkler bands), ``date``
    (exact / one edit / same year) or ``identifier`` (exact / one edit / two edits)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Literal["exact", "string", "date", "identifier"]
    thresholds: tuple[float, ...] = (0.94, 0.85)

    @property
    def n_levels(self) -> int:
        """Levels 0..n-1 (−1 is missing)."""
        return len(self.thresholds) + 2 if self.kind == "string" else {"exact": 2}.get(self.kind, 4)


class GenericProfile(BaseModel):
    """Fields, blocking rules and decision settings of a generic linkage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id_column: str
    fields: tuple[GenericField, ...]
    blocking_rules: tuple[tuple[str, ...], ...]
    seed_fields: tuple[str, ...] = Field(description="pairs exact on all of these seed EM")
    match_weight: float = 6.0
    one_to_one: bool = False
    max_block_size: int = Field(default=2000, ge=2)
    u_sample_pairs: int = Field(default=500_000, ge=1000)
    seed: int = 1

    @classmethod
    def from_toml(cls, path: Path) -> GenericProfile:
        """Load a profile; errors name the file."""
        try:
            return cls.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ProfileError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class GenericResult:
    """Scored candidate pairs (positions into the stacked records) and cluster labels."""

    records: pd.DataFrame  # stacked inputs with DATASET and the profile's id column
    pairs: pd.DataFrame  # left, right, level_*, match_weight, match
    labels: IntArray
    m: dict[str, list[float]]
    u: dict[str, list[float]]


def link_generic(frames: list[pd.DataFrame], profile: GenericProfile) -> GenericResult:
    """Deduplicate one frame or link two (only cross-frame pairs) with the profile."""
    if len(frames) not in (1, 2):
        raise ProfileError("the generic profile links one or two inputs")
    records = pd.concat(
        [f.assign(**{DATASET: i}) for i, f in enumerate(frames)], ignore_index=True
    ).astype({DATASET: np.int64})
    for f in profile.fields:
        if f.name not in records:
            raise ProfileError(f"input lacks the profile's field {f.name!r}")
    dataset = records[DATASET].to_numpy()
    left, right = _block(records, profile, dataset, len(frames) == 2)
    levels = compare_generic(records, left, right, profile)
    rng = np.random.default_rng(profile.seed)
    rl, rr = _random_pairs(dataset, len(frames) == 2, profile.u_sample_pairs, rng)
    random_levels = compare_generic(records, rl, rr, profile)
    names = [f.name for f in profile.fields]
    u = {f.name: _smoothed(random_levels[:, j], f.n_levels) for j, f in enumerate(profile.fields)}
    seeds = np.ones(len(left), dtype=bool)
    for name in profile.seed_fields:
        field = profile.fields[names.index(name)]
        seeds &= levels[:, names.index(name)] == field.n_levels - 1
    fit = fit_em(levels, [f.n_levels for f in profile.fields], seeds, iterations=50, tolerance=1e-6)
    m = {name: fit.m[j] for j, name in enumerate(names)}
    population = (
        (dataset == 0).sum() * (dataset == 1).sum()
        if len(frames) == 2
        else len(records) * (len(records) - 1) / 2
    )
    prior = min(max(fit.share * len(left) / max(population, 1), 1e-12), 0.5)
    weight = np.full(len(left), np.log2(prior / (1 - prior)))
    for j, name in enumerate(names):
        lvl = levels[:, j]
        bf = np.log2(m[name] / u[name])
        weight += np.where(lvl >= 0, bf[np.clip(lvl, 0, None)], 0.0)
    match = weight >= profile.match_weight
    if profile.one_to_one:
        match &= _one_to_one(left, right, weight)
    pairs = pd.DataFrame({"left": left, "right": right, "match_weight": weight, "match": match})
    for j, name in enumerate(names):
        pairs[f"level_{name}"] = levels[:, j]
    clustering = cluster_pairs(
        len(records), left[match], right[match], weight[match], np.full(len(records), -1)
    )
    return GenericResult(
        records=records,
        pairs=pairs,
        labels=clustering.labels,
        m={k: v.tolist() for k, v in m.items()},
        u={k: v.tolist() for k, v in u.items()},
    )


def _block(
    records: pd.DataFrame, profile: GenericProfile, dataset: IntArray, cross_only: bool
) -> tuple[IntArray, IntArray]:
    rows = np.arange(len(records), dtype=np.int64)
    lefts, rights = [], []
    for rule in profile.blocking_rules:
        frame = records[list(rule)]
        codes = np.asarray(
            frame.groupby(list(rule), sort=False, dropna=False).ngroup(), dtype=np.int64
        )
        codes[frame.isna().any(axis=1).to_numpy()] = -1
        sizes = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, np.int64)
        ok = codes >= 0
        ok[ok] = sizes[codes[ok]] <= profile.max_block_size
        a, b = pairs_within_blocks(codes[ok], rows[ok])
        lefts.append(a)
        rights.append(b)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    if cross_only:
        keep = dataset[left] != dataset[right]
        left, right = left[keep], right[keep]
    code = np.unique(left * len(records) + right)
    return code // len(records), code % len(records)


def _random_pairs(
    dataset: IntArray, cross_only: bool, size: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    if cross_only:
        a, b = np.flatnonzero(dataset == 0), np.flatnonzero(dataset == 1)
        return rng.choice(a, size), rng.choice(b, size)
    left, right = rng.integers(0, len(dataset), size), rng.integers(0, len(dataset), size)
    keep = left != right
    return left[keep], right[keep]


def _smoothed(levels: npt.NDArray[np.int8], n_levels: int) -> npt.NDArray[np.float64]:
    counts = np.bincount(levels[levels >= 0], minlength=n_levels).astype(np.float64) + 1.0
    return counts / counts.sum()


def compare_generic(
    records: pd.DataFrame, left: IntArray, right: IntArray, profile: GenericProfile
) -> npt.NDArray[np.int8]:
    """Level matrix (pairs × fields) in batch: rapidfuzz ``cpdist`` for the fuzzy kinds."""
    out = np.zeros((len(left), len(profile.fields)), dtype=np.int8)
    for j, f in enumerate(profile.fields):
        values = records[f.name].astype(object).to_numpy()
        a, b = values[left], values[right]
        missing = pd.isna(a) | pd.isna(b) | (a == "") | (b == "")
        a = np.where(missing, "", a)
        b = np.where(missing, "", b)
        exact = (a == b) & ~missing
        top = f.n_levels - 1
        if f.kind == "exact":
            level = exact.astype(np.int8)
        elif f.kind == "string":
            sim = process.cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=-1)
            level = np.zeros(len(left), dtype=np.int8)
            for rank, threshold in enumerate(sorted(f.thresholds)):
                level[sim >= threshold] = rank + 1
            level[exact] = top
        else:
            dist = process.cpdist(a, b, scorer=Levenshtein.distance, workers=-1)
            level = np.zeros(len(left), dtype=np.int8)
            if f.kind == "date":
                same_year = pd.Series(a).str[:4].to_numpy() == pd.Series(b).str[:4].to_numpy()
                level[same_year & ~missing] = 1
            else:
                level[dist <= 2] = 1
            level[dist <= 1] = 2
            level[exact] = top
        level[missing] = -1
        out[:, j] = level
    return out


def _one_to_one(
    left: IntArray, right: IntArray, weight: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """True for pairs that are the strongest pair of both their records (mutual best)."""
    rank_l = pd.Series(-weight).groupby(left).rank(method="first").to_numpy()
    rank_r = pd.Series(-weight).groupby(right).rank(method="first").to_numpy()
    return (rank_l == 1) & (rank_r == 1)
