"""Vaccine catalogue and free-text mapping (DOMAIN.md §4)."""

from __future__ import annotations

import pandas as pd
import pytest

from matcher.columns import PRODUCT_CODE, VACCINE_KNOWN
from matcher.vaccines import (
    CATALOGUE,
    TEXT_VARIANTS,
    map_vaccine_text,
    map_vaccines,
    names_inactivated,
    normalise_vaccine_text,
)

ALL_VARIANTS = [(code, text) for code, texts in TEXT_VARIANTS.items() for text in texts]


@pytest.mark.parametrize(("code", "text"), ALL_VARIANTS)
def test_every_variant_maps_to_its_own_product(code: str, text: str) -> None:
    assert map_vaccine_text(text) == code


def test_every_catalogue_product_has_text_variants() -> None:
    assert set(TEXT_VARIANTS) == set(CATALOGUE)
    assert all(len(v) >= 3 for v in TEXT_VARIANTS.values())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("新型冠状病毒灭活疫苗（Vero细胞）北京科兴中维生物技术有限公司", "CORONAVAC"),
        ("新冠病毒疫苗(Vero细胞),灭活/国药中生北京", "BBIBP"),
        ("ＢＢＩＢＰ－ＣｏｒＶ", "BBIBP"),  # full-width
        ("  科 兴 ", "CORONAVAC"),
        ("sinovac-coronavac", "CORONAVAC"),
        ("康希诺 克威莎", "AD5"),
        ("吸入用 克威莎", "AD5_INH"),
        ("康希诺（吸入）", "AD5_INH"),
        ("重组新型冠状病毒蛋白疫苗（CHO细胞）安徽智飞龙科马", "ZF2001"),
        ("新冠灭活疫苗（深圳康泰生物制品股份有限公司）", "KCONVAC"),
    ],
)
def test_combined_and_decorated_texts(text: str, code: str) -> None:
    assert map_vaccine_text(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "新冠灭活疫苗",  # generic: names no maker
        "新型冠状病毒灭活疫苗（Vero细胞）",  # shared by five products
        "新冠疫苗",
        "国药",  # Beijing or Wuhan
        "国药集团中国生物",
        "Sinopharm",
        "重组新型冠状病毒蛋白疫苗",  # ZF2001 or WestVac
        "科兴 北京生物",  # two makers
        "灭活疫苗（康希诺）",  # platform contradicts the maker
        "mRNA疫苗（智飞）",
        "流感疫苗",
        "???",
        "",
        "   ",
    ],
)
def test_ambiguous_or_unknown_text_is_never_guessed(text: str) -> None:
    assert map_vaccine_text(text) is None


def test_map_vaccines_is_index_aligned_and_flags_unknown() -> None:
    texts = pd.Series(
        ["科兴", None, "新冠灭活疫苗", "智飞", "科兴", float("nan")], index=[10, 11, 12, 13, 14, 15]
    )
    out = map_vaccines(texts)
    assert list(out.index) == list(texts.index)
    assert list(out.columns) == [PRODUCT_CODE, VACCINE_KNOWN]
    assert out[PRODUCT_CODE].tolist() == ["CORONAVAC", pd.NA, pd.NA, "ZF2001", "CORONAVAC", pd.NA]
    assert out[VACCINE_KNOWN].tolist() == [True, False, False, True, True, False]
    assert out[VACCINE_KNOWN].dtype == bool


def test_map_vaccines_empty() -> None:
    out = map_vaccines(pd.Series([], dtype=object))
    assert len(out) == 0


def test_normalisation() -> None:
    assert (
        normalise_vaccine_text("新型冠状病毒灭活疫苗（Vero细胞）") == "新型冠状病毒灭活疫苗vero细胞"
    )
    assert normalise_vaccine_text("Ad5-nCoV") == "ad5ncov"


@pytest.mark.parametrize(
    ("code", "doses", "min_days", "booster_only"),
    [
        ("BBIBP", 2, 21, False),
        ("WIBP", 2, 21, False),
        ("CORONAVAC", 2, 21, False),
        ("KCONVAC", 2, 28, False),
        ("IMBCAMS", 2, 21, False),
        ("AD5", 1, 0, False),
        ("AD5_INH", 0, 0, True),
        ("ZF2001", 3, 28, False),
        ("SCTV01E", 0, 0, True),
        ("WSK_SF9", 0, 0, True),
        ("SYS6006", 0, 0, True),
        ("LYB_V01", 0, 0, True),
    ],
)
def test_catalogue_schedules(code: str, doses: int, min_days: int, booster_only: bool) -> None:
    product = CATALOGUE[code]
    assert (product.primary_doses, product.min_interval_days, product.booster_only) == (
        doses,
        min_days,
        booster_only,
    )
    assert product.code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("众康可维", "WIBP"),
        ("可维克", "KCONVAC"),
        ("新型冠状病毒灭活疫苗（Vero细胞）-北京所", "BBIBP"),
        ("新型冠状病毒灭活疫苗(Vero细胞)-武汉所", "WIBP"),
        ("新型冠状病毒mRNA疫苗石药", "SYS6006"),
        ("重组新型冠状病毒疫苗(CHO细胞)", "ZF2001"),
        ("重组新型冠状病毒4价S三聚体蛋白疫苗(CHO细胞)", "SCTV01E"),
    ],
)
def test_brand_names_and_institutes_inside_texts(text: str, code: str) -> None:
    assert map_vaccine_text(text) == code


def test_texts_naming_the_inactivated_platform() -> None:
    texts = pd.Series(
        ["新冠病毒灭活疫苗(Vero细胞)", "新冠疫苗", None, "Sinovac inactivated", "克威莎"]
    )
    assert names_inactivated(texts).tolist() == [True, False, False, True, False]
