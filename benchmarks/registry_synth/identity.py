"""Which document and which true identity values each registration starts from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import ids
from .names import to_traditional
from .rates import Rates
from .streams import stream

DOC_TAGS = (
    "guardian_id",
    "document_residence_permit",
    "document_travel_permit",
    "permit_old_renewal",
    "document_passport",
    "document_pr_card",
    "document_birth_certificate",
    "document_cn_passport",
)


def base_identity(
    regs: pd.DataFrame, persons: pd.DataFrame, rates: Rates, seed: int
) -> pd.DataFrame:
    """Per registration: doc, id_number, name, sex, b_y/b_m/b_d, phone (uncorrupted) + doc tags."""
    rng = stream(seed, "identity")
    n = len(regs)
    p = persons.loc[regs["pid"].to_numpy()]
    kind = p["kind"].to_numpy()
    birth = p["birth"].to_numpy().astype("datetime64[D]")
    age = (np.datetime64("2021-06-30") - birth).astype(np.int64) / 365.25
    out = pd.DataFrame(index=regs.index)
    doc = np.full(n, "resident", dtype=object)
    number = p["id18"].to_numpy().copy()
    tags = {t: np.zeros(n, dtype=bool) for t in DOC_TAGS}

    res = kind == "resident"
    g = res & p["guardian_id"].to_numpy() & (rng.random(n) < 0.85)
    number[g] = p["guardian_id18"].to_numpy()[g]
    tags["guardian_id"] = g
    bc = res & ~g & (age < 16) & (rng.random(n) < rates.birth_certificate)
    doc[bc], number[bc] = "birth_certificate", ids.birth_certificates(int(bc.sum()), rng)
    tags["document_birth_certificate"] = bc
    cp = res & ~g & (age >= 18) & (rng.random(n) < rates.cn_passport)
    doc[cp], number[cp] = "cn_passport", ids.cn_passports(int(cp.sum()), rng)
    tags["document_cn_passport"] = cp

    hmt = np.isin(kind, ["hk", "macao", "taiwan"])
    rp = hmt & (p["residence_permit"].to_numpy() != "") & (rng.random(n) < 0.5)
    doc[rp], number[rp] = "residence_permit", p["residence_permit"].to_numpy()[rp]
    tags["document_residence_permit"] = rp
    tp = hmt & ~rp
    doc[tp & (kind == "taiwan")] = "tw_permit"
    doc[tp & (kind != "taiwan")] = "hkm_permit"
    renewals = np.maximum(p["permit_renewals"].to_numpy() - (rng.random(n) < 0.3), 0)
    tags["document_travel_permit"] = tp
    tags["permit_old_renewal"] = tp & (renewals < p["permit_renewals"].to_numpy())
    base = p["travel_permit"].to_numpy()
    shape = rng.random(n)
    for i in np.flatnonzero(tp):
        b, r, s = str(base[i]), int(renewals[i]), shape[i]
        if kind[i] == "taiwan":
            number[i] = b if s < 0.9 else f"{b}{r:02d}({'ABCDEFGH'[r % 8]})"
        else:
            number[i] = (
                b
                if s < 0.4
                else f"{b}{r:02d}"
                if s < 0.85
                else (b.lower() if s < 0.92 else f"{b}({r:02d})")
            )

    fo = kind == "foreign"
    pr = fo & (p["pr_card"].to_numpy() != "") & (rng.random(n) < 0.5)
    doc[pr], number[pr] = "pr_card", p["pr_card"].to_numpy()[pr]
    pp = fo & ~pr
    doc[pp], number[pp] = "passport", p["passport"].to_numpy()[pp]
    tags["document_pr_card"], tags["document_passport"] = pr, pp

    surname = p["surname"].to_numpy()
    given = p["given"].to_numpy()
    name = np.where(fo, surname + " " + given, surname + given)
    trad = hmt & (rng.random(n) < 0.6)
    name[trad] = to_traditional(name[trad])

    out["doc"] = doc
    out["id_number"] = number
    out["name"] = name
    out["surname"] = np.where(fo, "", surname)
    out["given"] = np.where(fo, "", given)
    out["sex"] = p["sex"].to_numpy()
    out["b_y"] = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    out["b_m"] = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    out["b_d"] = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    out["phone"] = p["phone"].to_numpy()
    out["latin"] = fo
    out["minority"] = p["minority"].to_numpy()
    out["rare_char"] = p["rare_char"].to_numpy()
    out["age"] = age
    for t, m in tags.items():
        out["tag_" + t] = m
    out["tag_name_traditional"] = trad & (name != surname + given)
    return out
