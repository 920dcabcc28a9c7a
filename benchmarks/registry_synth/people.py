"""The true population: residents, households, HMT residents and foreigners, with person-level flags."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import ids, names
from .geography import PROVINCES, current_county_codes
from .households import children, clone_namesakes, clone_twins
from .name_pools import HETERONYM_SURNAMES, RARE_CHARS
from .nonresidents import nonresident_people
from .rates import Rates
from .residents import adult_birth_dates, base_frame
from .sampling import pick_within_group, ymd_int
from .streams import stream

_MINORITY_BY_PROVINCE = {"65": ("uyghur", 0.45), "54": ("tibetan", 0.85), "15": ("mongolian", 0.15)}


@dataclass(frozen=True, slots=True)
class Population:
    """One row per true person, plus person-level phenomenon flags (same index)."""

    persons: pd.DataFrame
    flags: pd.DataFrame


def _unique_ids(
    frame: pd.DataFrame, keep_first: npt.NDArray[np.bool_], rng: np.random.Generator
) -> None:
    """Re-draw sequence codes of residents whose number collides with another person's."""
    res = (frame["kind"] == "resident").to_numpy()
    for _ in range(20):
        body = (
            frame["county"].to_numpy() * 10**11
            + ymd_int(frame["birth"].to_numpy()) * 10**3
            + frame["seq"].to_numpy()
        )
        body = np.where(res, body, -np.arange(len(frame)) - 1)
        order = np.lexsort((~keep_first, body))
        dup_sorted = np.r_[False, body[order][1:] == body[order][:-1]]
        dup = np.zeros(len(frame), dtype=bool)
        dup[order[dup_sorted]] = True
        extra = np.asarray(frame["guardian_body"].to_numpy()) if "guardian_body" in frame else None
        if extra is not None:
            dup |= res & np.isin(body, extra[extra > 0])
        if not dup.any():
            return
        male = frame["sex"].to_numpy()[dup] == "M"
        frame.loc[dup, "seq"] = ids.sequence_codes(male, rng)
    raise RuntimeError("could not make resident IDs unique")


def build_population(n_persons: int, reporting: list[str], rates: Rates, seed: int) -> Population:
    """Every true person with identity, household links and person-level flags."""
    rng = stream(seed, "people")
    n_special = {
        k: int(round(getattr(rates, k) * n_persons)) for k in ("hk", "macao", "taiwan", "foreign")
    }
    n_res = n_persons - sum(n_special.values())
    n_child = int(round(rates.child_share * n_res))
    pairs_c = int(round(rates.twin_child * n_child / 2))
    n_adult = n_res - n_child
    pairs_a = int(round(rates.twin_adult * n_adult / 2))
    n_ns = int(round(rates.namesake * n_res / 2))
    n_adult_base = n_adult - pairs_a - n_ns

    w = np.array([PROVINCES[p][1] for p in reporting])
    res_prov = rng.choice(np.array(reporting, dtype=object), size=n_adult_base, p=w / w.sum())
    adults = base_frame(
        n_adult_base,
        adult_birth_dates(n_adult_base, rng),
        rng.random(n_adult_base) < 0.51,
        res_prov,
        rng,
    )
    is_minor = np.zeros(n_adult_base, dtype=bool)
    for prov, (kind, share) in _MINORITY_BY_PROVINCE.items():
        is_minor |= (res_prov == prov) & (rng.random(n_adult_base) < share)
        sel = np.flatnonzero((res_prov == prov) & is_minor & (adults["minority"].to_numpy() == ""))
        adults.loc[sel, "minority"] = kind
    other = np.flatnonzero(~is_minor & (rng.random(n_adult_base) < rates.minority_elsewhere))
    adults.loc[other, "minority"] = rng.choice(
        np.array(["uyghur", "tibetan", "mongolian"], dtype=object),
        size=len(other),
        p=[0.6, 0.25, 0.15],
    )
    for kind in ("uyghur", "tibetan", "mongolian"):
        sel = np.flatnonzero(adults["minority"].to_numpy() == kind)
        adults.loc[sel, "given"] = names.draw_minority(kind, adults["sex"].to_numpy()[sel], rng)
        adults.loc[sel, "surname"] = ""
    adults["parent"] = -1

    kids = children(adults, n_child - pairs_c, rng)
    kids.index = np.arange(n_adult_base, n_adult_base + len(kids))
    twins_c = clone_twins(kids, pairs_c, 1.0, rng)
    twins_a = clone_twins(adults, pairs_a, 0.3, rng)
    namesakes = clone_namesakes(adults, n_ns, rng)
    residents = pd.concat([adults, kids, twins_c, twins_a, namesakes], ignore_index=True)
    for col in ("twin_of", "namesake_of"):
        residents[col] = residents[col].fillna(-1).astype(np.int64)

    # rare characters in given names of some Han residents
    han = np.flatnonzero(
        (residents["minority"] == "").to_numpy() & (residents["twin_of"] < 0).to_numpy()
    )
    rare = rng.choice(han, size=int(round(rates.rare_char * len(residents))), replace=False)
    chars = rng.choice(np.array(list(RARE_CHARS), dtype=object), size=len(rare))
    residents.loc[rare, "given"] = [
        g[:-1] + c for g, c in zip(residents.loc[rare, "given"], chars, strict=True)
    ]
    residents["rare_char"] = False
    residents.loc[rare, "rare_char"] = True

    specials = [nonresident_people(n, k, reporting, rng) for k, n in n_special.items() if n > 0]
    people = pd.concat([residents, *specials], ignore_index=True)
    for col in ("parent", "twin_of", "namesake_of", "permit_renewals"):
        people[col] = people[col].fillna(-1 if col != "permit_renewals" else 0).astype(np.int64)
    people["rare_char"] = people["rare_char"].map(lambda v: v is True or v == 1).astype(bool)
    for col in ("nationality", "passport", "pr_card", "residence_permit", "travel_permit"):
        people[col] = people[col].fillna("").astype(object)

    # elderly giving a relative's phone (the relative is another person in the data)
    age = (np.datetime64("2021-06-30") - people["birth"].to_numpy().astype("datetime64[D]")).astype(
        np.int64
    ) / 365.25
    old = np.flatnonzero((age >= 70) & (rng.random(len(people)) < rates.elderly_family_phone))
    prov_key = np.array([int(p) for p in people["res_prov"]], dtype=np.int64)
    pool = np.flatnonzero((age >= 25) & (age < 55))
    rel = pick_within_group(prov_key[old], prov_key[pool], rng)
    ok = rel >= 0
    people.loc[old[ok], "phone"] = people["phone"].to_numpy()[pool[rel[ok]]]

    # guardian-ID children: the number used is the parent's (in the data) or another guardian's
    child = (people["parent"] >= 0).to_numpy()
    gid = child & (rng.random(len(people)) < rates.guardian_id_child)
    people["guardian_id"] = gid
    people["guardian_pid"] = np.where(
        gid & (rng.random(len(people)) < rates.guardian_vaccinated), people["parent"], -1
    )
    people["guardian_body"] = np.int64(0)
    virtual = np.flatnonzero(gid & (people["guardian_pid"] < 0).to_numpy())
    g_birth = people["birth"].to_numpy()[virtual] - (
        rng.integers(23, 40, size=len(virtual)) * 365
    ).astype("timedelta64[D]")
    g_male = rng.random(len(virtual)) < 0.4
    people.loc[virtual, "guardian_body"] = (
        people["county"].to_numpy()[virtual] * 10**11
        + ymd_int(g_birth) * 10**3
        + ids.sequence_codes(g_male, rng)
    )

    related = np.r_[people["twin_of"].to_numpy(), people["namesake_of"].to_numpy()]
    keep_first = np.zeros(len(people), dtype=bool)
    keep_first[related[related >= 0]] = True
    keep_first |= (people["twin_of"].to_numpy() >= 0) | (people["namesake_of"].to_numpy() >= 0)
    _unique_ids(people, keep_first, rng)
    res = (people["kind"] == "resident").to_numpy()
    id18 = ids.resident_ids(
        people["county"].to_numpy(), ymd_int(people["birth"].to_numpy()), people["seq"].to_numpy()
    )
    people["id18"] = np.where(res, id18, "")
    gb = people["guardian_body"].to_numpy()
    people["guardian_id18"] = ""
    vb = gb[gb > 0]
    people.loc[gb > 0, "guardian_id18"] = vb.astype(str).astype(object) + ids.check_chars(vb)
    gp = people["guardian_pid"].to_numpy()
    people.loc[gp >= 0, "guardian_id18"] = people["id18"].to_numpy()[gp[gp >= 0]]
    people.index.name = "pid"
    return Population(persons=people, flags=_person_flags(people))


def _person_flags(people: pd.DataFrame) -> pd.DataFrame:
    """Person-level phenomenon flags carried by every registration of the person."""
    twin_src = people["twin_of"].to_numpy()
    twin = twin_src >= 0
    twin[twin_src[twin_src >= 0]] = True
    ns_src = people["namesake_of"].to_numpy()
    ns = ns_src >= 0
    ns[ns_src[ns_src >= 0]] = True
    guardian_of = np.zeros(len(people), dtype=bool)
    gp = people["guardian_pid"].to_numpy()
    guardian_of[gp[gp >= 0]] = True
    phone_shared = people["phone"].duplicated(keep=False).to_numpy()
    surname = people["surname"].astype(str)
    current = current_county_codes()
    res = (people["kind"] == "resident").to_numpy()
    return pd.DataFrame(
        {
            "twin": twin,
            "namesake_same_dob_county": ns,
            "guardian_id_child": people["guardian_id"].to_numpy(),
            "guardian_of_id_child": guardian_of,
            "shared_phone": phone_shared,
            "minority_name": (people["minority"] != "").to_numpy(),
            "compound_surname": (surname.str.len() == 2).to_numpy()
            & (people["kind"] != "foreign").to_numpy(),
            "heteronym_surname": surname.isin(list(HETERONYM_SURNAMES)).to_numpy(),
            "rare_name_char": people["rare_char"].to_numpy().astype(bool),
            "hk_resident": (people["kind"] == "hk").to_numpy(),
            "macao_resident": (people["kind"] == "macao").to_numpy(),
            "taiwan_resident": (people["kind"] == "taiwan").to_numpy(),
            "foreigner": (people["kind"] == "foreign").to_numpy(),
            "id_abolished_code": res & ~people["county"].isin(list(current)).to_numpy(),
        },
        index=people.index,
    )
