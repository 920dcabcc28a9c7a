"""COVID-19 vaccine product catalogue (DOMAIN.md §4) and mapping of provincial free text to it.

Mapping never guesses: a text that does not single out one product (a generic name without a
maker, or two makers at once) maps to NA and is flagged by the caller as unknown.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.columns import PRODUCT_CODE, VACCINE_KNOWN
from matcher.dictionary import distinct

__all__ = [
    "CATALOGUE",
    "TEXT_VARIANTS",
    "map_vaccine_text",
    "map_vaccines",
    "names_inactivated",
]

Platform = Literal["inactivated", "adenovirus", "recombinant", "mrna"]


@dataclass(frozen=True, slots=True)
class Product:
    """One vaccine product and its primary-series schedule.

    ``min_interval_days`` / ``max_interval_days`` are between consecutive primary doses
    (``max`` is the recommended catch-up window, not a validity limit: late doses are caught up,
    the series is never restarted). ``series_max_days`` bounds the whole primary series
    (ZF2001: dose 3 within 6 months of dose 1).
    """

    code: str
    name_zh: str
    name_en: str
    manufacturer_zh: str
    manufacturer_en: str
    platform: Platform
    primary_doses: int  # 0 for booster-only products
    min_interval_days: int
    max_interval_days: int | None
    booster_only: bool
    series_max_days: int | None = None
    verified: bool = True  # False where DOMAIN.md marks the schedule [U]


_INACTIVATED_ZH: Final = "新型冠状病毒灭活疫苗（Vero细胞）"

CATALOGUE: Final[dict[str, Product]] = {
    p.code: p
    for p in (
        Product("BBIBP", _INACTIVATED_ZH, "BBIBP-CorV (Sinopharm Beijing)", "北京生物制品研究所有限责任公司",
                "Beijing Institute of Biological Products (Sinopharm/CNBG)", "inactivated", 2, 21, 56, False),
        Product("WIBP", _INACTIVATED_ZH, "WIBP-CorV (Sinopharm Wuhan)", "武汉生物制品研究所有限责任公司",
                "Wuhan Institute of Biological Products (Sinopharm/CNBG)", "inactivated", 2, 21, 56, False),
        Product("CORONAVAC", _INACTIVATED_ZH, "CoronaVac", "北京科兴中维生物技术有限公司",
                "Sinovac Life Sciences", "inactivated", 2, 21, 56, False),
        Product("KCONVAC", _INACTIVATED_ZH, "KCONVAC", "深圳康泰生物制品股份有限公司（北京民海生物科技有限公司）",
                "Shenzhen Kangtai Biological Products / Beijing Minhai Biotechnology", "inactivated", 2, 28, 56, False),
        # IMBCAMS schedule is [U] in DOMAIN.md: assumed like the other inactivated products.
        Product("IMBCAMS", _INACTIVATED_ZH, "IMBCAMS inactivated COVID-19 vaccine", "中国医学科学院医学生物学研究所",
                "Institute of Medical Biology, Chinese Academy of Medical Sciences", "inactivated", 2, 21, 56, False,
                verified=False),
        Product("AD5", "重组新型冠状病毒疫苗（5型腺病毒载体）", "Ad5-nCoV (Convidecia)", "康希诺生物股份公司",
                "CanSino Biologics", "adenovirus", 1, 0, None, False),
        Product("AD5_INH", "吸入用重组新型冠状病毒疫苗（5型腺病毒载体）", "Ad5-nCoV inhaled (Convidecia Air)",
                "康希诺生物股份公司", "CanSino Biologics", "adenovirus", 0, 0, None, True),
        Product("ZF2001", "重组新型冠状病毒蛋白疫苗（CHO细胞）", "ZF2001 (Zifivax)", "安徽智飞龙科马生物制药有限公司",
                "Anhui Zhifei Longcom Biopharmaceutical", "recombinant", 3, 28, 56, False, series_max_days=183),
        # Late-2022 booster-only products; approval dates are [U] in DOMAIN.md.
        Product("SCTV01E", "重组新型冠状病毒三聚体蛋白疫苗（四价，SCTV01E）", "SCTV01E", "神州细胞工程有限公司",
                "Sinocelltech", "recombinant", 0, 0, None, True, verified=False),
        Product("WSK_SF9", "重组新型冠状病毒蛋白疫苗（Sf9细胞）", "Recombinant COVID-19 vaccine (Sf9 cells), WestVac",
                "成都威斯克生物医药有限公司", "WestVac Biopharma", "recombinant", 0, 0, None, True, verified=False),
        Product("SYS6006", "新型冠状病毒mRNA疫苗（SYS6006）", "SYS6006 mRNA vaccine", "石药集团巨石生物制药有限公司",
                "CSPC Pharmaceutical Group", "mrna", 0, 0, None, True, verified=False),
        Product("LYB_V01", "重组新型冠状病毒融合蛋白疫苗（V-01）", "V-01 recombinant fusion protein vaccine",
                "珠海丽珠生物技术有限公司", "Livzon Bio", "recombinant", 0, 0, None, True, verified=False),
    )
}  # fmt: skip

# Free-text names seen in provincial exports, per product. Each variant names its product
# unambiguously (a maker, a brand, an English name, or a generic name unique to one product).
TEXT_VARIANTS: Final[dict[str, tuple[str, ...]]] = {
    "BBIBP": (
        "新型冠状病毒灭活疫苗（Vero细胞）北京生物", "新型冠状病毒灭活疫苗(Vero细胞)(北京生物)",
        "新冠病毒灭活疫苗（国药北京）", "国药北京", "国药中生北京", "中生北京", "中国生物北京", "北京生物",
        "北京所", "北京生物制品研究所", "北京生物制品研究所有限责任公司", "众爱可维", "BBIBP-CorV", "BBIBP",
        "BIBP", "Sinopharm Beijing", "Sinopharm (Beijing)", "Covilo", "新冠疫苗（北京生物）",
    ),
    "WIBP": (
        "新型冠状病毒灭活疫苗（Vero细胞）武汉生物", "新冠病毒灭活疫苗（国药武汉）", "国药武汉", "国药中生武汉", "众康可维",
        "中生武汉", "中国生物武汉", "武汉生物", "武汉所", "武汉生物制品研究所", "武汉生物制品研究所有限责任公司",
        "WIBP", "WIBP-CorV", "Sinopharm Wuhan", "Sinopharm (Wuhan)", "新冠疫苗（武汉生物）",
    ),
    "CORONAVAC": (
        "新型冠状病毒灭活疫苗（Vero细胞）科兴", "新冠病毒灭活疫苗（北京科兴）", "科兴", "北京科兴", "科兴中维",
        "北京科兴中维", "北京科兴中维生物技术有限公司", "克尔来福", "科兴生物", "Sinovac", "CoronaVac",
        "Sinovac CoronaVac", "新冠疫苗（科兴）",
    ),
    "KCONVAC": (
        "新型冠状病毒灭活疫苗（Vero细胞）康泰", "新冠病毒灭活疫苗（深圳康泰）", "康泰", "深圳康泰", "康泰生物",
        "深圳康泰生物制品股份有限公司", "可维克", "民海", "北京民海", "北京民海生物科技有限公司", "KCONVAC", "Kangtai",
        "Shenzhen Kangtai", "Minhai",
    ),
    "IMBCAMS": (
        "新型冠状病毒灭活疫苗（Vero细胞）医科院", "医科院", "医科院生物所", "中国医学科学院",
        "中国医学科学院医学生物学研究所", "医学生物学研究所", "昆明所", "IMBCAMS", "IMB CAMS",
        "Institute of Medical Biology",
    ),
    "AD5": (
        "重组新型冠状病毒疫苗（5型腺病毒载体）", "重组新型冠状病毒疫苗(5型腺病毒载体)康希诺", "新冠疫苗（腺病毒载体）",
        "腺病毒载体疫苗", "康希诺", "康希诺生物", "康希诺生物股份公司", "克威莎", "CanSino", "CanSinoBIO",
        "Convidecia", "Ad5-nCoV", "Ad5 nCoV",
    ),
    "AD5_INH": (
        "吸入用重组新型冠状病毒疫苗（5型腺病毒载体）", "吸入用新冠疫苗（康希诺）", "康希诺吸入", "吸入式克威莎",
        "克威莎雾优", "Convidecia Air", "Inhaled Ad5-nCoV", "Ad5-nCoV inhaled", "CanSino inhaled",
    ),
    "ZF2001": (
        "重组新型冠状病毒蛋白疫苗（CHO细胞）", "重组新型冠状病毒蛋白疫苗(CHO细胞)智飞", "重组新型冠状病毒疫苗（CHO细胞）",
        "智飞", "智飞龙科马",
        "安徽智飞", "安徽智飞龙科马", "安徽智飞龙科马生物制药有限公司", "龙科马", "智克威得", "ZF2001",
        "Zifivax", "Zhifei", "Zhifei Longcom",
    ),
    "SCTV01E": (
        "神州细胞", "神州细胞工程有限公司", "安诺能4", "SCTV01E", "Sinocelltech", "4价S三聚体", "四价S三聚体",
    ),
    "WSK_SF9": (
        "重组新型冠状病毒蛋白疫苗（Sf9细胞）", "威斯克", "成都威斯克", "成都威斯克生物医药有限公司", "威克欣",
        "WestVac",
    ),
    "SYS6006": (
        "新型冠状病毒mRNA疫苗（SYS6006）", "石药", "石药集团", "石药集团巨石生物制药有限公司", "巨石生物", "度恩泰",
        "SYS6006", "CSPC",
    ),
    "LYB_V01": ("重组新型冠状病毒融合蛋白疫苗", "丽珠", "珠海丽珠", "丽康V-01", "Livzon", "V-01"),
}  # fmt: skip

# Markers that turn a CanSino Ad5 text into the inhaled product.
_INHALED_MARKERS: Final = ("吸入", "雾化", "雾优", "inhal", "aerosol", "air")
# Markers of a platform; a text naming one platform and another platform's product is a conflict.
_PLATFORM_MARKERS: Final[dict[str, Platform]] = {
    "灭活": "inactivated",
    "inactivated": "inactivated",
    "腺病毒": "adenovirus",
    "adenovirus": "adenovirus",
    "mrna": "mrna",
    "蛋白": "recombinant",
    "protein": "recombinant",
}
# Normalised texts too short or generic to be searched for inside longer texts; they are
# recognised only as the whole text. ("air" alone is an inhalation marker, not a product.)
_EXACT_ONLY: Final = frozenset({"v01", "cspc", "bibp", "wibp", "民海"})

_STRIP = re.compile(r"[\s\W_]+", flags=re.UNICODE)


def normalise_vaccine_text(text: str) -> str:
    """NFKC, casefold, whitespace and punctuation removed: ``"（Vero细胞）"`` → ``"vero细胞"``."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text).casefold())


def _build_keys() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    exact: dict[str, str] = {}
    for code, variants in TEXT_VARIANTS.items():
        for variant in (*variants, code):
            key = normalise_vaccine_text(variant)
            if exact.setdefault(key, code) != code:
                raise ValueError(f"vaccine text {variant!r} listed for two products")
    # Substring keys: brand and maker names (not generic names carrying a platform marker only).
    substring = tuple(
        sorted(
            ((k, c) for k, c in exact.items() if k not in _EXACT_ONLY and len(k) >= 2),
            key=lambda kc: -len(kc[0]),
        )
    )
    return exact, substring


_EXACT, _SUBSTRING = _build_keys()


def map_vaccine_text(text: str | None) -> str | None:
    """Catalogue code named by one free text, or None when unknown or ambiguous."""
    if text is None or not isinstance(text, str):
        return None
    norm = normalise_vaccine_text(text)
    if not norm:
        return None
    code = _EXACT.get(norm)
    if code is None:
        codes = {c for k, c in _SUBSTRING if k in norm}
        inhaled = any(m in norm for m in _INHALED_MARKERS)
        if codes == {"AD5", "AD5_INH"}:
            codes = {"AD5_INH"}
        if codes == {"AD5"} and inhaled:
            codes = {"AD5_INH"}
        if len(codes) != 1:
            return None
        (code,) = codes
    platforms = {p for m, p in _PLATFORM_MARKERS.items() if m in norm}
    if platforms and platforms != {CATALOGUE[code].platform}:
        return None  # e.g. "灭活疫苗（康希诺）": contradictory, never guessed
    return code


_INACTIVATED_MARKERS: Final = ("灭活", "inactivated", "vero")


def names_inactivated(texts: pd.Series) -> npt.NDArray[np.bool_]:
    """True where a vaccine text names the inactivated platform ("新冠病毒灭活疫苗（Vero细胞）"),
    whether or not it names a product (worked out once per distinct text)."""
    codes, uniques = distinct(texts)
    named = [
        isinstance(u, str) and any(m in normalise_vaccine_text(u) for m in _INACTIVATED_MARKERS)
        for u in uniques
    ]
    return np.array([*named, False], dtype=bool)[codes]


def map_vaccines(texts: pd.Series) -> pd.DataFrame:
    """Map free-text vaccine names to catalogue codes, index-aligned with ``texts``.

    Returns:
        ``PRODUCT_CODE`` (string dtype, NA when unknown or ambiguous) and ``VACCINE_KNOWN`` (bool).
    """
    text_codes, uniques = distinct(texts)
    mapped = pd.array([map_vaccine_text(u) for u in uniques] + [None], dtype="string")
    codes = pd.Series(mapped.take(text_codes), index=texts.index)  # code -1: the last, NA
    known = ~np.asarray(mapped.isna(), dtype=bool).take(text_codes)
    return pd.DataFrame({PRODUCT_CODE: codes, VACCINE_KNOWN: known}, index=texts.index, copy=False)
