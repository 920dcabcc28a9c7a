"""Name corruptions: rare characters, traditional, homophone, pinyin, dropped/extra characters, dots."""

from __future__ import annotations

import numpy as np

from . import names
from .editor import Editor
from .name_pools import DOT_VARIANTS, RARE_CHARS, RARE_SUBSTITUTES
from .rates import Rates


def corrupt_names(ed: Editor, rates: Rates) -> None:
    f, rng = ed.f, ed.rng
    han = (
        ~f["latin"].to_numpy()
        & (f["minority"].to_numpy() == "")
        & (f["name"].astype(str).str.len() >= 2).to_numpy()
    )
    has = f["name"].to_numpy() != ""
    sur, giv = f["surname"].to_numpy(), f["given"].to_numpy()
    rare = f["rare_char"].to_numpy().astype(bool) & han
    rows = ed.pick("name", "name_rare_char_substituted", rates.name_rare_char_substituted, rare)
    ed.edit("name", rows, lambda s: _rare_sub(s, rng))
    rows = ed.pick(
        "name",
        "name_traditional",
        rates.name_traditional,
        han & ~f["tag_name_traditional"].to_numpy(),
    )
    f.loc[f.index[rows], "name"] = names.to_traditional(f["name"].to_numpy()[rows])
    rows = ed.pick("name", "name_homophone", rates.name_homophone, han)
    vals = f["name"].to_numpy().copy()
    failed = []
    for i in rows:
        typo = names.homophone_typo(str(sur[i]), str(giv[i]), rng)
        if typo:
            vals[i] = typo
        else:
            failed.append(i)
    f["name"] = vals
    ed.unmark("name_homophone", np.array(failed, dtype=np.int64))
    rows = ed.pick("name", "name_pinyin", rates.name_pinyin, han)
    vals = f["name"].to_numpy().copy()
    for i in rows:
        vals[i] = _pinyin_name(str(sur[i]), str(giv[i]), rng)
    f["name"] = vals
    ed.edit(
        "name",
        ed.pick(
            "name",
            "name_missing_char",
            rates.name_missing_char,
            han & (f["name"].astype(str).str.len() >= 3).to_numpy(),
        ),
        lambda s: s[:-1] if rng.random() < 0.7 else s[0] + s[2:],
    )
    ed.edit(
        "name",
        ed.pick("name", "name_extra_char", rates.name_extra_char, han),
        lambda s: s + s[-1] if rng.random() < 0.5 else s[:1] + "小" + s[1:],
    )
    ed.edit(
        "name",
        ed.pick("name", "name_spacing", rates.name_spacing, han | (f["minority"].to_numpy() != "")),
        lambda s: (s[:1] + "\u3000" + s[1:], s[:1] + " " + s[1:], " " + s, s + " ")[
            int(rng.integers(0, 4))
        ],
    )
    rows = ed.pick("name", "name_missing", rates.name_missing, has & ~f["latin"].to_numpy())
    ed.edit("name", rows, lambda _s: "")
    dotted = f["name"].astype(str).str.contains("\u00b7", regex=False).to_numpy()
    ed.edit(
        "name",
        ed.pick("name", "name_dot_variant", rates.name_dot_variant, dotted),
        lambda s: s.replace("\u00b7", DOT_VARIANTS[int(rng.integers(0, len(DOT_VARIANTS)))]),
    )
    latin = f["latin"].to_numpy()
    ed.edit(
        "name",
        ed.pick("name", "name_order_swapped", rates.name_order_swapped, latin),
        lambda s: " ".join(reversed(s.split(" "))),
    )
    # Latin names are also written in other cases and separators (formatting, not a defect)
    fmt = latin & (rng.random(ed.n) < 0.3)
    ed_rows = np.flatnonzero(fmt)
    vals = f["name"].to_numpy().copy()
    vals[ed_rows] = [
        (s.title(), s.replace(" ", "/"), s.replace(" ", ""))[int(rng.integers(0, 3))]
        for s in vals[ed_rows]
    ]
    f["name"] = vals


def _rare_sub(s: str, rng: np.random.Generator) -> str:
    out = []
    for ch in s:
        if ch in RARE_CHARS:
            k = int(rng.integers(0, 5))
            rep = (
                RARE_SUBSTITUTES.get(ch, "?"),
                "?",
                "\u25a1",
                names.pinyin_of(ch)[0],
                chr(0xE000 + RARE_CHARS.index(ch)),
            )[k]
            out.append(rep)
        else:
            out.append(ch)
    return "".join(out)


def _pinyin_name(surname: str, given: str, rng: np.random.Generator) -> str:
    s = "".join(names.pinyin_of(surname, surname=True))
    g = "".join(names.pinyin_of(given))
    k = int(rng.integers(0, 4))
    return (
        f"{s.title()} {g.title()}",
        f"{s.upper()} {g.upper()}",
        f"{s}{g}",
        f"{g.title()} {s.title()}",
    )[k]
