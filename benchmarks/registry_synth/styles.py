"""How each provincial system writes its export: formats, vocabularies, encoding (seeded per province)."""

from __future__ import annotations

from dataclasses import dataclass

from .rates import Rates
from .streams import stream

DATE_FORMATS = (
    "iso",
    "slash",
    "compact",
    "chinese",
    "dot",
)  # 2021-03-05 2021/3/5 20210305 2021年3月5日 2021.03.05


@dataclass(frozen=True, slots=True)
class ProvinceStyle:
    """One provincial system's export habits."""

    code: str
    date_format: int  # index into DATE_FORMATS
    birth_format: int
    id_type_style: str  # full | short | code
    sex_style: str  # cn | mf | num | cn_long
    vaccine_style: str  # maker | generic_maker | brand | mixed
    site_style: str  # name | code
    phone_style: str  # plain | spaced | plus86
    ref_prefix: str
    ref_digits: int
    encoding: str  # utf-8 | utf-8-sig | gbk
    chinese_headers: bool
    id_lax: bool  # the province that often records no ID


def build_styles(reporting: list[str], rates: Rates, seed: int) -> dict[str, ProvinceStyle]:
    """A style per reporting province; one is ID-lax, `rates.gbk_provinces` write GBK."""
    rng = stream(seed, "styles")
    k = len(reporting)
    order = [reporting[i] for i in rng.permutation(k)]
    gbk = set(order[: min(rates.gbk_provinces, k)])
    id_lax = order[-1] if k >= 2 else ""
    bom = order[1] if k >= 3 else ""
    styles: dict[str, ProvinceStyle] = {}
    for prov in reporting:
        date_format = int(rng.choice(5, p=[0.45, 0.2, 0.15, 0.1, 0.1]))
        birth = date_format if rng.random() < 0.7 else int(rng.integers(0, 5))
        styles[prov] = ProvinceStyle(
            code=prov,
            date_format=date_format,
            birth_format=birth,
            id_type_style=str(rng.choice(["full", "short", "code"], p=[0.5, 0.3, 0.2])),
            sex_style=str(rng.choice(["cn", "mf", "num", "cn_long"], p=[0.55, 0.15, 0.2, 0.1])),
            vaccine_style=str(
                rng.choice(["maker", "generic_maker", "brand", "mixed"], p=[0.35, 0.3, 0.15, 0.2])
            ),
            site_style=str(rng.choice(["name", "code"], p=[0.65, 0.35])),
            phone_style=str(rng.choice(["plain", "spaced", "plus86"], p=[0.8, 0.1, 0.1])),
            ref_prefix=str(rng.choice(["", prov, "YM", f"{prov}0000"])),
            ref_digits=int(rng.choice([10, 12, 14])),
            encoding="gbk" if prov in gbk else "utf-8-sig" if prov == bom else "utf-8",
            chinese_headers=prov in gbk,
            id_lax=prov == id_lax,
        )
    return styles
