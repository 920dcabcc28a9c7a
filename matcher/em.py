"""Semi-supervised EM for a two-class (match / non-match) mixture over comparison levels.

Shared by the vaccination model (``matcher.scoring``) and the generic profile
(``matcher.generic``). Runs over the distinct comparison patterns weighted by their counts, so
millions of pairs cost a few thousand rows per iteration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "fit_em",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EMFit:
    """m and u (of the candidate pairs) per field, the match share and iterations used."""

    m: list[FloatArray]
    u: list[FloatArray]
    share: float
    iterations: int


def distinct_patterns(
    matrix: npt.NDArray[np.int8], seed_mask: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_], FloatArray]:
    """Distinct (levels, seed) rows and their counts (levels must lie in -1..14)."""
    code = np.zeros(len(matrix), dtype=np.int64)
    for j in range(matrix.shape[1]):
        code = code * 16 + (matrix[:, j].astype(np.int64) + 1)
    code = code * 2 + seed_mask.astype(np.int64)
    pattern, distinct = pd.factorize(code, sort=True)  # patterns in code order
    counts = np.bincount(pattern, minlength=len(distinct)).astype(np.float64)
    row = np.empty(len(distinct), dtype=np.int64)
    row[pattern] = np.arange(len(code))  # a row of each pattern (all rows of one are equal)
    return matrix[row], seed_mask[row], counts


def level_distribution(
    levels: npt.NDArray[np.int8], weights: FloatArray, n_levels: int
) -> FloatArray:
    """Laplace-smoothed weighted distribution of the non-missing levels."""
    present = levels >= 0
    counts = np.bincount(levels[present], weights=weights[present], minlength=n_levels)
    smoothed = counts.astype(np.float64) + 1.0
    return smoothed / smoothed.sum()


def _weighted(levels: npt.NDArray[np.int8], weights: FloatArray, n_levels: int) -> FloatArray:
    counts = np.bincount(levels, weights=weights, minlength=n_levels).astype(np.float64)
    return (counts + 1e-3) / (counts.sum() + 1e-3 * n_levels)


def fit_em(
    matrix: npt.NDArray[np.int8],
    n_levels: Sequence[int],
    seed_mask: npt.NDArray[np.bool_],
    *,
    iterations: int,
    tolerance: float,
    initial_m: dict[int, FloatArray] | None = None,
) -> EMFit:
    """Fit m, u and the match share; seed pairs are labelled matches (posterior fixed at 1).

    Args:
        matrix: comparison levels, one row per pair, one column per field (-1 = missing).
        n_levels: number of levels per field.
        initial_m: optional starting m for some field columns (by column index).
    """
    patterns, seeds, counts = distinct_patterns(matrix, seed_mask)
    m: list[FloatArray] = []
    u: list[FloatArray] = []
    for j, k in enumerate(n_levels):
        seeded = level_distribution(patterns[:, j], counts * seeds if seeds.any() else counts, k)
        # Mixed with a uniform start, so levels the seed pairs never show can gain mass.
        m.append(0.9 * seeded + 0.1 / k)
        u.append(
            level_distribution(patterns[:, j], counts * ~seeds if (~seeds).any() else counts, k)
        )
    for j, start in (initial_m or {}).items():
        m[j] = np.asarray(start, dtype=np.float64)
    total = max(float(counts.sum()), 1.0)
    share = float(np.clip((counts * seeds).sum() / total if len(seeds) else 0.5, 0.05, 0.95))
    done = 0
    for iteration in range(1, iterations + 1):
        done = iteration
        score = np.full(len(patterns), np.log2(share / (1 - share)))
        for j in range(len(n_levels)):
            lvl = patterns[:, j]
            present = lvl >= 0
            score[present] += (np.log2(m[j]) - np.log2(u[j]))[lvl[present]]
        posterior = 1.0 / (1.0 + np.exp2(-np.clip(score, -60, 60)))
        posterior[seeds] = 1.0
        new_share = float(np.clip((posterior * counts).sum() / total, 1e-6, 1 - 1e-6))
        change = abs(new_share - share)
        for j, k in enumerate(n_levels):
            lvl = patterns[:, j]
            present = lvl >= 0
            weight = counts[present]
            new_m = _weighted(lvl[present], posterior[present] * weight, k)
            new_u = _weighted(lvl[present], (1.0 - posterior[present]) * weight, k)
            change = max(change, float(np.abs(new_m - m[j]).max()))
            m[j], u[j] = new_m, new_u
        share = new_share
        if change < tolerance:
            break
    return EMFit(m=m, u=u, share=share, iterations=done)
