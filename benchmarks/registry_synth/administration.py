"""Where each true dose was given (migrants, trips), at which clinic and with which lot."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from .lots import assign_lots
from .rates import Rates
from .streams import stream


def _other_province(
    current: npt.NDArray[np.int64],
    k: int,
    rng: np.random.Generator,
    also_not: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """A reporting-province index different from `current` (and from `also_not`)."""
    j = rng.integers(0, k - 1, size=len(current))
    j = j + (j >= current)
    if also_not is not None and k >= 3:
        clash = j == also_not
        while clash.any():
            jj = rng.integers(0, k - 1, size=int(clash.sum()))
            jj = jj + (jj >= current[clash])
            j[clash] = jj
            clash = (j == also_not) | (j == current)
    return j


def administer(
    persons: pd.DataFrame,
    doses: pd.DataFrame,
    reporting: list[str],
    sites: pd.DataFrame,
    rates: Rates,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Doses with province, site and lot; plus per-person flags migrant / trip_dose."""
    rng = stream(seed, "administration")
    k = len(reporting)
    pos = {p: i for i, p in enumerate(reporting)}
    n = len(persons)
    res = np.array([pos[p] for p in persons["res_prov"]], dtype=np.int64)
    origin = persons["id18"].astype(str).str[:2].map(pos).fillna(-1).to_numpy().astype(np.int64)
    n_doses = doses.groupby("pid").size().reindex(persons.index, fill_value=0).to_numpy()
    age21 = (
        np.datetime64("2021-06-30") - persons["birth"].to_numpy().astype("datetime64[D]")
    ).astype(np.int64) / 365.25

    prov_of = np.repeat(res[:, None], 5, axis=1)  # province index per (person, dose rank)
    migrant = np.zeros(n, dtype=bool)
    trip = np.zeros(n, dtype=bool)
    if k >= 2:
        migrant = (age21 >= 18) & (age21 < 60) & (n_doses >= 2) & (rng.random(n) < rates.migrant)
        other = _other_province(res, k, rng)
        home = (origin >= 0) & (origin != res) & (rng.random(n) < 0.5)
        other = np.where(home, origin, other)
        swap = rng.random(n) < 0.5
        a, b = np.where(swap, other, res), np.where(swap, res, other)
        cut1 = 1 + np.floor(rng.random(n) * np.maximum(n_doses - 1, 1)).astype(np.int64)
        third = migrant & (k >= 3) & (n_doses - cut1 >= 2) & (rng.random(n) < rates.migrant_third)
        c = _other_province(a, k, rng, also_not=b) if k >= 3 else a
        cut2 = (
            cut1 + 1 + np.floor(rng.random(n) * np.maximum(n_doses - cut1 - 1, 1)).astype(np.int64)
        )
        ranks = np.arange(5)[None, :]
        mig = np.where(ranks < cut1[:, None], a[:, None], b[:, None])
        mig = np.where(third[:, None] & (ranks >= cut2[:, None]), c[:, None], mig)
        prov_of = np.where(migrant[:, None], mig, prov_of)
        trip = ~migrant & (n_doses >= 2) & (rng.random(n) < rates.trip_dose)
        t_rank = np.floor(rng.random(n) * n_doses).astype(np.int64)
        t_prov = _other_province(res, k, rng)
        prov_of = np.where(trip[:, None] & (ranks == t_rank[:, None]), t_prov[:, None], prov_of)

    out = doses.copy()
    person_pos = persons.index.get_indexer(pd.Index(out["pid"]))
    prov_idx = prov_of[person_pos, out["dose_number"].to_numpy() - 1]
    out["prov"] = np.array(reporting, dtype=object)[prov_idx]
    used = out.groupby("pid")["prov"].nunique().reindex(persons.index, fill_value=1).to_numpy()
    flags = pd.DataFrame(
        {"migrant": used >= 2, "trip_dose": trip & (used >= 2)}, index=persons.index
    )
    flags["migrant"] &= ~flags["trip_dose"]

    site_idx = np.zeros(len(out), dtype=np.int64)
    for prov in reporting:
        rows = np.flatnonzero(out["prov"].to_numpy() == prov)
        pool = np.flatnonzero(sites["province"].to_numpy() == prov)
        pids, inverse = np.unique(out["pid"].to_numpy()[rows], return_inverse=True)
        home_site = pool[rng.integers(0, len(pool), size=len(pids))][inverse]
        elsewhere = pool[rng.integers(0, len(pool), size=len(rows))]
        site_idx[rows] = np.where(rng.random(len(rows)) < 0.8, home_site, elsewhere)
    out["site_idx"] = site_idx
    out["lot"] = assign_lots(
        out["product"].to_numpy(), out["date"].to_numpy().astype("datetime64[D]"), site_idx, rng
    )
    return out, flags
