"""Identity document numbers: GB 11643 resident IDs (MOD 11-2), legacy 15-digit, HMT permits, passports."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Strings = npt.NDArray[np.object_]
Ints = npt.NDArray[np.int64]

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.array(list("10X98765432"), dtype=object)


def _zpad(values: npt.NDArray[np.int64], width: int) -> Strings:
    """Zero-padded decimal text (empty input gives an empty array)."""
    return np.array([str(int(v)).zfill(width) for v in values], dtype=object)


def _digits17(body: Ints) -> npt.NDArray[np.int64]:
    """The 17 decimal digits of each body number, most significant first."""
    powers = 10 ** np.arange(16, -1, -1, dtype=np.int64)
    return (body[:, None] // powers[None, :]) % 10


def check_chars(body: Ints) -> Strings:
    """ISO 7064 MOD 11-2 check character of each 17-digit body."""
    s = (_digits17(body) * WEIGHTS).sum(axis=1) % 11
    return CHECK_CHARS[s]


def check_char_of(body17: str) -> str:
    """Check character of one 17-digit string (for per-value edits)."""
    s = sum(int(d) * int(w) for d, w in zip(body17, WEIGHTS, strict=True)) % 11
    return str(CHECK_CHARS[s])


def is_valid(id18: str) -> bool:
    """Whether an 18-character number has a correct check character."""
    if len(id18) != 18 or not id18[:17].isdigit():
        return False
    return check_char_of(id18[:17]) == id18[17]


def resident_ids(county: Ints, ymd: Ints, seq: Ints) -> Strings:
    """18-character numbers from address code, YYYYMMDD birth date and 3-digit sequence."""
    body = county * 10**11 + ymd * 10**3 + seq
    return body.astype(str).astype(object) + check_chars(body)


def legacy15(id18: Strings) -> Strings:
    """The first-generation 15-digit form: address + YYMMDD + sequence, no check character."""
    return np.array([s[:6] + s[8:17] for s in id18.tolist()], dtype=object)


def sequence_codes(sex_male: npt.NDArray[np.bool_], rng: np.random.Generator) -> Ints:
    """Random sequence codes 000-995 whose last digit has the sex parity (odd = male)."""
    base = rng.integers(0, 498, size=len(sex_male)) * 2
    return base + sex_male.astype(np.int64)


def hk_macao_permits(n: int, macao: npt.NDArray[np.bool_], rng: np.random.Generator) -> Strings:
    """回乡证 numbers: H/M + 8-digit lifelong number (renewal digits added at rendering)."""
    nums = rng.integers(0, 10**8, size=n)
    letters = np.where(macao, "M", "H").astype(object)
    return letters + _zpad(nums, 8)


def taiwan_permits(n: int, rng: np.random.Generator) -> Strings:
    """台胞证 8-digit lifelong numbers."""
    return _zpad(rng.integers(0, 10**8, size=n), 8)


def foreign_passports(n: int, rng: np.random.Generator) -> Strings:
    """ICAO-style passport numbers: letter(s) + digits, at most 9 characters."""
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"), dtype=object)
    l1 = rng.choice(letters, size=n)
    l2 = rng.choice(letters, size=n)
    d7 = _zpad(rng.integers(0, 10**7, size=n), 7)
    d8 = _zpad(rng.integers(0, 10**8, size=n), 8)
    kind = rng.integers(0, 3, size=n)
    return np.where(kind == 0, l1 + l2 + d7, np.where(kind == 1, l1 + d8, d8 + l1))


def pr_cards(
    nationality: Strings, birth_ymd: Ints, male: npt.NDArray[np.bool_], rng: np.random.Generator
) -> Strings:
    """Old-style foreigner permanent residence card: 3 letters + 12 digits."""
    n = len(nationality)
    region = _zpad(rng.integers(1100, 6600, size=n), 4)
    yymmdd = _zpad((birth_ymd % 1_000_000), 6)
    sex = np.where(male, "1", "2").astype(object)
    chk = rng.integers(0, 10, size=n).astype(str).astype(object)
    return nationality + region + yymmdd + sex + chk


def cn_passports(n: int, rng: np.random.Generator) -> Strings:
    """Chinese ordinary e-passport numbers (2017 form: E + letter + 7 digits)."""
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"), dtype=object)
    d7 = _zpad(rng.integers(0, 10**7, size=n), 7)
    return "E" + rng.choice(letters, size=n) + d7


def birth_certificates(n: int, rng: np.random.Generator) -> Strings:
    """出生医学证明 numbers: a letter + 9 digits."""
    letters = np.array(list("MNOPQRST"), dtype=object)
    d9 = _zpad(rng.integers(0, 10**9, size=n), 9)
    return rng.choice(letters, size=n) + d9
