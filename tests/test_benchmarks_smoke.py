"""Smoke test of the peer benchmarks: shared preprocessing, recordlinkage and Splink runners.

Runs on a tiny hand-made fixture (~200 persons over 3 provinces) so it does not depend on
``vaxlink synth``; asserts the frames have the right columns and the metrics are in [0, 1].
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.peers.common import StageClock
from benchmarks.peers.evaluate import contingency_metrics, evaluate_persons
from benchmarks.peers.preprocess import (
    RECORD_COLUMNS,
    clusters_to_persons,
    normalise_id,
    normalise_names,
    parse_birth_dates,
    preprocess,
    read_exports,
)
from matcher.columns import CANONICAL_COLUMNS
from matcher.resident_id import checksum_char

SURNAMES = ["张", "王", "李", "刘", "陈", "杨", "欧阳", "黄", "赵", "吴", "周", "徐"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]
TRADITIONAL = {"张": "張", "刘": "劉", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "伟": "偉"}
HOMOPHONE = {"伟": "玮", "静": "婧", "丽": "莉", "强": "蔷"}
PROVINCES = ["11", "31", "44"]
DATE_FORMATS = ["%Y-%m-%d", "{y}/{m}/{d}", "%Y%m%d", "{y}年{m}月{d}日", "%Y.%m.%d"]


def _fmt(date: pd.Timestamp, rng: random.Random) -> str:
    fmt = rng.choice(DATE_FORMATS)
    if "{" in fmt:
        return fmt.format(y=date.year, m=date.month, d=date.day)
    return date.strftime(fmt)


def make_fixture(out: Path, n_persons: int = 200, seed: int = 7) -> pd.DataFrame:
    """Write ``out/<code>.csv`` and ``out/truth.csv``; return the truth frame."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    truth: list[dict[str, str]] = []
    for pid in range(n_persons):
        birth = pd.Timestamp("1990-01-01") + pd.Timedelta(days=rng.randrange(12000))
        first17 = f"{rng.choice(PROVINCES)}0101{birth:%Y%m%d}{rng.randrange(1000):03d}"
        id18 = first17 + checksum_char(first17)
        sex = "男" if int(first17[16]) % 2 else "女"
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice([1, 2])))
        phone = "1" + "".join(rng.choices("0123456789", k=10))
        n_regs = rng.choice([1, 1, 2, 2, 3])
        for reg in range(n_regs):
            source = PROVINCES[(pid + reg) % len(PROVINCES)]
            ref = f"P{pid:05d}-{reg}"
            reg_id, reg_name, corruption = id18, name, ""
            roll = rng.random()
            if reg and roll < 0.15:
                reg_id, corruption = id18[:6] + id18[8:17], "id_15"
            elif reg and roll < 0.3:
                reg_id, corruption = "", "id_missing"
            elif reg and roll < 0.45:
                reg_name = "".join(TRADITIONAL.get(c, c) for c in name)
                corruption = "traditional"
            elif reg and roll < 0.55:
                reg_name = "".join(HOMOPHONE.get(c, c) for c in name)
                corruption = "homophone"
            if reg_id and rng.random() < 0.1:
                reg_id = " " + reg_id[:6] + " " + reg_id[6:].lower()
            truth.append(
                {
                    "source": source,
                    "person_ref": ref,
                    "true_person_id": f"T{pid}",
                    "corruptions": corruption,
                }
            )
            for dose in range(rng.choice([1, 2, 3])):
                rows.append(
                    {
                        "source": source,
                        "person_ref": ref,
                        "id_type": "居民身份证" if reg_id else "",
                        "id_number": reg_id if dose == 0 or rng.random() < 0.5 else "",
                        "name": reg_name,
                        "sex": sex if rng.random() < 0.9 else "",
                        "birth_date": _fmt(birth, rng),
                        "phone": phone if rng.random() < 0.7 else "",
                        "dose_date": _fmt(
                            pd.Timestamp("2021-03-01") + pd.Timedelta(days=30 * dose), rng
                        ),
                        "vaccine": "新冠病毒灭活疫苗(Vero细胞)",
                        "lot_number": f"L{rng.randrange(10**6):06d}",
                        "dose_seq": str(dose + 1),
                        "site": "社区卫生服务中心",
                    }
                )
    out.mkdir(parents=True, exist_ok=True)
    doses = pd.DataFrame(rows, columns=list(CANONICAL_COLUMNS))
    for code, part in doses.groupby("source"):
        part.to_csv(out / f"{code}.csv", index=False)
    truth_frame = pd.DataFrame(truth)
    truth_frame.to_csv(out / "truth.csv", index=False)
    return truth_frame


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("peers")
    make_fixture(out)
    return out


def test_normalisers_follow_peers_md() -> None:
    ids = normalise_id(pd.Series([" 110101 900101123 ", "11010119900101123x", None]))
    assert ids[0] is not pd.NA and len(ids[0]) == 18 and ids[0][6:8] == "19"
    assert ids[1] == "11010119900101123X" and pd.isna(ids[2])
    names = normalise_names(pd.Series(["張 偉", "欧阳娜娜", "买买提・艾力", "ZHANG Wei", None]))
    assert names["name_simplified"].tolist()[:3] == ["张伟", "欧阳娜娜", "买买提·艾力"]
    assert names["name_pinyin"].tolist()[:4] == [
        "zhangwei",
        "ouyangnana",
        "maimaitiaili",
        "zhangwei",
    ]
    assert names["surname"].tolist()[:2] == ["张", "欧阳"]
    dates = parse_birth_dates(
        pd.Series(
            ["2021-06-01", "2021/6/1", "20210601", "2021年6月1日", "2021.06.01", "2021-02-30"]
        )
    )
    assert dates.tolist()[:5] == ["2021-06-01"] * 5 and pd.isna(dates[5])


def test_contingency_metrics_known_values() -> None:
    # truth {a,b,c} {d}; prediction {a,b} {c,d}: 1 correct of 2 predicted, 1 of 3 true
    m = contingency_metrics(np.array([1, 1, 1, 2]), np.array([5, 5, 6, 6]))
    assert (m["correct_pairs"], m["predicted_pairs"], m["true_pairs"]) == (1, 2, 3)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(1 / 3)


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["recordlinkage", "splink"])
def test_peer_runner_on_tiny_fixture(fixture_dir: Path, tool: str) -> None:
    records = preprocess(read_exports(fixture_dir))
    assert tuple(records.columns) == RECORD_COLUMNS
    truth = pd.read_csv(fixture_dir / "truth.csv", dtype=str)
    assert len(records) == len(truth)
    if tool == "splink":
        from benchmarks.peers.splink_runner import link
    else:
        from benchmarks.peers.recordlinkage_runner import link
    result = link(records, StageClock())
    persons = clusters_to_persons(records, result.cluster)
    assert list(persons.columns) == ["source", "person_ref", "person_id"]
    assert len(persons) == len(records) and result.candidate_pairs > 0
    metrics = evaluate_persons(truth, persons)
    for key in ("precision", "recall", "f1"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["f1"] >= 0.5, metrics  # a sane configuration links most of this easy set


def test_report_table_and_child_measurement(tmp_path: Path) -> None:
    from benchmarks.run import add_ratios, format_table, run_child

    child = run_child(["python3", "-c", "x = bytearray(50_000_000)"], tmp_path / "c.log")
    assert child.returncode == 0 and child.peak_mb >= 50 and child.wall_s > 0
    rows = [
        {"tool": "vaxlink", "dataset": "d", "total_s": 1.0, "status": "ok", "stages": {"a": 0.5}},
        {"tool": "vaxlink-ids", "dataset": "d", "total_s": 0.5, "status": "ok"},
        {
            "tool": "splink",
            "dataset": "d",
            "total_s": 4.0,
            "status": "ok",
            "precision": 0.9,
            "recall": 0.8,
            "f1": 0.85,
            "candidate_pairs": 10,
            "peak_mb": 100.0,
        },
    ]
    add_ratios(rows)
    assert rows[2]["vaxlink_time_ratio"] == pytest.approx(0.25)  # the default run
    assert rows[2]["vaxlink_ids_time_ratio"] == pytest.approx(0.125)
    assert rows[2]["vaxlink_speedup"] == pytest.approx(4.0)
    header = format_table(rows).splitlines()[0].split("  ")
    assert [h.strip() for h in header if h.strip()] == [
        "tool",
        "dataset",
        "total s",
        "runs s",
        "peak MB",
        "cand. pairs",
        "precision",
        "recall",
        "F1",
        "vx/peer",
        "ids/peer",
        "stages (s)",
    ]
    splink_line = format_table(rows).splitlines()[-1].split()
    assert splink_line[:2] == ["splink", "d"] and splink_line[-2:] == ["0.25", "0.12"]


def test_fastest_run_keeps_every_time_and_the_largest_peak() -> None:
    from benchmarks.run import fastest_run

    runs = [
        {"tool": "t", "dataset": "d", "total_s": 9.0, "peak_mb": 100.0, "f1": 0.9, "status": "ok"},
        {"tool": "t", "dataset": "d", "total_s": 7.0, "peak_mb": 90.0, "f1": 0.9, "status": "ok"},
        {"tool": "t", "dataset": "d", "total_s": 1.0, "peak_mb": 10.0, "status": "failed (1)"},
    ]
    row = fastest_run(runs)
    assert row["total_s"] == 7.0 and row["runs_s"] == [9.0, 7.0, 1.0]
    assert row["peak_mb"] == 100.0 and "runs_f1" not in row
    runs[1]["f1"] = 0.8
    assert fastest_run(runs)["runs_f1"] == [0.9, 0.8]
    failed = [{"tool": "t", "dataset": "d", "total_s": 1.0, "status": "failed (1)"}]
    assert fastest_run(failed)["status"] == "failed (1)"


def test_synth_and_normalise_speed_smoke(tmp_path: Path) -> None:
    from benchmarks import normalise_speed, synth_speed

    synth = synth_speed.main(["--persons", "200", "--out", str(tmp_path)])
    assert synth["persons"] == 200 and synth["wall_s"] > 0
    figures = normalise_speed.main([str(tmp_path)])
    assert figures["dose_rows"] == synth["dose_rows"]
    assert figures["rejected_rows"] == 0
    assert figures["total_s"] >= figures["read_s"] > 0
