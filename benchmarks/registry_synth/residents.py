"""Resident basics: birth dates by age band, ID address codes (origin county, assignment year), names, phones."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import ids, names
from .geography import OUT_MIGRATION, PROVINCES, draw_counties
from .sampling import mobile_phones

# 5-year age bands in 2021 (lower bound) with 2020-census sizes (millions), times the
# share vaccinated (lower for the old): only vaccinated people appear in the registries.
_ADULT_BANDS = {
    18: 45,
    20: 75,
    25: 92,
    30: 124,
    35: 99,
    40: 93,
    45: 115,
    50: 121,
    55: 101,
    60: 74 * 0.9,
    65: 74 * 0.9,
    70: 50 * 0.75,
    75: 31 * 0.75,
    80: 20 * 0.5,
    85: 11 * 0.5,
    90: 4 * 0.4,
    95: 1.0 * 0.3,
}


def adult_birth_dates(n: int, rng: np.random.Generator) -> npt.NDArray[np.datetime64]:
    bands = np.array(list(_ADULT_BANDS))
    weights = np.array(list(_ADULT_BANDS.values()), dtype=float)
    lower_age = rng.choice(bands, size=n, p=weights / weights.sum())
    width = np.where(lower_age == 18, 2, 5)
    age_days = ((lower_age + rng.random(n) * width) * 365.25).astype(np.int64)
    return np.datetime64("2021-06-30", "D") - age_days.astype("timedelta64[D]")


def _origin_province(
    res_prov: npt.NDArray[np.object_], rng: np.random.Generator
) -> npt.NDArray[np.object_]:
    """Province of the ID's address code: mostly where people live, else a sending province."""
    codes = np.array(list(PROVINCES), dtype=object)
    w = np.array([PROVINCES[c][1] * OUT_MIGRATION.get(c, 0.6) for c in codes])
    elsewhere = rng.choice(codes, size=len(res_prov), p=w / w.sum())
    stay = np.where(np.isin(res_prov, ["11", "31", "44", "33", "12"]), 0.55, 0.82)
    return np.where(rng.random(len(res_prov)) < stay, res_prov, elsewhere)


def _assignment_year(
    birth_year: npt.NDArray[np.int64], rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Year the number was assigned: at birth since 1985, else during the 1985-1992 roll-out."""
    return np.where(birth_year >= 1985, birth_year, 1985 + rng.integers(0, 8, size=len(birth_year)))


def base_frame(
    n: int,
    birth: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
    res_prov: npt.NDArray[np.object_],
    rng: np.random.Generator,
) -> pd.DataFrame:
    by = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    origin = _origin_province(res_prov, rng)
    county = draw_counties(
        np.array([int(p) for p in origin], dtype=np.int64), _assignment_year(by, rng), rng
    )
    sex = np.where(male, "M", "F")
    return pd.DataFrame(
        {
            "kind": "resident",
            "sex": sex,
            "birth": birth,
            "res_prov": res_prov,
            "county": county,
            "seq": ids.sequence_codes(male, rng),
            "surname": names.draw_surnames(n, rng),
            "given": names.draw_given(sex, by, rng),
            "minority": "",
            "phone": mobile_phones(n, rng),
        }
    )
