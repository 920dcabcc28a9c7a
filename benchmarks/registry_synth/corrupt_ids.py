"""ID-number corruptions: missing, legacy 15-digit, typos, Excel damage, width/space, placeholders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import ids
from .editor import Editor
from .rates import Rates
from .styles import ProvinceStyle

_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


_PLACEHOLDERS = (
    "000000000000000000",
    "111111111111111111",
    "123456789012345678",
    "0",
    "000000",
    "无",
)


def corrupt_ids(
    ed: Editor, regs: pd.DataFrame, styles: dict[str, ProvinceStyle], rates: Rates
) -> None:
    f, rng = ed.f, ed.rng
    lax = regs["prov"].map(lambda p: styles[p].id_lax).to_numpy().astype(bool)
    u = rng.random(ed.n)
    missing = (u < np.where(lax, rates.idless_province, rates.id_missing)) | ed.force["id_missing"]
    ed.mark("id", "id_missing", missing)
    v = f["id_number"].to_numpy().copy()
    v[missing] = ""
    f["id_number"] = v
    # most ID-less rows leave the type blank too; some keep the default label
    f.loc[missing, "doc"] = np.where(
        rng.random(int(missing.sum())) < 0.8, "none", f.loc[missing, "doc"].to_numpy()
    )

    num = f["id_number"].astype(str)
    is18 = (
        np.isin(f["doc"].to_numpy(), ["resident", "residence_permit"])
        & (num.str.len() == 18).to_numpy()
    )
    digits = is18 & num.str.isdigit().to_numpy()
    resident = f["doc"].to_numpy() == "resident"
    old = f["b_y"].to_numpy() < 1985
    ed.edit(
        "id_number",
        ed.pick("id", "id_15digit", rates.id_15digit, is18 & resident & old),
        lambda s: s[:6] + s[8:17],
    )
    ed.edit(
        "id_number",
        ed.pick("id", "id_typo_substitution", rates.id_typo_substitution, is18),
        lambda s: _substitute(s, rng),
    )
    ed.edit(
        "id_number",
        ed.pick("id", "id_typo_transposition", rates.id_typo_transposition, is18),
        lambda s: _transpose(s, rng),
    )
    ed.edit(
        "id_number",
        ed.pick("id", "id_excel_scientific", rates.id_excel_scientific, digits),
        lambda s: f"{float(s):.5E}",
    )
    ed.edit(
        "id_number",
        ed.pick("id", "id_excel_000", rates.id_excel_000, digits),
        lambda s: s[:15] + "000",
    )
    ed.edit(
        "id_number",
        ed.pick("id", "id_fullwidth", rates.id_fullwidth, is18),
        lambda s: s.translate(_FULLWIDTH),
    )
    ed.edit(
        "id_number", ed.pick("id", "id_spaces", rates.id_spaces, is18), lambda s: _spaces(s, rng)
    )
    ed.edit(
        "id_number", ed.pick("id", "id_apostrophe", rates.id_apostrophe, is18), lambda s: "'" + s
    )
    ed.edit(
        "id_number",
        ed.pick("id", "id_placeholder", rates.id_placeholder, is18 & resident),
        lambda _s: _PLACEHOLDERS[int(rng.integers(0, len(_PLACEHOLDERS)))],
    )
    ends_x = f["id_number"].astype(str).str.endswith("X").to_numpy()
    ed.edit(
        "id_number",
        ed.pick("case", "id_lowercase_x", rates.id_lowercase_x, ends_x),
        lambda s: s[:-1] + "x",
    )


def _substitute(s: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(0, 17))
    return s[:i] + str((int(s[i]) + int(rng.integers(1, 10))) % 10) + s[i + 1 :]


def _transpose(s: str, rng: np.random.Generator) -> str:
    pairs = [i for i in range(17) if s[i] != s[i + 1]]
    i = pairs[int(rng.integers(0, len(pairs)))]
    out = s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return out if not ids.is_valid(out) else _substitute(s, rng)


def _spaces(s: str, rng: np.random.Generator) -> str:
    k = int(rng.integers(0, 4))
    return (
        s[:6] + " " + s[6:14] + " " + s[14:],
        " " + s + " ",
        s + "\u3000",
        "\u200b" + s + "\u00a0",
    )[k]
