"""Identity fields of each provincial registration, with documented, recorded corruptions.

A registration (one person record in one province's system) starts from its true person's
values; each corruption changes one field of some registrations and is recorded on exactly
those registrations as a bit in ``Identities.corruptions`` (names in ``CORRUPTIONS``).
Rates are shares of *all* registrations; where a corruption can only apply to some records
(an ID ending in X, a name with a traditional form) it is drawn more often among those.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from matcher.errors import VaxlinkError
from matcher.synthetic_doses import Doses
from matcher.synthetic_people import CHILD_AGE, People, bytes_to_str, ymd
from matcher.synthetic_tables import NamePool, given_name_pool, surname_pool

__all__ = [
    "CORRUPTIONS",
    "CorruptionRates",
    "Identities",
    "corruption_labels",
    "make_identities",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

CORRUPTIONS: Final = (
    "missing_id", "id_typo", "id_15_digit", "id_excel_damage", "id_fullwidth", "id_lowercase_x",
    "id_spaces", "name_homophone", "name_traditional", "name_pinyin", "birth_date_error",
    "missing_birth_date", "missing_phone", "sex_missing", "guardian_id", "twin",
    "birth_date_unusable", "no_name_no_id", "reentered_registration", "split_registration",
)  # fmt: skip
BIT: Final[dict[str, int]] = {name: 1 << i for i, name in enumerate(CORRUPTIONS)}


@dataclass(frozen=True, slots=True)
class CorruptionRates:
    """Share of all registrations that get each corruption (defaults: modest, realistic)."""

    missing_id: float = 0.05
    """ID number (and ID type) left empty."""
    id_typo: float = 0.01
    """One digit substituted, or two adjacent different digits transposed."""
    id_15_digit: float = 0.01
    """Legacy 15-digit number instead of the 18-digit one (persons born before 2000 only).
    Includes the 15-digit half of every double registration."""
    id_excel_damage: float = 0.002
    """Spreadsheet damage: ``4.40104E+17`` or the last three digits turned into ``000``."""
    id_fullwidth: float = 0.005
    """Full-width digits (``４４０１…``)."""
    id_lowercase_x: float = 0.003
    """Check character ``X`` written as ``x`` (only IDs ending in X)."""
    id_spaces: float = 0.005
    """Spaces between the ID's parts, surrounding whitespace or a leading Excel ``'``."""
    name_homophone: float = 0.015
    """One given-name character replaced by a same-pinyin character (张伟 → 张玮)."""
    name_traditional: float = 0.01
    """Name written in traditional characters (張偉)."""
    name_pinyin: float = 0.01
    """Name written in Latin letters: ``ZHANG Wei``, ``Wei Zhang``, ``ZHANG WEI``, ``Zhang Wei``."""
    birth_date_error: float = 0.01
    """Day and month swapped, or day, month or year off by one."""
    missing_birth_date: float = 0.02
    """Birth date left empty."""
    missing_phone: float = 0.05
    """Phone left empty."""
    sex_missing: float = 0.02
    """Sex left empty."""
    guardian_id: float = 0.2
    """Share of registrations of children under 14 that carry their guardian's ID number."""
    birth_date_unusable: float = 0.003
    """Birth date typed so that it cannot be used: an impossible date (``1966-90-20``,
    ``1980-02-30``) or one in the future."""
    no_name_no_id: float = 0.001
    """Both name and ID number left empty (the record keeps phone, birth date and sex)."""

    def scaled(self, factor: float) -> CorruptionRates:
        """Every rate multiplied by ``factor`` (capped at 1)."""
        return replace(
            self, **{f.name: min(getattr(self, f.name) * factor, 1.0) for f in fields(self)}
        )

    @classmethod
    def from_toml(cls, path: Path) -> CorruptionRates:
        """Defaults overridden by the top-level keys of a TOML file; unknown keys are errors."""
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise VaxlinkError(f"cannot read rates file {path}: {exc}") from exc
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise VaxlinkError(f"unknown corruption rates in {path}: {', '.join(unknown)}")
        for key, value in data.items():
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise VaxlinkError(f"rate {key} in {path} must be a number in [0, 1]")
        return replace(cls(), **{k: float(v) for k, v in data.items()})


@dataclass(slots=True)
class Identities:
    """Identity fields per registration (``None`` = empty in the export)."""

    id_number: ObjArray
    name: ObjArray
    male: npt.NDArray[np.int8]  # 1 male, 0 female, -1 missing
    birth: IntArray  # days since 1970-01-01
    birth_missing: BoolArray
    phone: ObjArray
    corruptions: IntArray  # bit mask over CORRUPTIONS
    birth_text: ObjArray  # the birth date as typed where it is unusable, else None


class _Picker:
    """Draws which records get a corruption so that its overall share matches its rate."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n = rng, n
        self.mask = np.zeros(n, dtype=np.int64)

    def pick(self, name: str, eligible: BoolArray, rate: float) -> IntArray:
        already = int(np.count_nonzero(self.mask & BIT[name]))
        candidates = np.flatnonzero(eligible)
        p = (rate * self.n - already) / max(len(candidates), 1)
        chosen = candidates[self.rng.random(len(candidates)) < min(max(p, 0.0), 1.0)]
        self.mask[chosen] |= BIT[name]
        return chosen


def _fifteen(id18: npt.NDArray[np.uint8]) -> ObjArray:
    return bytes_to_str(np.concatenate([id18[:, :6], id18[:, 8:17]], axis=1)).astype(object)


def _typo(rng: np.random.Generator, id18: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    out = id18.copy()
    rows = np.arange(len(out))
    pos = rng.integers(0, 16, size=len(out))
    a, b = out[rows, pos], out[rows, pos + 1]
    swap = (rng.random(len(out)) < 0.4) & (a != b)
    out[rows[swap], pos[swap]], out[rows[swap], pos[swap] + 1] = b[swap], a[swap]
    sub = ~swap
    digit = (out[rows[sub], pos[sub]] - ord("0") + rng.integers(1, 10, size=int(sub.sum()))) % 10
    out[rows[sub], pos[sub]] = digit + ord("0")
    return out


def _names(people: People, person: IntArray, given: IntArray, variant: str) -> ObjArray:
    """Names of ``person`` using given-name indices ``given``: plain or traditional form."""
    sur = surname_pool()
    out = np.empty(len(person), dtype=object)
    for sex in ("M", "F"):
        sel = np.flatnonzero(people.male[person] == (sex == "M"))
        pool = given_name_pool(sex)
        s, g = people.surname[person[sel]], given[sel]
        if variant == "traditional":
            s_text = np.where(sur.traditional[s] != "", sur.traditional[s], sur.names[s])
            g_text = np.where(pool.traditional[g] != "", pool.traditional[g], pool.names[g])
        else:
            s_text, g_text = sur.names[s], pool.names[g]
        out[sel] = np.char.add(s_text, g_text)
    return out


def _pool_of(people: People, person: IntArray, field: str) -> tuple[BoolArray, IntArray]:
    """Per record: whether the given name has a homophone / traditional variant, and counts."""
    flag = np.zeros(len(person), dtype=bool)
    counts = np.zeros(len(person), dtype=np.int64)
    sur = surname_pool()
    for sex in ("M", "F"):
        sel = people.male[person] == (sex == "M")
        pool: NamePool = given_name_pool(sex)
        g = people.given[person[sel]]
        if field == "homophone":
            counts[sel] = pool.homophone_counts[g]
            flag[sel] = counts[sel] > 0
        else:
            flag[sel] = (pool.traditional[g] != "") | (
                sur.traditional[people.surname[person[sel]]] != ""
            )
    return flag, counts


def _pinyin_names(rng: np.random.Generator, people: People, person: IntArray) -> ObjArray:
    sur = surname_pool().pinyin[people.surname[person]]
    given = np.empty(len(person), dtype=object)
    for sex in ("M", "F"):
        sel = people.male[person] == (sex == "M")
        given[sel] = given_name_pool(sex).pinyin[people.given[person[sel]]]
    given_u = given.astype(str)
    style = rng.integers(0, 4, size=len(person))
    options = [
        np.char.add(np.char.add(np.char.upper(sur), " "), given_u),
        np.char.add(np.char.add(given_u, " "), sur),
        np.char.add(np.char.add(np.char.upper(sur), " "), np.char.upper(given_u)),
        np.char.add(np.char.add(sur, " "), given_u),
    ]
    return np.choose(style, options).astype(object)


def _from_ymd(year: IntArray, month: IntArray, day: IntArray) -> IntArray:
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    return (months.astype("datetime64[D]").astype(np.int64) + day - 1).astype(np.int64)


def _birth_error(rng: np.random.Generator, birth: IntArray) -> IntArray:
    y, m, d = ymd(birth)
    swap = (d <= 12) & (d != m) & (rng.random(len(birth)) < 0.5)
    kind = rng.integers(0, 3, size=len(birth))
    sign = np.where(rng.random(len(birth)) < 0.5, -1, 1)
    day_off = birth + sign
    year_off = _from_ymd(y + sign, m, np.minimum(d, 28))
    month_off = _from_ymd(y, np.where(m + sign < 1, 2, np.where(m + sign > 12, 11, m + sign)),
                          np.minimum(d, 28))  # fmt: skip
    shifted = np.choose(kind, [day_off, year_off, month_off])
    return np.where(swap, _from_ymd(y, d, m), shifted)


def make_identities(
    people: People, doses: Doses, rng: np.random.Generator, rates: CorruptionRates
) -> Identities:
    """Identity fields for every registration in ``doses``, with corruptions applied."""
    person = doses.reg_person
    n = len(person)
    picker = _Picker(rng, n)
    id18 = people.id18[person]
    born_19xx = ymd(people.birth[person])[0] < 2000

    # Children under 14 registered under their guardian's ID number.
    guardian = people.guardian[person]
    child = (people.age()[person] < CHILD_AGE) & (guardian >= 0) & ~doses.reg_dup15
    under_guardian = picker.pick("guardian_id", child, rates.guardian_id * child.sum() / n)
    id18[under_guardian] = people.id18[guardian[under_guardian]]
    picker.mask[people.twin[person] >= 0] |= BIT["twin"]

    id_number = bytes_to_str(id18).astype(object)
    dup = np.flatnonzero(doses.reg_dup15)
    id_number[dup] = _fifteen(id18[dup])
    picker.mask[dup] |= BIT["id_15_digit"]
    free = ~doses.reg_dup15
    free[under_guardian] = False

    def take(name: str, extra: BoolArray | None = None) -> IntArray:
        eligible = free if extra is None else free & extra
        chosen = picker.pick(name, eligible, getattr(rates, name))
        free[chosen] = False
        return chosen

    missing = take("missing_id")
    id_number[missing] = None
    rows = take("id_15_digit", born_19xx)
    id_number[rows] = _fifteen(id18[rows])
    rows = take("id_typo")
    id_number[rows] = bytes_to_str(_typo(rng, id18[rows])).astype(object)
    rows = take("id_excel_damage")
    text = bytes_to_str(id18[rows])
    sci = np.char.add(np.char.add(np.char.add(_slice(text, 0, 1), "."), _slice(text, 1, 6)), "E+17")
    zeros = np.char.add(_slice(text, 0, 15), "000")
    id_number[rows] = np.where(rng.random(len(rows)) < 0.5, sci, zeros).astype(object)
    rows = take("id_fullwidth")
    id_number[rows] = _fullwidth(id18[rows])
    rows = take("id_lowercase_x", id18[:, 17] == ord("X"))
    id_number[rows] = np.char.lower(bytes_to_str(id18[rows])).astype(object)
    rows = take("id_spaces")
    text = bytes_to_str(id18[rows])
    spaced = np.char.add(
        np.char.add(np.char.add(_slice(text, 0, 6), " "), _slice(text, 6, 14)), " "
    )
    options = [np.char.add(spaced, _slice(text, 14, 18)), np.char.add(" ", np.char.add(text, " ")),
               np.char.add("'", text), np.char.add(text, "\u3000")]  # fmt: skip
    id_number[rows] = np.choose(rng.integers(0, 4, size=len(rows)), options).astype(object)

    # Names (one name corruption per record at most).
    given = people.given[person]
    name = _names(people, person, given, "plain")
    has_homophone, counts = _pool_of(people, person, "homophone")
    has_traditional, _ = _pool_of(people, person, "traditional")
    name_free = np.ones(n, dtype=bool)
    rows = picker.pick("name_homophone", has_homophone, rates.name_homophone)
    name_free[rows] = False
    for sex in ("M", "F"):
        pool = given_name_pool(sex)
        sel = rows[people.male[person[rows]] == (sex == "M")]
        pick = pool.homophone_offsets[given[sel]] + (rng.random(len(sel)) * counts[sel]).astype(
            np.int64
        )
        name[sel] = np.char.add(
            surname_pool().names[people.surname[person[sel]]], pool.homophones[pick]
        )
    rows = picker.pick("name_traditional", has_traditional & name_free, rates.name_traditional)
    name_free[rows] = False
    name[rows] = _names(people, person[rows], given[rows], "traditional")
    rows = picker.pick("name_pinyin", name_free, rates.name_pinyin)
    name[rows] = _pinyin_names(rng, people, person[rows])

    birth = people.birth[person].copy()
    rows = picker.pick("birth_date_error", np.ones(n, dtype=bool), rates.birth_date_error)
    birth[rows] = _birth_error(rng, birth[rows])
    birth_missing = np.zeros(n, dtype=bool)
    rows = picker.pick(
        "missing_birth_date", (picker.mask & BIT["birth_date_error"]) == 0, rates.missing_birth_date
    )
    birth_missing[rows] = True
    birth_text = np.full(n, None, dtype=object)
    usable = (picker.mask & (BIT["birth_date_error"] | BIT["missing_birth_date"])) == 0
    rows = picker.pick("birth_date_unusable", usable, rates.birth_date_unusable)
    birth_text[rows] = _unusable_birth_dates(rng, birth[rows])
    rows = picker.pick("no_name_no_id", np.ones(n, dtype=bool), rates.no_name_no_id)
    id_number[rows] = None
    name[rows] = None
    phone = people.phone[person].astype(str).astype(object)
    phone[picker.pick("missing_phone", np.ones(n, dtype=bool), rates.missing_phone)] = None
    male = people.male[person].astype(np.int8)
    male[picker.pick("sex_missing", np.ones(n, dtype=bool), rates.sex_missing)] = -1
    picker.mask[doses.reg_retyped] |= BIT["reentered_registration"]
    picker.mask[doses.reg_split] |= BIT["split_registration"]
    return Identities(id_number, name, male, birth, birth_missing, phone, picker.mask, birth_text)


def _unusable_birth_dates(rng: np.random.Generator, birth: IntArray) -> ObjArray:
    """Birth dates typed so they cannot be used: month digits swapped (1966-09-20 → 1966-90-20),
    a 30th of February, or a year in the future."""
    y, m, d = ymd(birth)
    kind = rng.integers(0, 3, size=len(birth))
    texts = [
        (f"{a:04d}-{b % 10}{b // 10}-{c:02d}" if b % 10 > 1 else f"{a:04d}-{b + 12:02d}-{c:02d}",
         f"{a:04d}-02-30",
         f"{a + 100:04d}-{b:02d}-{c:02d}")[k]
        for a, b, c, k in zip(y.tolist(), m.tolist(), d.tolist(), kind.tolist(), strict=True)
    ]  # fmt: skip
    return np.asarray(texts, dtype=object)


def _fullwidth(id18: npt.NDArray[np.uint8]) -> ObjArray:
    """Full-width forms (U+FF10…, U+FF38) of ASCII ID characters."""
    points = np.ascontiguousarray(id18.astype(np.uint32) + 0xFEE0)
    return points.view("U18").ravel().astype(object)


def _slice(text: npt.NDArray[np.str_], start: int, stop: int) -> npt.NDArray[np.str_]:
    """Vectorised ``s[start:stop]`` over a fixed-width unicode array."""
    width = stop - start
    full = text.dtype.itemsize // 4
    chars = np.ascontiguousarray(text).view("U1").reshape(len(text), full)
    return chars[:, start:stop].copy().view(f"U{width}").ravel()


def corruption_labels(mask: IntArray) -> ObjArray:
    """``;``-joined corruption names per bit mask ("" when none)."""
    values, inverse = np.unique(mask, return_inverse=True)
    labels = [";".join(c for c in CORRUPTIONS if v & BIT[c]) for v in values.tolist()]
    return np.asarray(labels, dtype=object)[inverse]
