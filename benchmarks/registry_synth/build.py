"""Run every stage for one seed and assemble the export rows and the ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .administration import administer
from .corruption import corrupt_identity
from .doses import build_doses
from .geography import build_sites, reporting_provinces
from .identity import base_identity
from .people import build_population
from .rates import Rates
from .registrations import build_registrations
from .render import (
    format_dates,
    id_type_text,
    phone_text,
    row_formats,
    sex_text,
    site_text,
    split_dates,
    vaccine_text,
)
from .streams import stream
from .styles import ProvinceStyle, build_styles

COLUMNS = (
    "source",
    "person_ref",
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "dose_date",
    "vaccine",
    "lot_number",
    "dose_seq",
    "site",
)


@dataclass(frozen=True, slots=True)
class Dataset:
    """Everything one run produces, before it is written out."""

    rows: pd.DataFrame  # COLUMNS + reg_id, dose_id (truth_doses row), row_in_file; in file order
    truth: pd.DataFrame  # source, person_ref, true_person_id, corruptions
    truth_doses: pd.DataFrame
    unusable: pd.DataFrame  # source, person_ref, row_in_file, reason
    styles: dict[str, ProvinceStyle]
    counts: dict[str, int]


def generate(n_persons: int, n_provinces: int, seed: int, rates: Rates) -> Dataset:
    """A complete synthetic multi-province registry with ground truth."""
    reporting = reporting_provinces(n_provinces)
    styles = build_styles(reporting, rates, seed)
    pop = build_population(n_persons, reporting, rates, seed)
    persons = pop.persons
    doses = build_doses(persons, seed)
    per_prov = persons["res_prov"].value_counts()
    sites = build_sites(
        reporting,
        {p: max(12, int(per_prov.get(p, 0)) // 350) for p in reporting},
        stream(seed, "sites"),
    )
    given, admin_flags = administer(persons, doses, reporting, sites, rates, seed)
    reg = build_registrations(given, sites, reporting, rates, seed)
    regs = reg.regs
    ident = corrupt_identity(base_identity(regs, persons, rates, seed), regs, styles, rates, seed)
    _tag_encoding_loss(ident, regs, styles)

    rng = stream(seed, "render")
    refs = _person_refs(regs, styles, rng)
    regs = regs.assign(person_ref=refs)
    rep = reg.reports
    pos = pd.Index(regs["reg_id"]).get_indexer(rep["reg_id"])
    provs = rep["prov"].to_numpy()
    reg_provs = regs["prov"].to_numpy()
    mixing = rates.date_format_mixing
    b_fmt = row_formats(reg_provs, {p: s.birth_format for p, s in styles.items()}, mixing, rng)
    birth_text = format_dates(
        ident["b_y"].to_numpy(), ident["b_m"].to_numpy(), ident["b_d"].to_numpy(), b_fmt
    )
    y, m, d = split_dates(rep["date"].to_numpy())
    y = np.where(rep["date_missing"].to_numpy(), 0, y)
    d_fmt = row_formats(provs, {p: s.date_format for p, s in styles.items()}, mixing, rng)
    dup = rep["dup"].to_numpy()
    d_fmt = np.where(dup & (rng.random(len(rep)) < 0.4), rng.integers(0, 5, size=len(rep)), d_fmt)
    rows = pd.DataFrame(
        {
            "source": provs,
            "person_ref": refs[pos],
            "id_type": id_type_text(ident["doc"].to_numpy(), reg_provs, styles)[pos],
            "id_number": ident["id_number"].to_numpy()[pos],
            "name": ident["name"].to_numpy()[pos],
            "sex": sex_text(ident["sex"].to_numpy(), reg_provs, styles)[pos],
            "birth_date": birth_text[pos],
            "phone": phone_text(ident["phone"].to_numpy(), reg_provs, styles)[pos],
            "dose_date": format_dates(y, m, d, d_fmt),
            "vaccine": vaccine_text(
                rep["product"].to_numpy(), provs, rep["generic_product"].to_numpy(), styles, rng
            ),
            "lot_number": rep["lot"].to_numpy(),
            "dose_seq": rep["dose_seq"].astype(str).to_numpy(),
            "site": site_text(
                rep["site_idx"].to_numpy(), rep["site_original"].to_numpy(), provs, sites, styles
            ),
            "reg_id": rep["reg_id"].to_numpy(),
            "dose_id": rep["dose_id"].to_numpy(),
            "_date": rep["date"].to_numpy(),
            "_tie": rng.random(len(rep)),
        }
    )
    rows = rows.sort_values(
        ["source", "_date", "_tie"], kind="stable", na_position="last", ignore_index=True
    )
    rows["row_in_file"] = rows.groupby("source").cumcount().to_numpy() + 1
    rows = rows.drop(columns=["_date", "_tie"])

    truth = pd.DataFrame(
        {
            "source": reg_provs,
            "person_ref": refs,
            "true_person_id": regs["pid"].to_numpy(),
            "corruptions": _tag_strings(regs, ident, pop.flags, admin_flags),
        }
    )
    truth_doses = pd.DataFrame(
        {
            "true_person_id": given["pid"].to_numpy(),
            "dose_date": pd.to_datetime(given["date"]).dt.strftime("%Y-%m-%d").to_numpy(),
            "product_code": given["product"].to_numpy(),
            "lot_number": given["lot"].to_numpy(),
            "site": sites["site_code"].to_numpy()[given["site_idx"].to_numpy()],
            "source": given["prov"].to_numpy(),
            "dose_number": given["dose_number"].to_numpy(),
            "kind": given["kind"].to_numpy(),
        }
    )
    bad = rows["dose_date"] == ""
    unusable = rows.loc[bad, ["source", "person_ref", "row_in_file"]].assign(
        reason="dose_date missing"
    )
    counts = {
        "persons": len(persons),
        "true_doses": len(given),
        "registrations": len(regs),
        "rows": len(rows),
        "unusable_rows": int(bad.sum()),
    }
    return Dataset(
        rows=rows,
        truth=truth,
        truth_doses=truth_doses,
        unusable=unusable,
        styles=styles,
        counts=counts,
    )


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _tag_encoding_loss(
    ident: pd.DataFrame, regs: pd.DataFrame, styles: dict[str, ProvinceStyle]
) -> None:
    """Tag names and ID numbers that a GBK export turns into '?'."""
    gbk = regs["prov"].map(lambda p: styles[p].encoding == "gbk").to_numpy().astype(bool)
    for col, tag in (("name", "name_gbk_lost"), ("id_number", "id_gbk_lost")):
        values = ident[col].astype(str).to_numpy()
        lost = np.zeros(len(ident), dtype=bool)
        for i in np.flatnonzero(gbk):
            lost[i] = not _encodable(values[i], "gbk")
        ident["tag_" + tag] = lost


def _person_refs(
    regs: pd.DataFrame, styles: dict[str, ProvinceStyle], rng: np.random.Generator
) -> np.ndarray:
    """Registration ids per province: prefix + increasing numbers with gaps, in random order."""
    refs = np.empty(len(regs), dtype=object)
    for prov, style in styles.items():
        rows = np.flatnonzero(regs["prov"].to_numpy() == prov)
        order = rng.permutation(rows)
        numbers = 10 ** (style.ref_digits - 1) + np.cumsum(rng.integers(1, 40, size=len(order)))
        refs[order] = [style.ref_prefix + str(x) for x in numbers]
    return refs


def _tag_strings(
    regs: pd.DataFrame, ident: pd.DataFrame, person_flags: pd.DataFrame, admin_flags: pd.DataFrame
) -> np.ndarray:
    """`;`-joined tags per registration, in a fixed column order."""
    pid = regs["pid"].to_numpy()
    columns: dict[str, np.ndarray] = {}
    for frame in (person_flags, admin_flags):
        for c in frame.columns:
            columns[c] = frame[c].to_numpy().astype(bool)[pid]
    for c in regs.columns:
        if regs[c].dtype == bool:
            columns[c] = regs[c].to_numpy()
    for c in ident.columns:
        if c.startswith("tag_"):
            columns[c[4:]] = ident[c].to_numpy().astype(bool)
    out = pd.Series("", index=range(len(regs)), dtype=object)
    for name, mask in columns.items():
        out = out + np.where(mask, name + ";", "")
    return out.str.rstrip(";").to_numpy()
