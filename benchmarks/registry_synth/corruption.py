"""Identity corruption per registration (DOMAIN.md §1, §3): every change is tagged where it is made."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .corrupt_fields import corrupt_birth, corrupt_phone, corrupt_sex
from .corrupt_ids import corrupt_ids
from .corrupt_names import corrupt_names
from .editor import Editor, Mask
from .rates import Rates
from .streams import stream
from .styles import ProvinceStyle

_SPLIT_VARIATIONS = (
    "id_missing",
    "id_typo_substitution",
    "name_homophone",
    "phone_changed",
    "birth_date_typo",
)


def corrupt_identity(
    ident: pd.DataFrame,
    regs: pd.DataFrame,
    styles: dict[str, ProvinceStyle],
    rates: Rates,
    seed: int,
) -> pd.DataFrame:
    """The identity frame with corrupted values and tag_* columns for every change."""
    rng = stream(seed, "corruption")
    f = ident.copy()
    n = len(f)
    force: dict[str, Mask] = {}
    split = (regs["role"] == "split").to_numpy() & (rng.random(n) < rates.split_identity_variation)
    choice = rng.integers(0, len(_SPLIT_VARIATIONS), size=n)
    for i, t in enumerate(_SPLIT_VARIATIONS):
        force[t] = split & (choice == i)
    ed = Editor(f, rng, force)
    corrupt_ids(ed, regs, styles, rates)
    corrupt_names(ed, rates)
    corrupt_birth(ed, rates)
    corrupt_sex(ed, rates)
    corrupt_phone(ed, regs, rates)
    none = ed.pick("whole", "no_name_no_id", rates.no_name_no_id, np.ones(n, dtype=bool))
    for col in ("id_number", "name"):
        v = f[col].to_numpy().copy()
        v[none] = ""
        f[col] = v
    f.loc[f.index[none], "doc"] = "none"
    # those rows keep a phone and a birth date (all that links them)
    f.loc[f.index[none], "phone"] = ident["phone"].to_numpy()[none]
    for c in ("b_y", "b_m", "b_d"):
        f.loc[f.index[none], c] = ident[c].to_numpy()[none]
    return f
