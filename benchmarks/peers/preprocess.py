"""Shared preprocessing for the peer tools, exactly as ../shared/PEERS.md describes it.

Self-contained on purpose: the peers get what a competent user would build with pandas,
pypinyin and opencc, and none of vaxlink's domain rules (no checksum validation, no
ID-implied birth date or sex, no twin rule). Only the 15→18 upgrade is shared.

Input: canonical dose rows (one row per dose, all strings). Output: one row per registration
(``source``, ``person_ref``) with the columns of :data:`RECORD_COLUMNS`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from matcher.columns import (
    BIRTH_DATE,
    ID_KEY,
    ID_NUMBER,
    ID_TYPE,
    NAME,
    NAME_PINYIN,
    NAME_SIMPLIFIED,
    PERSON_REF,
    PHONE,
    RECORD_ID,
    SEX,
    SOURCE,
    SURNAME,
)
from matcher.resident_id import upgrade_15_to_18

BIRTH_YEAR: Final = "birth_year"
IDENTITY_FIELDS: Final[tuple[str, ...]] = (ID_TYPE, ID_NUMBER, NAME, SEX, BIRTH_DATE, PHONE)
RECORD_COLUMNS: Final[tuple[str, ...]] = (
    RECORD_ID,
    SOURCE,
    PERSON_REF,
    ID_KEY,
    NAME_SIMPLIFIED,
    NAME_PINYIN,
    SURNAME,
    BIRTH_DATE,
    BIRTH_YEAR,
    SEX,
    PHONE,
)

# DOMAIN.md §3: compound surnames, and middle-dot look-alikes to map to U+00B7 after NFKC.
COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 令狐 司徒 夏侯 长孙 宇文 轩辕 端木 澹台 "
    "万俟 单于 呼延 独孤 南宫 申屠 闻人 赫连 钟离 拓跋".split()
)
DOT_VARIANTS: Final[str] = (
    "\u30fb\uff65\u2022\u2027\u0387\uff0e\u002e\u2024\u3002\u2219\u22c5\u2e31\ua78f"
)
_DOT_RE: Final = "[" + re.escape(DOT_VARIANTS) + "]"
_NOT_HANZI_RE: Final = "[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+"
_DATE_SEP_RE: Final = r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"
_DATE_COMPACT_RE: Final = r"^(\d{4})(\d{2})(\d{2})$"
# The usual Chinese headers of provincial exports (issue 2), renamed as any user would.
HEADER_ALIASES: Final[dict[str, str]] = {
    "省份代码": SOURCE,
    "个案编号": PERSON_REF,
    "证件类型": ID_TYPE,
    "身份证号码": ID_NUMBER,
    "证件号码": ID_NUMBER,
    "姓名": NAME,
    "性别": SEX,
    "出生日期": BIRTH_DATE,
    "联系电话": PHONE,
    "接种日期": "dose_date",
    "疫苗名称": "vaccine",
    "疫苗批号": "lot_number",
    "剂次": "dose_seq",
    "接种单位": "site",
}
_SEX_MAP: Final[dict[str, str]] = {
    "M": "M",
    "MALE": "M",
    "男": "M",
    "1": "M",
    "F": "F",
    "FEMALE": "F",
    "女": "F",
    "2": "F",
}


# --- reading ----------------------------------------------------------------------------------
def read_exports(data_dir: str | Path) -> pd.DataFrame:
    """All provincial exports ``DIR/<code>.csv`` (not the truth files) as one string frame.

    UTF-8 (with or without BOM), else GB18030; Chinese headers renamed via HEADER_ALIASES.
    """
    paths = sorted(p for p in Path(data_dir).glob("*.csv") if not p.name.startswith(("truth", ".")))
    if not paths:
        raise FileNotFoundError(f"no provincial exports (*.csv) in {data_dir}")
    frames = [_read_csv(p) for p in paths]
    return pd.concat(frames, ignore_index=True)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except UnicodeDecodeError:
        frame = pd.read_csv(path, dtype=str, encoding="gb18030", keep_default_na=False)
    return frame.rename(columns=lambda c: HEADER_ALIASES.get(c.strip(), c.strip()))


# --- the steps ----------------------------------------------------------------------------------
def _blank_to_na(values: pd.Series) -> pd.Series:
    stripped = values.astype("string").str.strip()
    return stripped.mask(stripped == "")


def collapse_registrations(doses: pd.DataFrame) -> pd.DataFrame:
    """One row per (source, person_ref): the first non-empty value of each identity field."""
    present = [c for c in IDENTITY_FIELDS if c in doses.columns]
    frame = doses[[SOURCE, PERSON_REF, *present]].copy()
    frame[SOURCE] = frame[SOURCE].astype("string").str.strip()
    frame[PERSON_REF] = frame[PERSON_REF].astype("string").str.strip()
    for col in present:
        frame[col] = _blank_to_na(frame[col])
    collapsed = frame.groupby([SOURCE, PERSON_REF], sort=True, dropna=False).first()
    for col in IDENTITY_FIELDS:
        if col not in collapsed.columns:
            collapsed[col] = pd.NA
    return collapsed.reset_index()


def normalise_id(values: pd.Series) -> pd.Series:
    """NFKC, whitespace removed, upper-case; 15-digit numbers upgraded to 18."""
    ids = values.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    ids = ids.str.upper()
    ids = ids.mask(ids == "")
    legacy = ids.str.fullmatch(r"\d{15}").fillna(False).to_numpy(dtype=bool)
    if legacy.any():
        upgraded = [upgrade_15_to_18(str(v)) for v in ids[legacy].tolist()]
        ids = ids.mask(
            pd.Series(legacy, index=ids.index), pd.Series(upgraded, index=ids.index[legacy])
        )
    return ids


def _pinyin_of(names: Iterable[str]) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return ["".join(lazy_pinyin(n, style=Style.NORMAL)) for n in names]


def normalise_names(values: pd.Series) -> pd.DataFrame:
    """Simplified name key, toneless pinyin without separators, and surname.

    NFKC, spaces removed, dot variants → U+00B7 and opencc t2s run once per distinct name.
    """
    import opencc

    norm = values.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    norm = norm.str.replace(_DOT_RE, "\u00b7", regex=True)
    norm = norm.mask(norm == "")
    codes, uniques = pd.factorize(norm, use_na_sentinel=True)
    unique_names = [str(u) for u in uniques]
    converter = opencc.OpenCC("t2s")
    simplified = pd.Series([converter.convert(n) for n in unique_names], dtype="string")
    pinyin = pd.Series(_pinyin_of(simplified.tolist()), dtype="string")
    pinyin = pinyin.str.lower().str.replace(r"[^a-z]+", "", regex=True)
    pinyin = pinyin.mask(pinyin == "")
    hanzi = simplified.str.replace(_NOT_HANZI_RE, "", regex=True)
    first_two = hanzi.str.slice(0, 2)
    surname = hanzi.str.slice(0, 1).where(~first_two.isin(COMPOUND_SURNAMES), first_two)
    surname = surname.mask(surname == "")

    def expand(per_unique: pd.Series) -> np.ndarray:
        arr = np.append(per_unique.astype(object).to_numpy(), np.array([None], dtype=object))
        return arr[np.where(codes < 0, len(per_unique), codes)]

    return pd.DataFrame(
        {
            NAME_SIMPLIFIED: expand(simplified),
            NAME_PINYIN: expand(pinyin),
            SURNAME: expand(surname),
        },
        index=values.index,
    )


def _on_unique(values: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a vectorised ``func`` once per distinct value and broadcast back."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = func(pd.Series(uniques, dtype="string")).astype(object).to_numpy()
    out = np.append(mapped, np.array([None], dtype=object))[np.where(codes < 0, len(mapped), codes)]
    return pd.Series(out, index=values.index, dtype="string")


def parse_birth_dates(values: pd.Series) -> pd.Series:
    """ISO ``YYYY-MM-DD`` from 2021-06-01, 2021/6/1, 20210601, 2021年6月1日, 2021.06.01."""
    return _on_unique(values, _parse_dates_unique)


def _parse_dates_unique(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    sep = text.str.extract(_DATE_SEP_RE)
    compact = text.str.extract(_DATE_COMPACT_RE)
    parts = sep.fillna(compact)
    iso = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2)
    valid = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce").notna()
    return iso.where(valid)


def normalise_sex(values: pd.Series) -> pd.Series:
    """M / F; anything else missing."""
    return _on_unique(values, _sex_unique)


def _sex_unique(values: pd.Series) -> pd.Series:
    key = values.astype("string").str.normalize("NFKC").str.strip().str.upper()
    return key.map(_SEX_MAP).astype("string")


def normalise_phones(values: pd.Series) -> pd.Series:
    """Digits only, kept when 11 digits starting with 1."""
    return _on_unique(values, _phones_unique)


def _phones_unique(values: pd.Series) -> pd.Series:
    digits = values.astype("string").str.normalize("NFKC").str.replace(r"\D+", "", regex=True)
    return digits.where(digits.str.fullmatch(r"1\d{10}").fillna(False))


def _to_object(values: pd.Series) -> pd.Series:
    """Object column with None for missing (what DuckDB and recordlinkage both read cleanly)."""
    out = values.astype(object)
    out[values.isna().to_numpy()] = None
    return out


def preprocess(doses: pd.DataFrame, timings: dict[str, float] | None = None) -> pd.DataFrame:
    """Dose rows → one normalised record per registration (columns :data:`RECORD_COLUMNS`).

    Args:
        doses: canonical dose rows, strings.
        timings: if given, filled with seconds per step (collapse, id, name, date, other).
    """
    clock = time.perf_counter
    t = clock()
    steps: dict[str, float] = {}
    reg = collapse_registrations(doses)
    steps["collapse"] = clock() - t
    t = clock()
    id_key = normalise_id(reg[ID_NUMBER])
    steps["id"] = clock() - t
    t = clock()
    names = normalise_names(reg[NAME])
    steps["name"] = clock() - t
    t = clock()
    birth = parse_birth_dates(reg[BIRTH_DATE])
    steps["birth_date"] = clock() - t
    t = clock()
    records = pd.DataFrame(
        {
            RECORD_ID: np.arange(len(reg), dtype=np.int64),
            SOURCE: _to_object(reg[SOURCE]),
            PERSON_REF: _to_object(reg[PERSON_REF]),
            ID_KEY: _to_object(id_key),
            NAME_SIMPLIFIED: names[NAME_SIMPLIFIED],
            NAME_PINYIN: names[NAME_PINYIN],
            SURNAME: names[SURNAME],
            BIRTH_DATE: _to_object(birth),
            BIRTH_YEAR: _to_object(birth.str.slice(0, 4)),
            SEX: _to_object(normalise_sex(reg[SEX])),
            PHONE: _to_object(normalise_phones(reg[PHONE])),
        }
    )
    steps["sex_phone"] = clock() - t
    if timings is not None:
        timings.update(steps)
    return records


def clusters_to_persons(records: pd.DataFrame, cluster_of_record: np.ndarray) -> pd.DataFrame:
    """``source, person_ref, person_id`` (the output contract of ``vaxlink link``)."""
    return pd.DataFrame(
        {
            SOURCE: records[SOURCE].to_numpy(),
            PERSON_REF: records[PERSON_REF].to_numpy(),
            "person_id": np.asarray(cluster_of_record, dtype=np.int64),
        }
    )
