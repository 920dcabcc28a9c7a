"""Hostile exports for the readers (matcher.ingest + normalise): random bytes, mixed encodings,
NUL, lone surrogates, RTL marks, 1 MB fields, XLSX zip bombs. A file is read or refused with a
VaxlinkError (→ 422); every rejected row names its row and field; nothing else escapes."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import InputFormatError, VaxlinkError
from matcher.ingest import read_export
from matcher.normalise import normalise_doses

HEADER = "source,person_ref,id_type,id_number,name,sex,birth_date,phone,dose_date,vaccine"
TODAY = pd.Timestamp("2026-11-27")
NASTY = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\u200f", "\u202e", "\ufeff", "\u0000张", "\r", '"', ",", "\n",
     "\u3000", "張三", "ＡＢＣ", "１２３", "\x85", "\u2028", "😀", "\U000e0001", "\\", ""]
)  # fmt: skip
CELL = st.lists(st.one_of(NASTY, st.text(max_size=8)), max_size=4).map("".join)
FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


def read_all(path: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Read and normalise an export; None when it is refused as a whole (a VaxlinkError)."""
    try:
        read = read_export(path)
        normalised = normalise_doses(read.frame, today=TODAY)
    except VaxlinkError as exc:
        assert str(exc), "a refusal must say why"
        return None
    rejects = pd.concat([read.rejects, normalised.rejects], ignore_index=True)
    assert rejects["row"].notna().all(), "every rejected row has its row number"
    assert rejects["field"].notna().all(), "every rejected row names the field"
    assert (rejects["reason"].astype(str).str.len() > 0).all()
    assert len(normalised.doses) + len(normalised.rejects) == len(read.frame)
    return normalised.doses, rejects


@FAST
@given(content=st.binary(max_size=2000))
def test_random_bytes_are_read_or_refused(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("bytes") / "11.csv"
    path.write_bytes(content)
    read_all(path)


@FAST
@given(content=st.binary(max_size=600))
def test_random_bytes_after_a_valid_header(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("tail") / "11.csv"
    path.write_bytes(HEADER.encode() + b"\n" + content)
    read_all(path)


@FAST
@given(rows=st.lists(st.lists(CELL, min_size=10, max_size=10), min_size=1, max_size=6),
       encodings=st.lists(st.sampled_from(["utf-8", "gbk", "gb18030", "utf-16"]), min_size=6,
                          max_size=6))  # fmt: skip
def test_nasty_cells_and_mixed_encodings(tmp_path_factory, rows, encodings):
    """NUL, lone surrogates, RTL marks, line separators in cells; each row in its own
    encoding (unencodable text written as surrogate escapes: invalid bytes)."""
    out = io.BytesIO()
    out.write(HEADER.encode() + b"\n")
    for row, encoding in zip(rows, encodings, strict=False):
        line = ",".join('"' + cell.replace('"', '""') + '"' for cell in row) + "\n"
        out.write(line.encode(encoding, errors="surrogateescape" if encoding == "utf-8" else "replace")
                  if encoding != "utf-8" else line.encode("utf-8", errors="surrogatepass"))  # fmt: skip
    path = tmp_path_factory.mktemp("nasty") / "11.csv"
    path.write_bytes(out.getvalue())
    read_all(path)


def _valid_row(**cells: str) -> dict[str, str]:
    row = {"source": "11", "person_ref": "R1", "id_type": "居民身份证",
           "id_number": "11010119900307803X", "name": "张三", "sex": "男",
           "birth_date": "1990-03-07", "phone": "13912345678", "dose_date": "2021-05-01",
           "vaccine": "科兴"}  # fmt: skip
    return {**row, **cells}


@pytest.mark.parametrize(
    "column", ["person_ref", "name", "id_number", "vaccine", "phone", "dose_date"]
)
def test_a_1_mb_field_is_read_or_rejected_with_its_row_and_field(tmp_path, column):
    rows = [_valid_row(person_ref="R0"), _valid_row(**{column: "测" * (1 << 19)}), _valid_row(person_ref="R2")]  # fmt: skip
    path = tmp_path / "11.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = read_all(path)
    assert result is not None, "one long cell must not refuse the whole file"
    doses, rejects = result
    assert set(doses["person_ref"]) >= {"R0", "R2"}


def _xlsx_bomb(path: Path, *, rows: int, cells_per_row: int) -> None:
    """A valid XLSX whose sheet XML inflates ~1000×: a header, then many rows of one repeated
    cell (written straight into the zip; openpyxl would take minutes)."""
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(","))
    template = io.BytesIO()
    book.save(template)
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, _, tail = data.decode().partition("</sheetData>")
                cell = '<c t="inlineStr"><is><t>0000000000</t></is></c>' * cells_per_row
                with dst.open(item.filename, "w", force_zip64=True) as out:
                    out.write(head.replace('<dimension ref="A1:J1"/>', "").encode())
                    block = "".join(f'<row r="{n}">{cell}</row>' for n in range(2, 1002)).encode()
                    for start in range(0, rows, 1000):
                        out.write(block if start + 1000 <= rows else block[: len(block) // 2])
                    out.write(b"</sheetData>" + tail.encode())
            else:
                dst.writestr(item, data)


def test_xlsx_zip_bomb_is_refused_quickly(tmp_path):
    path = tmp_path / "11.xlsx"
    _xlsx_bomb(path, rows=100_000, cells_per_row=20)  # ~100 MB of XML in well under 1 MB
    assert path.stat().st_size < 1 << 20
    started = time.perf_counter()
    with pytest.raises(InputFormatError, match="inflate"):
        read_export(path)
    assert time.perf_counter() - started < 5


def test_truncated_and_fake_xlsx_are_refused(tmp_path):
    path = tmp_path / "11.xlsx"
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(","))
    book.save(path)
    data = path.read_bytes()
    for content in (data[: len(data) // 2], b"PK\x03\x04" + b"\x00" * 100, b"not a zip"):
        path.write_bytes(content)
        with pytest.raises(InputFormatError):
            read_export(path)
