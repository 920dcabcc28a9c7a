"""Registrations and dose reports: splits, re-entries from paper certificates, duplicate uploads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .lots import retype_lot
from .rates import Rates
from .streams import stream

REG_TAGS = (
    "split_registration",
    "split_shared_dose",
    "reentry_registration",
    "reentry_inline",
    "reentry_no_local_dose",
    "reentry_date_shift",
    "reentry_lot_retyped",
    "reentry_lot_missing",
    "reentry_product_generic",
    "duplicate_upload",
    "dose_date_missing_row",
)


@dataclass(frozen=True, slots=True)
class Registrations:
    """`regs`: one row per registration (reg_id, pid, prov, role, tags); `reports`: one per row."""

    regs: pd.DataFrame
    reports: pd.DataFrame


def _report_frame(doses: pd.DataFrame, reg_id: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "reg_id": reg_id,
            "pid": doses["pid"].to_numpy(),
            "prov": doses["prov"].to_numpy(),
            "dose_id": doses.index.to_numpy(),
            "date": doses["date"].to_numpy().astype("datetime64[D]"),
            "product": doses["product"].to_numpy(),
            "lot": doses["lot"].to_numpy(),
            "site_idx": doses["site_idx"].to_numpy(),
            "dose_number": doses["dose_number"].to_numpy(),
            "reentry": False,
            "site_original": False,
            "generic_product": False,
            "dup": False,
            "date_missing": False,
            "cert_seq": False,
        }
    )


def build_registrations(
    doses: pd.DataFrame, sites: pd.DataFrame, reporting: list[str], rates: Rates, seed: int
) -> Registrations:
    """Group administered doses into provincial registrations and the rows each exports."""
    rng = stream(seed, "registrations")
    base_key = doses["pid"].astype(str) + "|" + doses["prov"].astype(str)
    base_id, _ = pd.factorize(base_key, sort=False)
    reports = _report_frame(doses, base_id.astype(np.int64))
    regs = (
        reports.groupby("reg_id", sort=True)
        .agg(pid=("pid", "first"), prov=("prov", "first"))
        .reset_index()
    )
    regs["role"] = "base"
    next_id = int(regs["reg_id"].max()) + 1
    tags = {t: np.zeros(0, dtype=np.int64) for t in REG_TAGS}

    # split registrations: later doses of a (person, province) under a second registration
    rank = reports.groupby("reg_id").cumcount().to_numpy()
    size = reports.groupby("reg_id")["dose_id"].transform("size").to_numpy()
    split_reg = regs["reg_id"].to_numpy()[rng.random(len(regs)) < rates.split_registration]
    cand = np.isin(reports["reg_id"].to_numpy(), split_reg) & (size >= 2)
    cut_of = pd.Series(
        1 + np.floor(rng.random(len(reports)) * np.maximum(size - 1, 1)).astype(np.int64)
    )
    cut = cut_of.groupby(reports["reg_id"]).transform("first").to_numpy()
    split_ids = np.unique(reports["reg_id"].to_numpy()[cand])
    new_of = dict(zip(split_ids.tolist(), range(next_id, next_id + len(split_ids)), strict=True))
    next_id += len(split_ids)
    move = cand & (rank >= cut)
    reports.loc[move, "reg_id"] = reports.loc[move, "reg_id"].map(new_of).to_numpy()
    shared_src = cand & (rank == cut - 1)
    shared_src &= np.isin(
        reports["reg_id"].to_numpy(),
        [r for r in split_ids if rng.random() < rates.split_shared_dose],
    )
    shared = reports[shared_src].copy()
    shared["reg_id"] = shared["reg_id"].map(new_of).to_numpy()
    reports = pd.concat([reports, shared], ignore_index=True)
    new_regs = pd.DataFrame(
        {
            "reg_id": list(new_of.values()),
            "pid": regs.set_index("reg_id").loc[split_ids, "pid"].to_numpy(),
            "prov": regs.set_index("reg_id").loc[split_ids, "prov"].to_numpy(),
            "role": "split",
        }
    )
    regs = pd.concat([regs, new_regs], ignore_index=True)
    tags["split_registration"] = np.r_[split_ids, list(new_of.values())]
    tags["split_shared_dose"] = shared["reg_id"].unique()

    # re-entry: province P re-enters, from the paper certificate, a dose given earlier elsewhere
    base = regs[regs["role"] == "base"][["reg_id", "pid", "prov"]]
    first_in = doses.groupby(["pid", "prov"])["date"].min().rename("first").reset_index()
    base = base.merge(first_in, on=["pid", "prov"])
    cand_pairs = base.merge(
        doses.reset_index(names="dose_id")[["dose_id", "pid", "prov", "date"]],
        on="pid",
        suffixes=("", "_d"),
    )
    cand_pairs = cand_pairs[
        (cand_pairs["prov_d"] != cand_pairs["prov"]) & (cand_pairs["date"] < cand_pairs["first"])
    ]
    cand_pairs = cand_pairs[rng.random(len(cand_pairs)) < rates.reentry]
    mode_new = pd.Series(
        rng.random(len(base)) < rates.reentry_new_registration, index=base["reg_id"].to_numpy()
    )
    as_new = mode_new.loc[cand_pairs["reg_id"]].to_numpy()
    inline = cand_pairs[~as_new]
    fresh = cand_pairs[as_new]
    fresh_regs = fresh["reg_id"].unique()
    fresh_of = dict(
        zip(fresh_regs.tolist(), range(next_id, next_id + len(fresh_regs)), strict=True)
    )
    next_id += len(fresh_regs)
    reentries = [
        (inline["dose_id"].to_numpy(), inline["reg_id"].to_numpy(), inline["prov"].to_numpy()),
        (
            fresh["dose_id"].to_numpy(),
            fresh["reg_id"].map(fresh_of).to_numpy(),
            fresh["prov"].to_numpy(),
        ),
    ]
    fresh_info = base.set_index("reg_id").loc[fresh_regs]
    regs = pd.concat(
        [
            regs,
            pd.DataFrame(
                {
                    "reg_id": list(fresh_of.values()),
                    "pid": fresh_info["pid"].to_numpy(),
                    "prov": fresh_info["prov"].to_numpy(),
                    "role": "reentry",
                }
            ),
        ],
        ignore_index=True,
    )
    tags["reentry_inline"] = inline["reg_id"].unique()
    tags["reentry_registration"] = np.array(list(fresh_of.values()), dtype=np.int64)

    # re-entry in a province where the person received no dose at all
    k = len(reporting)
    if k >= 2:
        per_person = doses.groupby("pid").agg(
            n=("prov", "size"), provs=("prov", "nunique"), prov=("prov", "first")
        )
        pick = per_person[
            (per_person["provs"] == 1) & (rng.random(len(per_person)) < rates.reentry_no_local_dose)
        ]
        pos = {p: i for i, p in enumerate(reporting)}
        cur = pick["prov"].map(pos).to_numpy()
        j = rng.integers(0, k - 1, size=len(pick))
        target = np.array(reporting, dtype=object)[j + (j >= cur)]
        upto = 1 + np.floor(rng.random(len(pick)) * pick["n"].to_numpy()).astype(np.int64)
        nl_ids = np.arange(next_id, next_id + len(pick))
        next_id += len(pick)
        d = doses.reset_index(names="dose_id")
        d = d[d["pid"].isin(pick.index)]
        info = pd.DataFrame({"pid": pick.index, "upto": upto, "target": target, "nl": nl_ids})
        d = d.merge(info, on="pid")
        d = d[d["dose_number"] <= d["upto"]]
        reentries.append((d["dose_id"].to_numpy(), d["nl"].to_numpy(), d["target"].to_numpy()))
        regs = pd.concat(
            [
                regs,
                pd.DataFrame(
                    {
                        "reg_id": nl_ids,
                        "pid": pick.index.to_numpy(),
                        "prov": target,
                        "role": "reentry",
                    }
                ),
            ],
            ignore_index=True,
        )
        tags["reentry_no_local_dose"] = nl_ids
        tags["reentry_registration"] = np.r_[tags["reentry_registration"], nl_ids]

    site_prov = sites["province"].to_numpy()
    frames = [reports]
    for dose_ids, reg_ids, provs in reentries:
        if len(dose_ids) == 0:
            continue
        r = _report_frame(doses.loc[dose_ids], reg_ids.astype(np.int64))
        r["prov"] = provs
        r["reentry"] = True
        frames.append(_retype(r, site_prov, rates, rng))
    reports = pd.concat(frames, ignore_index=True)

    # duplicate uploads of the same row; some copies lost their dose date
    dup = reports[rng.random(len(reports)) < rates.duplicate_upload].copy()
    dup["dup"] = True
    dup["date_missing"] = rng.random(len(dup)) < rates.dose_date_missing
    reports = pd.concat([reports, dup], ignore_index=True)
    tags["duplicate_upload"] = dup["reg_id"].unique()
    tags["dose_date_missing_row"] = dup.loc[dup["date_missing"], "reg_id"].unique()
    rr = reports[reports["reentry"]]
    tags["reentry_date_shift"] = rr.loc[
        rr["date"].to_numpy() != doses.loc[rr["dose_id"], "date"].to_numpy(), "reg_id"
    ].unique()
    tags["reentry_lot_missing"] = rr.loc[rr["lot"] == "", "reg_id"].unique()
    tags["reentry_lot_retyped"] = rr.loc[
        (rr["lot"] != "") & (rr["lot"].to_numpy() != doses.loc[rr["dose_id"], "lot"].to_numpy()),
        "reg_id",
    ].unique()
    tags["reentry_product_generic"] = rr.loc[rr["generic_product"], "reg_id"].unique()

    reports["dose_seq"] = _province_dose_seq(reports)
    regs = regs.sort_values("reg_id", ignore_index=True)
    for t, ids_ in tags.items():
        regs[t] = regs["reg_id"].isin(ids_).to_numpy()
    return Registrations(regs=regs, reports=reports)


def _retype(
    r: pd.DataFrame, site_prov: np.ndarray, rates: Rates, rng: np.random.Generator
) -> pd.DataFrame:
    """What a re-entered row looks like: date ±1 day, re-typed lot, generic product, own clinic."""
    n = len(r)
    shift = rng.random(n) < rates.reentry_date_shift
    step = np.where(rng.random(n) < 0.5, 1, -1).astype("timedelta64[D]")
    r["date"] = np.where(shift, r["date"].to_numpy() + step, r["date"].to_numpy())
    u = rng.random(n)
    lots = r["lot"].to_numpy().copy()
    retyped = u < rates.reentry_lot_retyped
    lots[retyped] = [retype_lot(x, rng) for x in lots[retyped]]
    lots[
        (u >= rates.reentry_lot_retyped)
        & (u < rates.reentry_lot_retyped + rates.reentry_lot_missing)
    ] = ""
    r["lot"] = lots
    r["generic_product"] = rng.random(n) < rates.reentry_generic_product
    original = rng.random(n) < 0.3
    r["site_original"] = original
    local = np.zeros(n, dtype=np.int64)
    for prov in np.unique(r["prov"].to_numpy()):
        rows = np.flatnonzero(r["prov"].to_numpy() == prov)
        pool = np.flatnonzero(site_prov == prov)
        local[rows] = pool[rng.integers(0, len(pool), size=len(rows))]
    r["site_idx"] = np.where(original, r["site_idx"].to_numpy(), local)
    r["cert_seq"] = rng.random(n) < 0.7
    return r


def _province_dose_seq(reports: pd.DataFrame) -> np.ndarray:
    """剂次 as the province writes it: its own count within the registration, or the certificate's."""
    order = reports.sort_values(["reg_id", "dup", "date", "dose_id"], kind="stable")
    own = order[~order["dup"]]
    rank = pd.Series(own.groupby("reg_id").cumcount().to_numpy() + 1, index=own.index)
    key = reports["reg_id"].astype(str) + "|" + reports["dose_id"].astype(str)
    rank_by_key = pd.Series(rank.to_numpy(), index=key.loc[rank.index].to_numpy())
    rank_by_key = rank_by_key[~rank_by_key.index.duplicated()]
    seq = key.map(rank_by_key).fillna(1).to_numpy().astype(np.int64)
    cert = reports["cert_seq"].to_numpy() & reports["reentry"].to_numpy()
    return np.where(cert, reports["dose_number"].to_numpy(), seq)
