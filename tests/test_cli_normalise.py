"""``vaxlink normalise`` end to end on a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from api.cli import main
from matcher.columns import (
    DOSE_DATE,
    FIELD,
    FILE,
    ID_STATUS,
    PERSON_REF,
    REASON,
    REJECT_COLUMNS,
    ROW,
)

ID = "11010519491231002X"


def write_exports(folder: Path) -> None:
    folder.mkdir()
    (folder / "11.csv").write_bytes(
        "\n".join(
            [
                "个案编号,姓名,身份证号码,性别,出生日期,联系电话,接种日期,疫苗名称,生产企业,剂次",
                f"P1,张三,{ID},女,1949-12-31,13812345678,2021-06-01,新冠疫苗(Vero细胞),北京生物,1",
                f"P1,张三,{ID},女,1949-12-31,13812345678,2021-02-30,新冠疫苗(Vero细胞),北京生物,2",
                "P2,李四,,男,,,2021-06-03,某某疫苗,,1",
                "P3,王五,,男,,,2021-06-04,,,1",
            ]
        ).encode("gbk")
        + b"\n"
    )
    (folder / "12.csv").write_text(
        "person_ref,name,dose_date,vaccine\nQ1,赵六,20210605,科兴\n", encoding="utf-8-sig"
    )
    (folder / "truth.csv").write_text("source,person_ref,true_person_id\n11,P1,1\n")


def test_normalise_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_exports(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["normalise", str(tmp_path / "in"), "--out", str(out), "--today", "2023-01-01"])
    assert code == 0
    doses = pd.read_parquet(out / "doses.parquet")
    assert doses[PERSON_REF].tolist() == ["P1", "P2", "P3", "Q1"]  # P3: no vaccine text, kept
    assert doses[DOSE_DATE].dtype == "datetime64[ns]"
    assert doses[ID_STATUS].iloc[0] == "valid"
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert list(rejects.columns) == list(REJECT_COLUMNS)
    assert rejects[[FILE, ROW, FIELD]].values.tolist() == [["11.csv", "3", "dose_date"]]
    assert ID not in " ".join(rejects[REASON])
    printed = capsys.readouterr().out
    assert "2 file(s)" in printed
    assert "total" in printed and "rejected by field: dose_date 1\n" in printed
    assert "unknown vaccine texts: 1 distinct in 1 row(s)" in printed
    assert "then link: vaxlink link" in printed
    assert ID not in printed and "13812345678" not in printed


def test_normalise_with_profile_and_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_exports(tmp_path / "in")
    profile = tmp_path / "p.toml"
    profile.write_text('source = "31"\n[values.vaccine]\n"某某疫苗" = "BBIBP"\n', encoding="utf-8")
    out = tmp_path / "out"
    args = ["normalise", str(tmp_path / "in"), "--out", str(out), "--profile", str(profile)]
    assert main([*args, "--pattern", "11*"]) == 0
    doses = pd.read_parquet(out / "doses.parquet")
    assert set(doses["source"]) == {"31"}
    assert doses["product_code"].tolist() == ["BBIBP", "BBIBP", None]
    assert "unknown vaccine texts: 0 distinct" in capsys.readouterr().out


def test_errors_are_reported_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "41.csv").write_text("个案编号,姓名,疫苗名称\nP1,张三,科兴\n", encoding="utf-8")
    assert main(["normalise", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "41.csv" in err and "'dose_date' is missing" in err
    bad_profile = tmp_path / "bad.toml"
    bad_profile.write_text('sorce = "41"\n')
    assert (
        main(
            ["normalise", str(folder), "--out", str(tmp_path / "o"), "--profile", str(bad_profile)]
        )
        == 2
    )
    assert "sorce: unknown key" in capsys.readouterr().err


def test_no_accepted_row_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "41.csv").write_text(
        "个案编号,姓名,接种日期,疫苗名称\nP1,张三,2099-01-01,科兴\n", encoding="utf-8"
    )
    assert (
        main(["normalise", str(folder), "--out", str(tmp_path / "out"), "--today", "2023-01-01"])
        == 1
    )
    assert (tmp_path / "out" / "rejects.csv").exists()
