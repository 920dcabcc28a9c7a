"""Birth date, sex and phone corruptions."""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

from .editor import Editor
from .rates import Rates
from .sampling import mobile_phones

_AREA_CODES = {
    "11": "010",
    "12": "022",
    "13": "0311",
    "14": "0351",
    "15": "0471",
    "21": "024",
    "22": "0431",
    "23": "0451",
    "31": "021",
    "32": "025",
    "33": "0571",
    "34": "0551",
    "35": "0591",
    "36": "0791",
    "37": "0531",
    "41": "0371",
    "42": "027",
    "43": "0731",
    "44": "020",
    "45": "0771",
    "46": "0898",
    "50": "023",
    "51": "028",
    "52": "0851",
    "53": "0871",
    "54": "0891",
    "61": "029",
    "62": "0931",
    "63": "0971",
    "64": "0951",
    "65": "0991",
}


def _valid(y: int, m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1] if y > 0 else False


def corrupt_birth(ed: Editor, rates: Rates) -> None:
    f, rng = ed.f, ed.rng
    y, m, d = (f[c].to_numpy().copy() for c in ("b_y", "b_m", "b_d"))
    n = ed.n
    anyone = np.ones(n, dtype=bool)
    for i in ed.pick("birth", "birth_date_typo", rates.birth_date_typo, anyone):
        for _ in range(20):
            part = int(rng.integers(0, 3))
            yy, mm, dd = int(y[i]), int(m[i]), int(d[i])
            if part == 0:
                yy = yy - yy % 10 + int(rng.integers(0, 10))
            elif part == 1:
                mm = int(rng.integers(1, 13))
            else:
                dd = dd - dd % 10 + int(rng.integers(0, 10))
            if _valid(yy, mm, dd) and (yy, mm, dd) != (y[i], m[i], d[i]) and yy <= 2022:
                y[i], m[i], d[i] = yy, mm, dd
                break
    for i in ed.pick("birth", "birth_date_impossible", rates.birth_date_impossible, anyone):
        k = int(rng.integers(0, 3))
        if k == 0 and m[i] % 10 != 0:
            m[i] = (m[i] % 10) * 10 + m[i] // 10 if m[i] < 10 else m[i] + 20  # 09 -> 90, 11 -> 31
        elif k == 1:
            m[i], d[i] = 2, 30
        else:
            d[i] = 32 + int(rng.integers(0, 8))
        if _valid(int(y[i]), int(m[i]), int(d[i])):
            m[i] = 13 + int(rng.integers(0, 7))
    for i in ed.pick("birth", "birth_date_future", rates.birth_date_future, anyone):
        candidate = 2000 + int(y[i]) % 100
        y[i] = candidate if candidate > 2023 else 2024 + int(rng.integers(0, 40))
        if not _valid(int(y[i]), int(m[i]), int(d[i])):
            d[i] = 28
    swap = (d <= 12) & (d != m)
    for i in ed.pick("birth", "birth_date_md_swapped", rates.birth_date_md_swapped, swap):
        m[i], d[i] = d[i], m[i]
    for i in ed.pick(
        "birth",
        "birth_date_jan1",
        rates.birth_date_jan1,
        (f["age"].to_numpy() >= 60) & ~((m == 1) & (d == 1)),
    ):
        m[i], d[i] = 1, 1
    for i in ed.pick("birth", "birth_date_missing", rates.birth_date_missing, anyone):
        y[i], m[i], d[i] = 0, 0, 0
    f["b_y"], f["b_m"], f["b_d"] = y, m, d


def corrupt_sex(ed: Editor, rates: Rates) -> None:
    f = ed.f
    anyone = np.ones(ed.n, dtype=bool)
    ed.edit("sex", ed.pick("sex", "sex_missing", rates.sex_missing, anyone), lambda _s: "U")
    ed.edit(
        "sex",
        ed.pick("sex", "sex_contradicts_id", rates.sex_contradicts_id, f["sex"].to_numpy() != "U"),
        lambda s: "F" if s == "M" else "M",
    )


def corrupt_phone(ed: Editor, regs: pd.DataFrame, rates: Rates) -> None:
    f, rng = ed.f, ed.rng
    anyone = np.ones(ed.n, dtype=bool)
    not_collected = rng.random(ed.n) >= rates.phone_collected
    ed.mark("phone", "phone_missing", not_collected)
    v = f["phone"].to_numpy().copy()
    v[not_collected] = ""
    f["phone"] = v
    rows = ed.pick("phone", "phone_changed", rates.phone_changed, anyone)
    v = f["phone"].to_numpy().copy()
    v[rows] = mobile_phones(len(rows), rng)
    f["phone"] = v
    ed.edit(
        "phone",
        ed.pick(
            "phone",
            "phone_typo",
            rates.phone_typo,
            (f["phone"].astype(str).str.len() == 11).to_numpy(),
        ),
        lambda s: _phone_typo(s, rng),
    )
    rows = ed.pick("phone", "phone_landline", rates.phone_landline, anyone)
    provs = regs["prov"].to_numpy()
    v = f["phone"].to_numpy().copy()
    for i in rows:
        area = _AREA_CODES[str(provs[i])]
        digits = 8 if len(area) == 3 else 7
        local = str(int(rng.integers(2, 10))) + "".join(
            str(int(x)) for x in rng.integers(0, 10, size=digits - 1)
        )
        v[i] = f"{area}-{local}"
    f["phone"] = v


def _phone_typo(s: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(3, len(s)))
    return s[:i] + str((int(s[i]) + int(rng.integers(1, 10))) % 10) + s[i + 1 :]
