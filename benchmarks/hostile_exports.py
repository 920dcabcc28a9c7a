"""The readers on hostile exports at scale: a 1M-row CSV with nasty cells, an XLSX zip bomb.

The CSV has 1,000,000 dose rows; every 1,000th row carries one hostile cell (NUL, RTL
marks, a 1 MB name, a 5,000-character reference, an ID number in the name field, Arabic-Indic
digits, an impossible date …; invalid bytes are the unit tests' job: one makes the whole file
undecodable, refused as a whole). It is read and normalised (``matcher.ingest.read_export`` +
``normalise_doses``) as the service would: time, peak memory, rows accepted and rejected, and
whether every reject names its row and field. The zip bomb (an XLSX whose sheet inflates
~1000×) must be refused before it is inflated.

Run: ``nice python -m benchmarks.hostile_exports --out benchmarks/results/hostile-exports.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.errors import InputFormatError
from matcher.ingest import read_export
from matcher.normalise import normalise_doses
from matcher.resident_id import checksum_char
from tests.reliability.test_readers import HEADER, _xlsx_bomb

HOSTILE = [
    ("name", "张\x00三"), ("name", "\u202e三张"), ("name", "测" * (1 << 20)),
    ("name", "110101199003078039"), ("dose_date", "2021-02-30"), ("dose_date", "13912345678"),
    ("person_ref", "R" * 5000), ("vaccine", "\u200f科兴\u200f"), ("phone", "١٣٩١٢٣٤٥٦٧٨"),
    ("birth_date", "0000-00-00"), ("source", "99"), ("id_number", "\ufeff" * 50),
]  # fmt: skip


def write_export(path: Path, rows: int, seed: int = 16) -> int:
    """The 1M-row CSV (UTF-8). Returns the number of hostile rows."""
    rng = np.random.default_rng(seed)
    n_persons = rows // 2
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20000, n_persons), "D")
    ids = []
    for i, b in enumerate(birth):
        first17 = f"110101{b:%Y%m%d}{i % 1000:03d}"
        ids.append(first17 + checksum_char(first17))
    person = rng.integers(0, n_persons, rows)
    frame = pd.DataFrame({
        "source": "11", "person_ref": [f"P{p}" for p in person], "id_type": "居民身份证",
        "id_number": [ids[p] for p in person], "name": [f"王{p % 977}" for p in person],
        "sex": "男", "birth_date": [birth[p].strftime("%Y-%m-%d") for p in person],
        "phone": "", "dose_date": "2021-06-01", "vaccine": "科兴",
    })  # fmt: skip
    hostile = 0
    for k, row in enumerate(range(999, rows, 1000)):
        column, value = HOSTILE[k % len(HOSTILE)]
        frame.at[row, column] = value
        hostile += 1
    frame.to_csv(path, index=False, header=HEADER.split(","))
    return hostile


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vaxlink-hostile-") as tmp:
        work = Path(tmp)
        path = work / "11.csv"
        hostile = write_export(path, args.rows)
        started = time.perf_counter()
        read = read_export(path)
        normalised = normalise_doses(read.frame, today=pd.Timestamp("2026-11-27"))
        seconds = time.perf_counter() - started
        rejects = pd.concat([read.rejects, normalised.rejects], ignore_index=True)
        out["csv"] = {
            "rows": args.rows, "hostile_rows": hostile, "megabytes": round(path.stat().st_size / 2**20, 1),
            "seconds": round(seconds, 2), "accepted": len(normalised.doses), "rejected": len(rejects),
            "rejects_by_field": rejects["field"].value_counts().to_dict(),
            "every_reject_names_row_and_field": bool(rejects["row"].notna().all()
                                                     and rejects["field"].notna().all()),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }  # fmt: skip
        print(f"csv: {out['csv']}", flush=True)
        bomb = work / "11.xlsx"
        _xlsx_bomb(bomb, rows=1_000_000, cells_per_row=20)
        started = time.perf_counter()
        try:
            read_export(bomb)
            refused = ""
        except InputFormatError as exc:
            refused = str(exc)
        out["xlsx_bomb"] = {"bytes": bomb.stat().st_size, "refused": bool(refused),
                            "message": refused, "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
        print(f"xlsx bomb: {out['xlsx_bomb']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return out


if __name__ == "__main__":
    main()
