"""Fellegi–Sunter scoring: u from random pairs, m by EM, name term-frequency adjustment.

Match weights are log2 Bayes factors. Per-field weights are kept (``weight_<field>``) so every
decision can be explained. Domain rules and decisions live in ``matcher.decisions``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c
from matcher.blocking import column_codes
from matcher.compare import FIELDS, LEFT, LEVELS, RIGHT, compare_pairs, level_column
from matcher.em import fit_em
from matcher.errors import ModelError

__all__ = [
    "FSModel",
    "MATCH_PROBABILITY",
    "MATCH_WEIGHT",
    "estimate_m",
    "estimate_u",
    "fitted_model",
    "match_weights",
    "name_term_frequencies",
    "random_pairs",
    "score_pairs",
    "train_model",
    "u_from_levels",
    "weight_column",
]

FloatArray = npt.NDArray[np.float64]
MODEL_VERSION = 2  # 2: name level one_character
TF_FIELD = "name"
TF_LEVELS = (6, 7)  # name levels adjusted by the name's own frequency (the last: exact)
MATCH_WEIGHT = "match_weight"
MATCH_PROBABILITY = "match_probability"


def weight_column(field_name: str) -> str:
    """Name of the per-field match-weight column."""
    return f"weight_{field_name}"


@dataclass(frozen=True)
class FSModel:
    """A trained Fellegi–Sunter model: m and u per field level, and the prior."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    matches_per_record: float  # expected true matching pairs per record (sets the prior)
    em_iterations: int = 0
    trained_on_pairs: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def bayes_factors(self, field_name: str) -> FloatArray:
        """log2(m/u) per level of a field."""
        return np.log2(np.asarray(self.m[field_name]) / np.asarray(self.u[field_name]))

    def prior_weight(self, population: int) -> float:
        """log2 prior odds that two random records of a population of this size match."""
        pairs = max(population * (population - 1) / 2.0, 1.0)
        prior = min(max(self.matches_per_record * population / pairs, 1e-12), 0.5)
        return float(np.log2(prior / (1.0 - prior)))

    def to_json(self) -> str:
        """Serialise to JSON (levels named, so the file explains itself)."""
        payload = {
            "version": MODEL_VERSION,
            "matches_per_record": self.matches_per_record,
            "em_iterations": self.em_iterations,
            "trained_on_pairs": self.trained_on_pairs,
            "notes": self.notes,
            "fields": {
                f: {
                    "levels": list(LEVELS[f]),
                    "m": self.m[f],
                    "u": self.u[f],
                    "log2_bayes_factor": [round(float(x), 4) for x in self.bayes_factors(f)],
                }
                for f in FIELDS
            },
        }
        return json.dumps(payload, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FSModel:
        """Load a model saved by ``to_json``; refuses other versions or field layouts."""
        try:
            payload = json.loads(text)
            if payload.get("version") != MODEL_VERSION:
                raise ModelError(f"model version {payload.get('version')!r} is not {MODEL_VERSION}")
            fields = payload["fields"]
            for f in FIELDS:
                if fields[f]["levels"] != list(LEVELS[f]):
                    raise ModelError(f"model levels of field {f!r} do not match this version")
            return cls(
                m={f: [float(x) for x in fields[f]["m"]] for f in FIELDS},
                u={f: [float(x) for x in fields[f]["u"]] for f in FIELDS},
                matches_per_record=float(payload["matches_per_record"]),
                em_iterations=int(payload.get("em_iterations", 0)),
                trained_on_pairs=int(payload.get("trained_on_pairs", 0)),
                notes=dict(payload.get("notes", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"not a vaxlink model file: {exc}") from exc

    @classmethod
    def from_json_or_none(cls, text: str | None) -> FSModel | None:
        """``from_json``, or None when there is no text or it holds a model of another version
        or layout (a store upgraded to a new vaxlink: the model is trained again)."""
        if text is None:
            return None
        try:
            return cls.from_json(text)
        except ModelError:
            return None

    def save(self, path: Path) -> None:
        """Write the model as JSON."""
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FSModel:
        """Read a model written by ``save``."""
        return cls.from_json(path.read_text(encoding="utf-8"))


def _level_matrix(levels: pd.DataFrame) -> npt.NDArray[np.int8]:
    return np.column_stack([levels[level_column(f)].to_numpy(dtype=np.int8) for f in FIELDS])


def estimate_u(
    records: pd.DataFrame, *, sample_pairs: int, seed: int, jw_thresholds: tuple[float, ...]
) -> dict[str, list[float]]:
    """u-probabilities: level frequencies among uniformly random record pairs (Laplace-smoothed)."""
    pairs = random_pairs(len(records), sample_pairs=sample_pairs, seed=seed)
    return u_from_levels(compare_pairs(records, pairs, jw_thresholds=jw_thresholds))


def random_pairs(n: int, *, sample_pairs: int, seed: int) -> pd.DataFrame:
    """The uniformly random record pairs (positions ``LEFT``, ``RIGHT``) ``estimate_u`` compares."""
    rng = np.random.default_rng(seed)
    size = min(sample_pairs, max(n * (n - 1) // 2, 1))
    left = rng.integers(0, n, size=size)
    right = rng.integers(0, n, size=size)
    keep = left != right
    return pd.DataFrame({LEFT: left[keep], RIGHT: right[keep]}, copy=False)


def u_from_levels(levels: pd.DataFrame) -> dict[str, list[float]]:
    """u-probabilities from the levels of random pairs (Laplace-smoothed frequencies)."""
    u: dict[str, list[float]] = {}
    for f in FIELDS:
        counts = np.bincount(
            levels[level_column(f)].to_numpy()[levels[level_column(f)].to_numpy() >= 0],
            minlength=len(LEVELS[f]),
        ).astype(np.float64)
        u[f] = ((counts + 1.0) / (counts.sum() + len(counts))).tolist()
    return u


def estimate_m(
    levels: pd.DataFrame,
    *,
    seed_mask: npt.NDArray[np.bool_],
    max_pairs: int,
    iterations: int,
    tolerance: float,
    seed: int,
    seed_overrides: dict[str, npt.NDArray[np.int8]] | None = None,
) -> tuple[dict[str, list[float]], float, int]:
    """m-probabilities and the share of matches among candidate pairs, by semi-supervised EM.

    A two-class mixture over the candidate pairs in which both m and the candidates' own u
    are estimated (non-matching candidates agree on blocking fields far more often than
    random pairs, so random-pair u cannot stand in for them here). The seed pairs (two
    records with the same trusted resident ID) are labelled matches: their posterior stays 1,
    so error levels that only true matches show (a mistyped birth date) keep their mass.

    Args:
        seed_overrides: per field, the levels to use for the seed pairs instead (e.g. birth
            dates compared as typed, since the effective date of both comes from the ID).
    """
    matrix = _level_matrix(levels)
    if seed_overrides:
        for j, f in enumerate(FIELDS):
            if f in seed_overrides:
                matrix[seed_mask, j] = seed_overrides[f]
    rng = np.random.default_rng(seed)
    if len(matrix) > max_pairs:
        chosen = rng.choice(len(matrix), size=max_pairs, replace=False)
        matrix, seed_mask = matrix[chosen], seed_mask[chosen]
    fit = fit_em(
        matrix,
        [len(LEVELS[f]) for f in FIELDS],
        seed_mask,
        iterations=iterations,
        tolerance=tolerance,
        initial_m={FIELDS.index("id"): np.array([0.01, 0.02, 0.02, 0.95])},
    )
    return {f: fit.m[j].tolist() for j, f in enumerate(FIELDS)}, fit.share, fit.iterations


def name_term_frequencies(records: pd.DataFrame) -> FloatArray:
    """Per record: the share of records carrying its simplified name (0 where missing)."""
    codes = column_codes(records, c.NAME_SIMPLIFIED)
    present = codes >= 0
    counts = np.bincount(codes[present]).astype(np.float64)
    frequencies = np.zeros(len(records), dtype=np.float64)
    frequencies[present] = counts[codes[present]]
    return frequencies / max(len(records), 1)


def match_weights(
    records: pd.DataFrame,
    levels: pd.DataFrame,
    model: FSModel,
    *,
    population: int | None = None,
    name_frequencies: FloatArray | None = None,
) -> FloatArray:
    """The total match weight per pair (float64), as ``score_pairs`` adds it up, no columns."""
    total = np.full(len(levels), model.prior_weight(_population(records, population)))
    for _, weight in _field_weights(records, levels, model, population, name_frequencies):
        total += weight
    return total


def score_pairs(
    records: pd.DataFrame,
    levels: pd.DataFrame,
    model: FSModel,
    *,
    population: int | None = None,
    name_frequencies: FloatArray | None = None,
    inplace: bool = False,
) -> pd.DataFrame:
    """Per-field weights, total match weight and probability for compared pairs (batch in/out).

    Args:
        population: number of records the pairs were drawn from (default: ``len(records)``);
            sets the prior, so weights mean the same in an incremental run on a subset.
        name_frequencies: per record, the share of the population carrying its name
            (default: computed from ``records``).
        inplace: add the weight columns to ``levels`` itself instead of a copy (saves a copy
            of every candidate pair in the pipeline).
    """
    out = levels if inplace else levels.copy()
    total = np.full(len(levels), model.prior_weight(_population(records, population)))
    for f, weight in _field_weights(records, levels, model, population, name_frequencies):
        out[weight_column(f)] = weight.astype(np.float32)
        total += weight
    out[MATCH_WEIGHT] = total.astype(np.float32)
    out[MATCH_PROBABILITY] = (1.0 / (1.0 + np.exp2(-np.clip(total, -60, 60)))).astype(np.float32)
    return out


def _population(records: pd.DataFrame, population: int | None) -> int:
    return population if population is not None else max(len(records), 1)


def _field_weights(
    records: pd.DataFrame,
    levels: pd.DataFrame,
    model: FSModel,
    population: int | None,
    name_frequencies: FloatArray | None,
) -> Iterator[tuple[str, FloatArray]]:
    """Per field, in ``FIELDS`` order: its match weight per pair."""
    n = _population(records, population)
    tf = name_frequencies if name_frequencies is not None else name_term_frequencies(records)
    for f in FIELDS:
        lvl = levels[level_column(f)].to_numpy(dtype=np.int8)
        # log2 Bayes factor per level; level -1 (missing) reads the appended 0
        weight = np.append(model.bayes_factors(f), 0.0)[lvl]
        if f == TF_FIELD:
            # Term-frequency adjustment (as Splink's): a level's Bayes factor times u(exact) over
            # the name's own frequency, so a common name counts for less and a rare one for
            # more. On the exact level this is m / frequency; a script variant (张伟 / 張偉) keeps
            # its own, far higher, m/u and is adjusted by the same factor.
            hit = np.flatnonzero(np.isin(lvl, TF_LEVELS))
            freq = np.maximum(tf[levels[LEFT].to_numpy()[hit]], 1.0 / n)
            u_exact = model.u[f][TF_LEVELS[-1]]
            weight[hit] += np.log2(u_exact) - np.log2(freq)
        yield f, weight


def train_model(
    records: pd.DataFrame,
    levels: pd.DataFrame,
    *,
    seed_mask: npt.NDArray[np.bool_],
    u_sample_pairs: int,
    em_max_pairs: int,
    em_iterations: int,
    em_tolerance: float,
    seed: int,
    jw_thresholds: tuple[float, ...],
    seed_overrides: dict[str, npt.NDArray[np.int8]] | None = None,
    u: dict[str, list[float]] | None = None,
) -> FSModel:
    """Estimate u on random pairs (unless given: ``estimate_u``'s result), then m and the prior
    by EM on the candidate pairs."""
    if u is None:
        u = estimate_u(records, sample_pairs=u_sample_pairs, seed=seed, jw_thresholds=jw_thresholds)
    m, share, iterations = estimate_m(
        levels,
        seed_mask=seed_mask,
        max_pairs=em_max_pairs,
        iterations=em_iterations,
        tolerance=em_tolerance,
        seed=seed,
        seed_overrides=seed_overrides,
    )
    return fitted_model(m, u, share, iterations, n_pairs=len(levels), n_records=len(records))


def fitted_model(
    m: dict[str, list[float]],
    u: dict[str, list[float]],
    share: float,
    iterations: int,
    *,
    n_pairs: int,
    n_records: int,
) -> FSModel:
    """The model of an EM fit (``estimate_m``) on ``n_pairs`` candidates of ``n_records``."""
    return FSModel(
        m=m,
        u=u,
        matches_per_record=share * n_pairs / max(n_records, 1),
        em_iterations=iterations,
        trained_on_pairs=n_pairs,
        notes={"candidate_match_share": round(share, 6), "records": n_records},
    )
