"""Write a Dataset: one CSV per reporting province, truth files and a manifest."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .build import COLUMNS, Dataset
from .rates import Rates

CHINESE_HEADERS = (
    "省份代码",
    "个案编号",
    "证件类型",
    "身份证号码",
    "姓名",
    "性别",
    "出生日期",
    "联系电话",
    "接种日期",
    "疫苗名称",
    "疫苗批号",
    "剂次",
    "接种单位",
)


def write_dataset(ds: Dataset, out: Path, rates: Rates, meta: dict[str, object]) -> list[Path]:
    """Write every file of `ds` under `out`; returns the province files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for prov, frame in ds.rows.groupby("source", sort=True):
        style = ds.styles[str(prov)]
        table = frame.loc[:, list(COLUMNS)]
        if style.chinese_headers:
            table.columns = list(CHINESE_HEADERS)
        path = out / f"{prov}.csv"
        table.to_csv(path, index=False, encoding=style.encoding, errors="replace")
        written.append(path)
    ds.truth.to_csv(out / "truth.csv", index=False, encoding="utf-8")
    ds.truth_doses.to_csv(out / "truth_doses.csv", index=False, encoding="utf-8")
    ds.unusable.to_csv(out / "truth_unusable_rows.csv", index=False, encoding="utf-8")
    manifest = {
        "generator": "benchmarks.registry_synth",
        **meta,
        "counts": ds.counts,
        "rates": asdict(rates),
        "styles": {p: asdict(s) for p, s in ds.styles.items()},
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return written
