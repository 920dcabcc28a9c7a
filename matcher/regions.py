"""Province-level GB/T 2260 codes (DOMAIN.md §2.1)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAINLAND_PROVINCES",
    "PROVINCES",
]

PROVINCES: Final[dict[str, str]] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省",
    "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}  # fmt: skip

# Provinces that run their own immunization information system (mainland, 31).
MAINLAND_PROVINCES: Final[tuple[str, ...]] = tuple(
    c for c in PROVINCES if c not in {"71", "81", "82"}
)

# Address-code prefixes valid in 18-character resident numbers: provinces, plus 83 (Taiwan
# residents' residence permits) and 9x (new foreigner permanent-residence cards, DOMAIN.md §1.2).
RESIDENCE_PERMIT_PREFIXES: Final[frozenset[str]] = frozenset({"81", "82", "83"})


def province_name(code: str) -> str:
    """The province's name, or the code itself when unknown."""
    return PROVINCES.get(code, code)
