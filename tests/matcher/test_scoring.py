"""Fellegi–Sunter: EM recovers known m-probabilities; models round-trip through JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matcher.compare import FIELDS, LEVELS, level_column
from matcher.errors import ModelError
from matcher.scoring import MODEL_VERSION, FSModel, estimate_m


def _simulate(n: int, prior: float, m: dict[str, np.ndarray], u: dict[str, np.ndarray], seed: int):
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < prior
    frame = {}
    for f in FIELDS:
        k = len(LEVELS[f])
        lv = np.where(
            is_match, rng.choice(k, size=n, p=m[f]), rng.choice(k, size=n, p=u[f])
        ).astype(np.int8)
        frame[level_column(f)] = lv
    return pd.DataFrame(frame), is_match


def _dist(k: int, top: float, high: bool) -> np.ndarray:
    rest = (1 - top) / (k - 1)
    d = np.full(k, rest)
    d[-1 if high else 0] = top
    return d


def test_em_recovers_m_and_prior_on_simulated_pairs() -> None:
    m = {f: _dist(len(LEVELS[f]), 0.85, high=True) for f in FIELDS}
    u = {f: _dist(len(LEVELS[f]), 0.85, high=False) for f in FIELDS}
    levels, truth = _simulate(200_000, 0.3, m, u, seed=3)
    seed_mask = truth & (np.random.default_rng(4).random(len(truth)) < 0.2)
    est_m, prior, iterations = estimate_m(
        levels,
        seed_mask=seed_mask,
        max_pairs=200_000,
        iterations=50,
        tolerance=1e-6,
        seed=1,
    )
    assert abs(prior - truth.mean()) < 0.01
    for f in FIELDS:
        assert np.abs(np.asarray(est_m[f]) - m[f]).max() < 0.02, f
    assert 1 <= iterations <= 50


def test_model_json_round_trip_and_version_check() -> None:
    model = FSModel(
        m={f: _dist(len(LEVELS[f]), 0.8, True).tolist() for f in FIELDS},
        u={f: _dist(len(LEVELS[f]), 0.8, False).tolist() for f in FIELDS},
        matches_per_record=0.25,
        em_iterations=7,
    )
    again = FSModel.from_json(model.to_json())
    assert again.m == model.m and again.u == model.u and again.matches_per_record == 0.25
    with pytest.raises(ModelError):
        FSModel.from_json(model.to_json().replace(f'"version": {MODEL_VERSION}', '"version": 99'))
    with pytest.raises(ModelError):
        FSModel.from_json("{}")
