"""Households: children linked to a parent, twins (neighbouring sequence codes), same-day namesakes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import ids, names
from .name_pools import GIVEN_CHARS
from .residents import base_frame
from .sampling import mobile_phones, pick_within_group, random_dates


def children(parents: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Children aged 3-17 with a parent drawn among adults 23-38 years older."""
    birth = random_dates("2003-07-01", "2019-10-31", n, rng)
    by = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    parent_by = parents["birth"].to_numpy().astype("datetime64[Y]").astype(np.int64) + 1970
    target = by - rng.integers(23, 39, size=n)
    parent = pick_within_group(target, parent_by, rng)
    missing = parent < 0
    parent[missing] = rng.integers(0, len(parents), size=int(missing.sum()))
    male = rng.random(n) < 0.53
    kids = base_frame(n, birth, male, parents["res_prov"].to_numpy()[parent], rng)
    p = parents.iloc[parent]
    father = p["sex"].to_numpy() == "M"
    kids["surname"] = np.where(
        father | (rng.random(n) < 0.12), p["surname"].to_numpy(), kids["surname"].to_numpy()
    )
    same_hukou = rng.random(n) < 0.85
    kids["county"] = np.where(same_hukou, p["county"].to_numpy(), kids["county"].to_numpy())
    kids["phone"] = p["phone"].to_numpy()
    kids["parent"] = p.index.to_numpy()
    minority = p["minority"].to_numpy()
    kids["minority"] = minority
    kid_sex = kids["sex"].to_numpy()
    for kind in ("uyghur", "tibetan", "mongolian"):
        mk = np.flatnonzero(minority == kind)
        if len(mk) == 0:
            continue
        # a Uyghur child's second name part is the father's own name (only known if he is the parent)
        dad = np.array([g.split("\u00b7")[0] for g in p["given"].to_numpy()[mk]], dtype=object)
        dad = np.where(
            father[mk], dad, names.draw_minority("uyghur", np.full(len(mk), "M"), rng).astype(str)
        )
        dad = np.array([str(x).split("\u00b7")[0] for x in dad], dtype=object)
        kids.loc[kids.index[mk], "given"] = names.draw_minority(kind, kid_sex[mk], rng, father=dad)
        kids.loc[kids.index[mk], "surname"] = ""
    return kids


def _twin_given(given: str, rng: np.random.Generator, sex: str) -> str:
    """A twin's given name: shares one character, is a homophone variant, or is unrelated."""
    r = rng.random()
    pool = GIVEN_CHARS[sex]
    if r < 0.5 and len(given) == 2:
        ch = pool[int(rng.integers(0, len(pool)))]
        out = given[0] + ch if rng.random() < 0.7 else ch + given[1]
    elif r < 0.75:
        typo = names.homophone_typo("", given, rng)
        out = typo if typo else given[:-1] + pool[int(rng.integers(0, len(pool)))]
    else:
        out = str(names.draw_given(np.array([sex]), np.array([2010]), rng)[0])
    return out if out != given else given[:-1] + ("宁" if given[-1] != "宁" else "安")


def clone_twins(
    base: pd.DataFrame, pairs: int, share_phone: float, rng: np.random.Generator
) -> pd.DataFrame:
    han = base.index[(base["minority"] == "").to_numpy()]
    src = rng.choice(han, size=min(pairs, len(han)), replace=False)
    twins = base.loc[src].copy()
    same_sex = rng.random(len(twins)) < 0.65
    sex = np.where(same_sex, twins["sex"], np.where(twins["sex"] == "M", "F", "M"))
    step = np.where(same_sex, 2, 3) * np.where(rng.random(len(twins)) < 0.5, 1, -1)
    seq = twins["seq"].to_numpy() + step
    seq = np.where((seq < 0) | (seq > 999), twins["seq"].to_numpy() - step, seq)
    twins["sex"], twins["seq"] = sex, seq
    twins["given"] = [_twin_given(g, rng, x) for g, x in zip(twins["given"], sex, strict=True)]
    own_phone = rng.random(len(twins)) >= share_phone
    twins["phone"] = np.where(own_phone, mobile_phones(len(twins), rng), twins["phone"].to_numpy())
    twins["twin_of"] = src
    return twins


def clone_namesakes(base: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    han = base.index[(base["minority"] == "").to_numpy()]
    src = rng.choice(han, size=min(n, len(han)), replace=False)
    clone = base.loc[src].copy()
    male = clone["sex"].to_numpy() == "M"
    clone["seq"] = ids.sequence_codes(male, rng)
    clone["phone"] = mobile_phones(len(clone), rng)
    clone["namesake_of"] = src
    return clone
