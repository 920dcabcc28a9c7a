"""HK, Macao and Taiwan residents (Han names, permits) and foreigners (Latin names, passports, PR cards)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import ids, names
from .name_pools import NATIONALITIES
from .residents import adult_birth_dates
from .sampling import mobile_phones, ymd_int


def nonresident_people(
    n: int, kind: str, reporting: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """HK, Macao, Taiwan residents (Han names) and foreigners (Latin names)."""
    birth = adult_birth_dates(n, rng)
    male = rng.random(n) < 0.5
    by = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    favoured = {
        "hk": ["44", "11", "31"],
        "macao": ["44", "31"],
        "taiwan": ["35", "32", "31", "44"],
        "foreign": ["11", "31", "44", "32", "33", "21"],
    }[kind]
    choices = [p for p in favoured if p in reporting] or reporting
    res = np.where(
        rng.random(n) < 0.8,
        rng.choice(np.array(choices, dtype=object), size=n),
        rng.choice(np.array(reporting, dtype=object), size=n),
    )
    sex = np.where(male, "M", "F")
    frame = pd.DataFrame(
        {
            "kind": kind,
            "sex": sex,
            "birth": birth,
            "res_prov": res,
            "county": 0,
            "seq": ids.sequence_codes(male, rng),
            "surname": names.draw_surnames(n, rng),
            "given": names.draw_given(sex, by, rng),
            "minority": "",
            "phone": mobile_phones(n, rng),
        }
    )
    if kind == "foreign":
        given, surname = names.draw_latin(sex, rng)
        frame["given"], frame["surname"] = given, surname
        frame["nationality"] = rng.choice(np.array(NATIONALITIES, dtype=object), size=n)
        frame["passport"] = ids.foreign_passports(n, rng)
        has_pr = rng.random(n) < 0.15
        pr = ids.pr_cards(frame["nationality"].to_numpy(), ymd_int(birth), male, rng)
        frame["pr_card"] = np.where(has_pr, pr, "")
    else:
        permit_code = {"hk": 810000, "macao": 820000, "taiwan": 830000}[kind]
        has_rp = rng.random(n) < 0.5
        rp = ids.resident_ids(
            np.full(n, permit_code, dtype=np.int64), ymd_int(birth), frame["seq"].to_numpy()
        )
        frame["residence_permit"] = np.where(has_rp, rp, "")
        if kind == "taiwan":
            frame["travel_permit"] = ids.taiwan_permits(n, rng)
        else:
            frame["travel_permit"] = ids.hk_macao_permits(n, np.full(n, kind == "macao"), rng)
        frame["permit_renewals"] = rng.integers(0, 4, size=n)
    return frame
