"""Training on Spark's candidates: u and EM on the driver, from exactly the samples the
pandas engine draws (``scoring.random_pairs``, ``scoring.estimate_m``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from matcher import columns as c
from matcher.blocking import key_columns
from matcher.compare import LEFT, RIGHT, compare_pairs, prepare_records
from matcher.engines.spark.codec import Kinds, from_rows
from matcher.engines.spark.ordering import number_rows
from matcher.scoring import FSModel, estimate_m, fitted_model, random_pairs, u_from_levels
from matcher.settings import MatchSettings

__all__ = [
    "train",
]


def train(
    spark: Any,
    records: Any,
    kinds: Kinds,
    levels: Any,
    n_pairs: int,
    n_records: int,
    settings: MatchSettings,
) -> FSModel:
    """u on ``estimate_u``'s random pairs (only their records collected), m by EM on the
    candidates' levels (``estimate_m``'s sample when there are more than ``em_max_pairs``)."""
    from pyspark.sql import functions as F

    pairs = random_pairs(n_records, sample_pairs=settings.u_sample_pairs, seed=settings.seed)
    wanted = np.unique(np.concatenate([pairs[LEFT].to_numpy(), pairs[RIGHT].to_numpy()]))
    ids = spark.createDataFrame(pd.DataFrame({c.RECORD_ID: wanted}))
    sampled = records.join(F.broadcast(ids), c.RECORD_ID).select(*kinds).toPandas()
    sampled = from_rows(sampled, kinds).sort_values(c.RECORD_ID).reset_index(drop=True)
    positions = sampled[c.RECORD_ID].to_numpy(dtype=np.int64)
    local = pd.DataFrame(
        {
            LEFT: np.searchsorted(positions, pairs[LEFT].to_numpy()),
            RIGHT: np.searchsorted(positions, pairs[RIGHT].to_numpy()),
        }
    )
    coded = prepare_records(sampled, columns=key_columns(settings))
    u = u_from_levels(compare_pairs(coded, local, jw_thresholds=settings.name_jw_thresholds))
    del sampled, coded

    columns = [
        LEFT,
        RIGHT,
        *[k for k in levels.columns if k.startswith("level_")],
        "_seed",
        "_stated_birth",
    ]
    if n_pairs > settings.em_max_pairs:
        chosen = np.random.default_rng(settings.seed).choice(
            n_pairs, size=settings.em_max_pairs, replace=False
        )
        numbered, _ = number_rows(spark, levels.select(*columns), [LEFT, RIGHT], "_pos")
        picked = spark.createDataFrame(
            pd.DataFrame({"_pos": chosen, "_order": np.arange(len(chosen))})
        )
        sample = numbered.join(picked, "_pos").toPandas().sort_values("_order")
    else:
        sample = levels.select(*columns).toPandas().sort_values([LEFT, RIGHT], kind="stable")
    sample = sample.reset_index(drop=True)
    seed_mask = sample["_seed"].to_numpy(dtype=bool)
    stated = sample["_stated_birth"].to_numpy(dtype=np.int8)[seed_mask]
    m, share, iterations = estimate_m(
        sample,
        seed_mask=seed_mask,
        max_pairs=settings.em_max_pairs,
        iterations=settings.em_iterations,
        tolerance=settings.em_tolerance,
        seed=settings.seed,
        seed_overrides={"birth_date": stated},
    )
    return fitted_model(m, u, share, iterations, n_pairs=n_pairs, n_records=n_records)
