"""Lot numbers: a per-product catalogue by production month, and how clinics re-type them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_CONFUSE = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "8": "B", "2": "Z"}


def _lot_text(product: str, ym: int, k: int) -> str:
    letter = "ABCDEF"[k % 6]
    formats = {
        "BBIBP": f"{ym}{letter}{k * 37 % 1000:03d}",
        "WIBP": f"{ym}{k * 13 % 1000:03d}",
        "CORONAVAC": f"{'JHK'[k % 3]}{ym}{k * 7 % 100:02d}",
        "KCONVAC": f"KT{ym}{k * 11 % 1000:03d}",
        "IMBCAMS": f"YK{ym}{k * 3 % 100:02d}",
        "AD5": f"NCOV{ym}{k * 17 % 1000:03d}",
        "AD5_INH": f"NCOVI{ym}{k * 5 % 100:02d}",
        "ZF2001": f"ZF{ym}{k * 19 % 1000:03d}",
        "SCTV01E": f"SCT{ym}{k * 3 % 100:02d}",
        "WSK_SF9": f"WSK{ym}{k * 7 % 100:02d}",
        "SYS6006": f"SY{ym}{k * 29 % 1000:03d}",
        "LYB_V01": f"LY{ym}{k * 9 % 100:02d}",
    }
    return formats[product]


def assign_lots(
    product: npt.NDArray[np.object_],
    date: npt.NDArray[np.datetime64],
    site: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> npt.NDArray[np.object_]:
    """True lot of each dose: made 1-4 months before use; a site uses a few lots per week."""
    made = date.astype("datetime64[M]") - rng.integers(1, 5, size=len(date)).astype(
        "timedelta64[M]"
    )
    y = made.astype("datetime64[Y]").astype(np.int64) + 1970
    m = made.astype(np.int64) % 12 + 1
    ym = y * 100 + m
    week = date.astype("datetime64[W]").astype(np.int64)
    k = (site * 7 + week * 3 + rng.integers(0, 3, size=len(date))) % 40 + 1
    frame = pd.DataFrame({"p": product, "ym": ym, "k": k})
    uniq = frame.drop_duplicates()
    text = {
        (p, a, b): _lot_text(str(p), int(a), int(b)) for p, a, b in uniq.itertuples(index=False)
    }
    return np.array([text[key] for key in frame.itertuples(index=False, name=None)], dtype=object)


def retype_lot(lot: str, rng: np.random.Generator) -> str:
    """The lot as another clinic types it from a paper certificate: case, separators, one slip."""
    ops = rng.permutation(8)[: 1 + int(rng.random() < 0.3)]
    out = lot
    for op in ops:
        if op == 0:
            out = out.lower()
        elif op == 1 and len(out) > 6:
            out = out[:6] + "-" + out[6:]
        elif op == 2:
            out = out.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") or out
        elif op == 3 and len(out) > 3:
            i = int(rng.integers(0, len(out)))
            if out[i].isdigit():
                out = out[:i] + str((int(out[i]) + int(rng.integers(1, 10))) % 10) + out[i + 1 :]
        elif op == 4 and len(out) > 3:
            i = int(rng.integers(0, len(out) - 1))
            out = out[:i] + out[i + 1] + out[i] + out[i + 1 :]
        elif op == 5:
            i = int(rng.integers(0, len(out)))
            out = out[:i] + _CONFUSE.get(out[i], out[i]) + out[i + 1 :]
        elif op == 6:
            out = out.translate(_FULLWIDTH)
        else:
            out = "批号" + out if rng.random() < 0.5 else out + " "
    if out == lot:  # nothing applied (e.g. an all-digit lot lower-cased): slip one digit
        digits = [i for i, c in enumerate(lot) if c.isdigit()]
        i = digits[int(rng.integers(0, len(digits)))] if digits else len(lot) - 1
        out = lot[:i] + ("1" if lot[i] != "1" else "7") + lot[i + 1 :]
    return out
