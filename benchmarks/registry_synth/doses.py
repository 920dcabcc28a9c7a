"""True injections per person: primary series, first and second boosters (DOMAIN.md §4)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from .streams import stream

Dates = npt.NDArray[np.datetime64]

INACTIVATED = ("BBIBP", "WIBP", "CORONAVAC", "KCONVAC", "IMBCAMS")
HETEROLOGOUS_ELIGIBLE = ("BBIBP", "WIBP", "CORONAVAC")
LATE_BOOSTERS = ("SCTV01E", "WSK_SF9", "SYS6006", "LYB_V01")
LAST_DAY = np.datetime64("2023-05-31", "D")
NAT = np.datetime64("NaT", "D")
# ">= 6 months": 184 days is the longest 6 calendar months, so every booster is late enough
SIX_MONTHS = np.timedelta64(184, "D")
THREE_MONTHS = np.timedelta64(92, "D")

_ADULT_MIX = {
    "BBIBP": 0.33,
    "CORONAVAC": 0.36,
    "WIBP": 0.10,
    "KCONVAC": 0.04,
    "IMBCAMS": 0.015,
    "AD5": 0.06,
    "ZF2001": 0.095,
}
_PROVINCE_FACTOR = {
    "53": {"IMBCAMS": 10.0},
    "34": {"ZF2001": 2.5},
    "43": {"ZF2001": 2.0},
    "50": {"ZF2001": 2.0},
    "32": {"AD5": 1.5},
    "11": {"AD5": 1.3},
    "44": {"KCONVAC": 2.5},
    "65": {"AD5": 1.5},
}
_CHILD_MIX = {"BBIBP": 0.45, "CORONAVAC": 0.45, "WIBP": 0.10}


def _days(x: npt.NDArray[np.float64]) -> npt.NDArray[np.timedelta64]:
    return np.round(x).astype(np.int64).astype("timedelta64[D]")


def _choose(mix: dict[str, float], n: int, rng: np.random.Generator) -> npt.NDArray[np.object_]:
    keys = np.array(list(mix), dtype=object)
    p = np.array(list(mix.values()), dtype=float)
    return rng.choice(keys, size=n, p=p / p.sum())


def _age(birth: Dates, at: Dates) -> npt.NDArray[np.float64]:
    return (at - birth).astype("timedelta64[D]").astype(np.float64) / 365.25


def _first_dose(birth: Dates, rng: np.random.Generator) -> Dates:
    n = len(birth)
    age21 = _age(birth, np.full(n, np.datetime64("2021-06-30", "D")))
    d = np.empty(n, dtype="datetime64[D]")
    r = rng.random(n)
    adult = np.datetime64("2021-03-20") + _days(rng.gamma(3.0, 25.0, n))
    early = np.datetime64("2021-01-04") + _days(rng.random(n) * 70)
    late = np.datetime64("2021-09-01") + _days(rng.random(n) * 365)
    d[:] = np.where(r < 0.06, early, np.where(r < 0.86, adult, late))
    senior = age21 >= 60
    late_share = np.where(age21 >= 70, 0.35, 0.2)
    s_main = np.datetime64("2021-03-25") + _days(rng.gamma(2.0, 55.0, n))
    s_late = np.datetime64("2021-10-01") + _days(rng.random(n) * 450)
    d = np.where(senior, np.where(rng.random(n) < late_share, s_late, s_main), d)
    teen = (age21 >= 12) & (age21 < 18)
    d = np.where(teen, np.datetime64("2021-07-15") + _days(rng.gamma(2.0, 18.0, n)), d)
    child = age21 < 12
    third_birthday = birth + _days(np.full(n, 3 * 365.25 + 1))
    c = np.datetime64("2021-10-25") + _days(rng.gamma(1.5, 20.0, n))
    c = np.maximum(c, third_birthday + _days(rng.exponential(40.0, n)))
    d = np.where(child, c, d)
    return np.minimum(d, np.datetime64("2023-05-20"))


def _primary_products(
    birth: Dates, res_prov: npt.NDArray[np.object_], rng: np.random.Generator
) -> npt.NDArray[np.object_]:
    n = len(birth)
    age21 = _age(birth, np.full(n, np.datetime64("2021-06-30", "D")))
    out = _choose(_CHILD_MIX, n, rng)
    adult = age21 >= 18
    for prov in np.unique(res_prov):
        idx = np.flatnonzero(adult & (res_prov == prov))
        mix = dict(_ADULT_MIX)
        for k, f in _PROVINCE_FACTOR.get(str(prov), {}).items():
            mix[k] *= f
        out[idx] = _choose(mix, len(idx), rng)
    return out


def build_doses(persons: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One row per true injection: pid, date, product, kind, dose_number (1..n by date)."""
    rng = stream(seed, "doses")
    n = len(persons)
    birth = persons["birth"].to_numpy().astype("datetime64[D]")
    age21 = _age(birth, np.full(n, np.datetime64("2021-06-30", "D")))
    p1 = _primary_products(birth, persons["res_prov"].to_numpy(), rng)
    d1 = _first_dose(birth, rng)
    inact = np.isin(p1, INACTIVATED)
    zf = p1 == "ZF2001"

    # dose 2 (inactivated: same product, sometimes another maker of the same type)
    switch = inact & (p1 != "KCONVAC") & (rng.random(n) < 0.06)
    p2 = np.where(switch, _choose({"BBIBP": 1, "WIBP": 0.5, "CORONAVAC": 1}, n, rng), p1)
    p2 = np.where(inact | zf, p2, "")
    min_gap = np.where((p1 == "KCONVAC") | (p2 == "KCONVAC") | zf, 28, 21)
    gap = min_gap + rng.gamma(1.2, 7.0, n)
    gap = np.where(rng.random(n) < 0.04, gap + 35 + rng.random(n) * 110, gap)  # late, caught up
    d2 = d1 + _days(gap)
    stop1 = np.where(
        age21 >= 80, 0.12, np.where(age21 >= 60, 0.06, np.where(age21 < 18, 0.05, 0.03))
    )
    stop1 = np.where(zf, 0.06, stop1)
    has2 = (inact | zf) & (rng.random(n) >= stop1) & (d2 <= LAST_DAY)
    # dose 3 of ZF2001: >= 28 days after dose 2, within 6 months of dose 1
    d3 = np.maximum(d2 + _days(28 + rng.gamma(1.2, 6.0, n)), d1 + _days(60 + rng.random(n) * 115))
    has3 = zf & has2 & (rng.random(n) >= 0.08) & (d3 <= LAST_DAY)
    complete = np.where(inact, has2, np.where(zf, has3, True))  # AD5 is one dose
    done = np.where(zf, d3, np.where(inact, d2, d1))

    # first booster
    p_b = np.where(age21 >= 80, 0.3, np.where(age21 >= 60, 0.55, 0.78))
    p_b = np.where(zf, 0.2, p_b)
    standard = complete & (rng.random(n) < p_b)
    start = np.where(age21 >= 60, np.datetime64("2021-10-25"), np.datetime64("2021-12-01"))
    b1_std = np.maximum(done + SIX_MONTHS, start) + _days(rng.exponential(50.0, n))
    late60 = complete & ~standard & (age21 >= 60) & (rng.random(n) < 0.35)
    b1_60 = np.maximum(done + THREE_MONTHS, np.datetime64("2022-11-29")) + _days(
        rng.exponential(30.0, n)
    )
    b1 = np.where(standard, b1_std, np.where(late60, b1_60, NAT))
    has_b1 = (standard | late60) & (b1 <= LAST_DAY) & (_age(birth, b1) >= 18)
    pb1 = _booster_products(p1, p2, b1, rng)

    # second booster (plan of 2022-12-13): mostly 60+, >= 6 months after the first
    p_b2 = np.where(age21 >= 60, 0.18, 0.03)
    b2 = np.maximum(b1 + SIX_MONTHS, np.datetime64("2022-12-13")) + _days(rng.exponential(35.0, n))
    has_b2 = has_b1 & (rng.random(n) < p_b2) & (b2 <= LAST_DAY)
    pb2 = _choose(
        {
            "SCTV01E": 0.22,
            "WSK_SF9": 0.12,
            "SYS6006": 0.12,
            "LYB_V01": 0.08,
            "AD5_INH": 0.2,
            "ZF2001": 0.1,
            "SAME": 0.16,
        },
        n,
        rng,
    )
    pb2 = np.where(pb2 == "SAME", np.where(np.isin(pb1, INACTIVATED), pb1, "BBIBP"), pb2)

    pid = persons.index.to_numpy()
    parts = [
        (np.ones(n, dtype=bool), d1, p1, "primary"),
        (has2, d2, p2, "primary"),
        (has3, d3, p1, "primary"),
        (has_b1, b1, pb1, "booster"),
        (has_b2, b2, pb2, "booster"),
    ]
    frames = [
        pd.DataFrame({"pid": pid[m], "date": d[m], "product": p[m], "kind": k})
        for m, d, p, k in parts
    ]
    doses = pd.concat(frames, ignore_index=True).sort_values(
        ["pid", "date"], kind="stable", ignore_index=True
    )
    doses["dose_number"] = doses.groupby("pid").cumcount().to_numpy() + 1
    doses["product"] = doses["product"].astype(str)
    return doses


def _booster_products(
    p1: npt.NDArray[np.object_], p2: npt.NDArray[np.object_], when: Dates, rng: np.random.Generator
) -> npt.NDArray[np.object_]:
    """Homologous (dose-2 product) or, from 2022-02-19, heterologous ZF2001 / Ad5 boosters."""
    n = len(p1)
    homologous = np.where(p2 == "", p1, p2)
    r = rng.random(n)
    hetero_ok = np.isin(homologous, HETEROLOGOUS_ELIGIBLE) & (when >= np.datetime64("2022-02-19"))
    inhaled_ok = np.isin(homologous, INACTIVATED) & (when >= np.datetime64("2022-09-04"))
    late_ok = when >= np.datetime64("2022-12-01")
    late = _choose(dict.fromkeys(LATE_BOOSTERS, 1.0), n, rng)
    out = homologous.copy()
    out = np.where(hetero_ok & (r < 0.12), "ZF2001", out)
    out = np.where(hetero_ok & (r >= 0.12) & (r < 0.18), "AD5", out)
    out = np.where(inhaled_ok & (r >= 0.18) & (r < 0.30), "AD5_INH", out)
    out = np.where(late_ok & (r >= 0.30) & (r < 0.36), late, out)
    out = np.where(p1 == "AD5", "AD5", out)  # the inhaled booster follows 2 inactivated doses only
    return out.astype(object)
