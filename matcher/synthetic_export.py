"""Render synthetic registrations and doses as provincial exports, each in its province's style.

Each province has its own date format, sex codes, ID-type text and preferred vaccine texts
(drawn per seed). Also builds the ground-truth frames and writes everything as CSV.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from matcher.columns import (
    BIRTH_DATE,
    CANONICAL_COLUMNS,
    DOSE_DATE,
    DOSE_SEQ,
    ID_NUMBER,
    ID_TYPE,
    LOT_NUMBER,
    NAME,
    PERSON_REF,
    PHONE,
    SEX,
    SITE,
    SOURCE,
    VACCINE,
)
from matcher.synthetic_corrupt import Identities, corruption_labels
from matcher.synthetic_doses import PRODUCTS, Doses
from matcher.synthetic_people import ymd
from matcher.synthetic_tables import geography
from matcher.vaccines import TEXT_VARIANTS

__all__ = [
    "CHINESE_HEADERS",
    "TRUTH_COLUMNS",
    "TRUTH_DOSE_COLUMNS",
    "build_frames",
    "draw_styles",
    "write_csv",
]

IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]
StrArray = npt.NDArray[np.str_]

TRUE_PERSON_ID: Final = "true_person_id"
CORRUPTIONS_COLUMN: Final = "corruptions"
TRUTH_COLUMNS: Final = (SOURCE, PERSON_REF, TRUE_PERSON_ID, CORRUPTIONS_COLUMN)
TRUTH_DOSE_COLUMNS: Final = (
    TRUE_PERSON_ID, DOSE_DATE, "product_code", LOT_NUMBER, SITE, SOURCE, "dose_number", "kind",
)  # fmt: skip
# Headers of the legacy (GBK-encoded) exports: the usual Chinese export headers.
CHINESE_HEADERS: Final[dict[str, str]] = {
    SOURCE: "省份代码", PERSON_REF: "个案编号", ID_TYPE: "证件类型", ID_NUMBER: "身份证号码",
    NAME: "姓名", SEX: "性别", BIRTH_DATE: "出生日期", PHONE: "联系电话", DOSE_DATE: "接种日期",
    VACCINE: "疫苗名称", LOT_NUMBER: "疫苗批号", DOSE_SEQ: "剂次", SITE: "接种单位",
}  # fmt: skip
DATE_FORMATS: Final = ("iso", "slash", "compact", "chinese", "dotted")
_SEX_CODES: Final = (("女", "男"), ("F", "M"), ("2", "1"))
_ID_TYPES: Final = ("居民身份证", "身份证")
_PREFERRED_TEXT: Final = 0.85


@dataclass(frozen=True, slots=True)
class ProvinceStyle:
    """How each reporting province writes its export (arrays indexed by geography index)."""

    date_format: IntArray
    sex_codes: IntArray
    id_type: IntArray
    vaccine_text: IntArray  # (n_provinces, n_products): preferred variant index


def draw_styles(rng: np.random.Generator) -> ProvinceStyle:
    """A random style per province."""
    n = len(geography().codes)
    counts = np.asarray([len(TEXT_VARIANTS[p]) for p in PRODUCTS])
    return ProvinceStyle(
        date_format=rng.integers(0, len(DATE_FORMATS), size=n),
        sex_codes=rng.integers(0, len(_SEX_CODES), size=n),
        id_type=(rng.random(n) < 0.3).astype(np.int64),
        vaccine_text=(rng.random((n, len(PRODUCTS))) * counts).astype(np.int64),
    )


def format_days(days: IntArray, style: IntArray) -> ObjArray:
    """Dates as text, ``style`` per value indexing ``DATE_FORMATS``; one format call per unique."""
    values, inverse = np.unique(days * len(DATE_FORMATS) + style, return_inverse=True)
    d, s = values // len(DATE_FORMATS), values % len(DATE_FORMATS)
    y, m, dd = ymd(d)
    texts = [
        (
            f"{a:04d}-{b:02d}-{c:02d}",
            f"{a}/{b}/{c}",
            f"{a:04d}{b:02d}{c:02d}",
            f"{a}年{b}月{c}日",
            f"{a:04d}.{b:02d}.{c:02d}",
        )[k]
        for a, b, c, k in zip(y.tolist(), m.tolist(), dd.tolist(), s.tolist(), strict=True)
    ]
    return np.asarray(texts, dtype=object)[inverse]


def _person_refs(rng: np.random.Generator, province: IntArray) -> tuple[ObjArray, IntArray]:
    """Per registration: a reference unique in its province, and its rank there."""
    order = np.lexsort((rng.random(len(province)), province))
    sorted_prov = province[order]
    start = np.searchsorted(sorted_prov, sorted_prov, side="left")
    rank = np.empty(len(province), dtype=np.int64)
    rank[order] = np.arange(len(province)) - start + 1
    codes = geography().codes.astype(np.int64)[province]
    return (codes * 10**9 + rank).astype(str).astype(object), rank


def _vaccine_texts(rng: np.random.Generator, styles: ProvinceStyle, province: IntArray,
                   product: IntArray) -> ObjArray:  # fmt: skip
    flat = [t for p in PRODUCTS for t in TEXT_VARIANTS[p]]
    counts = np.asarray([len(TEXT_VARIANTS[p]) for p in PRODUCTS])
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    own = (rng.random(len(product)) * counts[product]).astype(np.int64)
    pick = np.where(
        rng.random(len(product)) < _PREFERRED_TEXT, styles.vaccine_text[province, product], own
    )
    return np.asarray(flat, dtype=object)[offsets[product] + pick]


# Product wording of a dose typed again from the paper certificate when it is not the
# product's own: the generic names a clinic uses (the product is then unknown).
GENERIC_VACCINE_TEXTS: Final = ("新冠疫苗", "新型冠状病毒疫苗", "新冠病毒疫苗", "COVID-19疫苗")


def build_frames(
    doses: Doses,
    ids: Identities,
    rng: np.random.Generator,
    styles: ProvinceStyle,
    *,
    mixed_date_formats: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(export rows, truth, truth_doses) frames; export rows sorted by source and person_ref.

    ``mixed_date_formats``: every date cell in a format of its own (else one per province).
    """
    geo = geography()
    reg_prov = doses.reg_province
    refs, rank = _person_refs(rng, reg_prov)
    source = geo.codes.astype(object)

    def date_styles(province: IntArray) -> IntArray:
        if mixed_date_formats:
            return rng.integers(0, len(DATE_FORMATS), size=len(province))
        return styles.date_format[province]

    birth = format_days(ids.birth, date_styles(reg_prov))
    birth[ids.birth_missing] = None
    typed = pd.notna(ids.birth_text)
    birth[typed] = ids.birth_text[typed]
    sex_text = np.asarray([[c[0] for c in _SEX_CODES], [c[1] for c in _SEX_CODES]], dtype=object)
    sex = sex_text[np.maximum(ids.male, 0), styles.sex_codes[reg_prov]]
    sex[ids.male < 0] = None
    id_type = np.asarray(_ID_TYPES, dtype=object)[styles.id_type[reg_prov]]
    id_type[pd.isna(ids.id_number)] = None

    reg, event = doses.row_reg, doses.row_event
    order = np.lexsort((doses.day[event], rank[reg], reg_prov[reg]))
    reg, event, hist = reg[order], event[order], doses.row_historical[order]
    retyped = doses.row_retyped[order]
    start = np.flatnonzero(np.r_[True, reg[1:] != reg[:-1]])
    seq = np.arange(len(reg)) - np.repeat(start, np.diff(np.r_[start, len(reg)])) + 1
    prov = reg_prov[reg]
    lot = doses.lot[event].astype(object)
    lot[hist & ~retyped & (rng.random(len(hist)) < 0.5)] = None
    site = doses.site[event].astype(object)
    site[hist & (rng.random(len(hist)) < 0.4)] = None
    rows = np.flatnonzero(retyped)
    lot[rows] = _retyped_lots(rng, doses.lot[event[rows]])
    day = doses.day[event].copy()
    shifted = rows[rng.random(len(rows)) < 0.3]
    day[shifted] += np.where(rng.random(len(shifted)) < 0.5, -1, 1)
    vaccine = _vaccine_texts(rng, styles, prov, doses.product[event])
    generic = rows[rng.random(len(rows)) < 0.4]
    texts = np.asarray(GENERIC_VACCINE_TEXTS, dtype=object)
    vaccine[generic] = texts[rng.integers(0, len(texts), size=len(generic))]
    export = pd.DataFrame(
        {
            SOURCE: source[prov],
            PERSON_REF: refs[reg],
            ID_TYPE: id_type[reg],
            ID_NUMBER: ids.id_number[reg],
            NAME: ids.name[reg],
            SEX: sex[reg],
            BIRTH_DATE: birth[reg],
            PHONE: ids.phone[reg],
            DOSE_DATE: format_days(day, date_styles(prov)),
            VACCINE: vaccine,
            LOT_NUMBER: lot,
            DOSE_SEQ: seq.astype(str).astype(object),
            SITE: site,
        },
        columns=list(CANONICAL_COLUMNS),
    )
    person_ids = np.char.add("P", np.char.zfill(doses.reg_person.astype(str), 8)).astype(object)
    reg_order = np.lexsort((rank, reg_prov))
    truth = pd.DataFrame(
        {
            SOURCE: source[reg_prov][reg_order],
            PERSON_REF: refs[reg_order],
            TRUE_PERSON_ID: person_ids[reg_order],
            CORRUPTIONS_COLUMN: corruption_labels(ids.corruptions)[reg_order],
        }
    )
    ev_ids = np.char.add("P", np.char.zfill(doses.person.astype(str), 8)).astype(object)
    truth_doses = pd.DataFrame(
        {
            TRUE_PERSON_ID: ev_ids,
            DOSE_DATE: format_days(doses.day, np.zeros(len(doses.day), dtype=np.int64)),
            "product_code": np.asarray(PRODUCTS, dtype=object)[doses.product],
            LOT_NUMBER: doses.lot.astype(object),
            SITE: doses.site.astype(object),
            SOURCE: source[doses.province],
            "dose_number": doses.number,
            "kind": np.where(doses.booster, "booster", "primary").astype(object),
        }
    )
    return export, truth, truth_doses


def _retyped_lots(rng: np.random.Generator, lots: StrArray) -> ObjArray:
    """Lot numbers typed again from a certificate: lower case, separators, the batch letter and
    number only, a wrong digit, or left empty."""
    kind = rng.integers(0, 5, size=len(lots))
    out = []
    for text, k, digit in zip(lots.tolist(), kind.tolist(), rng.integers(0, 10, size=len(lots)).tolist(), strict=True):  # fmt: skip
        if k == 0:
            out.append(text.lower())
        elif k == 1:
            out.append(f"{text[:6]}-{text[6:]}")
        elif k == 2:
            out.append(text[6:])
        elif k == 3:
            out.append(text[:-1] + str((int(text[-1]) + 1 + digit % 9) % 10))
        else:
            out.append(None)
    return np.asarray(out, dtype=object)


def write_csv(frame: pd.DataFrame, path: Path, *, legacy: bool = False) -> None:
    """Write ``frame`` as UTF-8 CSV; ``legacy``: GBK-encoded with Chinese headers."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if not legacy:
        pacsv.write_csv(table, path)
        return
    table = table.rename_columns([CHINESE_HEADERS.get(c, c) for c in table.column_names])
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    path.write_bytes(buffer.getvalue().decode("utf-8").encode("gbk"))
