"""Turn semantic values into the text a provincial export holds (dates, sex, ID type, vaccine, site, phone)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from .styles import DATE_FORMATS, ProvinceStyle
from .vocab import GENERIC_REENTRY, ID_TYPES, SEX, VACCINES

Strings = npt.NDArray[np.object_]
Ints = npt.NDArray[np.int64]
_VACCINE_STYLES = ("maker", "generic_maker", "brand")


def format_dates(y: Ints, m: Ints, d: Ints, fmt: Ints) -> Strings:
    """Dates in the five formats by code (see styles.DATE_FORMATS); y == 0 means missing."""
    ys = pd.Series(y).astype(str).str.zfill(4)
    ms, ds = pd.Series(m).astype(str), pd.Series(d).astype(str)
    m2, d2 = ms.str.zfill(2), ds.str.zfill(2)
    choices = [
        ys + "-" + m2 + "-" + d2,
        ys + "/" + ms + "/" + ds,
        ys + m2 + d2,
        ys + "年" + ms + "月" + ds + "日",
        ys + "." + m2 + "." + d2,
    ]
    assert len(choices) == len(DATE_FORMATS)
    out = np.select(
        [fmt == i for i in range(len(choices))], [c.to_numpy() for c in choices], default=""
    )
    return np.where(y == 0, "", out).astype(object)


def split_dates(dates: npt.NDArray[np.datetime64]) -> tuple[Ints, Ints, Ints]:
    """(year, month, day) integer arrays."""
    dates = dates.astype("datetime64[D]")
    y = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, d


def row_formats(
    provs: Strings, own: dict[str, int], mixing: float, rng: np.random.Generator
) -> Ints:
    """Each row's date format: its province's own, or (at `mixing`) any of the five."""
    base = np.array([own[p] for p in provs], dtype=np.int64)
    other = rng.integers(0, len(DATE_FORMATS), size=len(provs))
    return np.where(rng.random(len(provs)) < mixing, other, base)


def sex_text(sex: Strings, provs: Strings, styles: dict[str, ProvinceStyle]) -> Strings:
    """Sex in the province's vocabulary."""
    return np.array(
        [SEX[styles[p].sex_style][s] for p, s in zip(provs, sex, strict=True)], dtype=object
    )


def id_type_text(doc: Strings, provs: Strings, styles: dict[str, ProvinceStyle]) -> Strings:
    """ID type in the province's vocabulary ('' when there is no document)."""
    return np.array(
        [ID_TYPES[styles[p].id_type_style][d] for p, d in zip(provs, doc, strict=True)],
        dtype=object,
    )


def phone_text(phone: Strings, provs: Strings, styles: dict[str, ProvinceStyle]) -> Strings:
    """Mobile numbers as the province writes them (plain, spaced, +86); landlines untouched."""
    out = phone.copy()
    for i, (p, s) in enumerate(zip(provs, phone, strict=True)):
        style = styles[p].phone_style
        if len(s) == 11 and s.isdigit() and style != "plain":
            out[i] = f"{s[:3]} {s[3:7]} {s[7:]}" if style == "spaced" else f"+86 {s}"
    return out


def vaccine_text(
    product: Strings,
    provs: Strings,
    generic: npt.NDArray[np.bool_],
    styles: dict[str, ProvinceStyle],
    rng: np.random.Generator,
) -> Strings:
    """Product wording: the province's usual style, some variation, generic text on re-entries."""
    n = len(product)
    u = rng.random(n)
    alt = rng.integers(0, 8, size=n)
    pick_style = rng.integers(0, len(_VACCINE_STYLES), size=n)
    out = np.empty(n, dtype=object)
    for i in range(n):
        prod = str(product[i])
        if generic[i]:
            pool = (*GENERIC_REENTRY, VACCINES[prod]["generic"][0])
            out[i] = pool[int(alt[i]) % len(pool)]
            continue
        style = styles[str(provs[i])].vaccine_style
        if style == "mixed" or u[i] < 0.08:
            style = _VACCINE_STYLES[int(pick_style[i])]
        words = VACCINES[prod][style]
        out[i] = (
            words[0]
            if u[i] < 0.75 or len(words) == 1
            else words[1 + int(alt[i]) % (len(words) - 1)]
        )
    if n:
        full = rng.random(n) < 0.1  # full-width brackets typed on some rows
        out[full] = [str(s).replace("(", "（").replace(")", "）") for s in out[full]]
    return out


def site_text(
    site_idx: Ints,
    original: npt.NDArray[np.bool_],
    provs: Strings,
    sites: pd.DataFrame,
    styles: dict[str, ProvinceStyle],
) -> Strings:
    """The clinic as name or unit code (a re-entry copying the certificate writes the name)."""
    names = sites["site_name"].to_numpy()[site_idx]
    codes = sites["site_code"].to_numpy()[site_idx]
    code_style = np.array([styles[p].site_style == "code" for p in provs])
    return np.where(code_style & ~original, codes, names).astype(object)
