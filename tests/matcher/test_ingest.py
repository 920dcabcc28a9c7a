"""Readers: encodings, headers, XLSX, source rules, required values and rejects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from matcher import ingest
from matcher.columns import (
    BIRTH_DATE,
    CANONICAL_COLUMNS,
    DOSE_DATE,
    DOSE_SEQ,
    FIELD,
    FILE,
    ID_NUMBER,
    ID_TYPE,
    NAME,
    PERSON_REF,
    REASON,
    REJECT_COLUMNS,
    ROW,
    SEX,
    SITE,
    SOURCE,
    VACCINE,
)
from matcher.dictionary import as_object
from matcher.errors import EncodingDetectionError, InputFormatError, MissingColumnError
from matcher.ingest import detect_encoding, expand_inputs, read_export, read_exports
from matcher.profiles import parse_profile

HEADER = "个案编号,姓名,身份证号码,性别,出生日期,接种日期,疫苗名称,剂次"
ROWS = [
    "P1,张三,410102199001011234,男,1990-01-01,2021-06-01,新冠疫苗(Vero细胞),1",
    "P2,李四,,女,,2021/6/2,克尔来福,2",
    "P3,王五,000123456789012,男,,20210603,康希诺,1",
]


def write(path: Path, lines: list[str], encoding: str) -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_gbk_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = write(tmp_path / "41.csv", [HEADER, *ROWS], "gbk")
    assert detect_encoding(path) == "gb18030"
    result = read_export(path)
    frame = result.frame
    assert list(frame.columns) == [*CANONICAL_COLUMNS, FILE, ROW]
    assert frame[NAME].tolist() == ["张三", "李四", "王五"]
    assert as_object(frame[ID_NUMBER]).tolist() == ["410102199001011234", None, "000123456789012"]
    assert frame[SOURCE].tolist() == ["41", "41", "41"]
    assert frame[ROW].tolist() == [2, 3, 4]
    assert frame[FILE].unique().tolist() == ["41.csv"]
    assert frame[ID_TYPE].isna().all()  # absent optional column → None
    assert frame[DOSE_SEQ].tolist() == ["1", "2", "1"]  # text, never numbers
    assert result.rejects.empty
    assert list(result.rejects.columns) == list(REJECT_COLUMNS)


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "42.csv", [HEADER, *ROWS], "utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert detect_encoding(path) == "utf-8-sig"
    frame = read_export(path).frame
    assert frame[PERSON_REF].tolist() == ["P1", "P2", "P3"]  # the BOM is not part of the header


def test_utf8_without_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "42.csv", [HEADER, *ROWS], "utf-8")
    assert read_export(path).frame[VACCINE].iloc[1] == "克尔来福"


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # 䶮 (U+4DAE, two bytes in GB18030) and 𠀀 (U+20000, four bytes) are not in GBK.
    lines = [HEADER, "P1,刘䶮,,男,,2021-06-01,科兴,1", "P2,𠀀明,,女,,2021-06-02,科兴,1"]
    path = write(tmp_path / "44.csv", lines, "gb18030")
    with pytest.raises(UnicodeEncodeError):
        "刘䶮".encode("gbk")
    assert read_export(path).frame[NAME].tolist() == ["刘䶮", "𠀀明"]


def test_neither_utf8_nor_gb18030_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "45.csv"
    path.write_bytes(HEADER.encode("utf-8") + b"\nP1,\x80\xff\x00,x\n")
    with pytest.raises(EncodingDetectionError) as info:
        read_export(path)
    message = str(info.value)
    assert "45.csv" in message
    assert "offset" in message
    assert str(len(HEADER.encode("utf-8")) + 4) in message  # the first bad byte


def test_profile_encoding_wins_over_detection(tmp_path: Path) -> None:
    lines = ["person_ref,name,dose_date,vaccine", "P1,陳大文,2021-06-01,科興"]
    path = write(tmp_path / "81.csv", lines, "big5")
    profile = parse_profile('encoding = "big5"')
    assert read_export(path, profile=profile).frame[NAME].tolist() == ["陳大文"]


def test_xlsx(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(
        [
            "受种者编码",
            "受种者姓名",
            "证件号码",
            "性别",
            "出生日期",
            "接种时间",
            "疫苗",
            "针次",
            "省份",
        ]
    )
    sheet.append(
        [
            "A1",
            "张三",
            "410102199001011234",
            "男",
            datetime(1990, 1, 1),
            datetime(2021, 6, 1),
            "科兴",
            1,
            "河南省",
        ]
    )
    sheet.append([None] * 9)
    sheet.append([7, "李四", None, "女", None, "2021-02-30", "科兴", 2.0, "41"])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    frame = read_export(path).frame
    assert frame[PERSON_REF].tolist() == ["A1", "7"]
    assert as_object(frame[BIRTH_DATE]).tolist() == ["1990-01-01", None]
    assert frame[DOSE_DATE].tolist() == ["2021-06-01", "2021-02-30"]
    assert frame[DOSE_SEQ].tolist() == ["1", "2"]
    assert frame[SOURCE].tolist() == ["41", "41"]  # province name → code
    assert frame[ROW].tolist() == [2, 4]  # sheet row numbers; the empty row 3 is skipped


def test_xlsx_named_sheet_from_profile(tmp_path: Path) -> None:
    workbook = Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "说明"
    cover.append(["this sheet is a cover page"])
    data = workbook.create_sheet("接种明细")
    data.append([])
    data.append(["个案编号", "姓名", "接种日期", "疫苗名称"])
    data.append(["P1", "张三", "01/06/2021", "科兴"])
    path = tmp_path / "51_report.xlsx"
    workbook.save(path)
    profile = parse_profile('sheet = "接种明细"\ndate_format = "%d/%m/%Y"')
    frame = read_export(path, profile=profile).frame
    assert frame[DOSE_DATE].tolist() == ["2021-06-01"]
    assert frame[ROW].tolist() == [3]
    assert frame[SOURCE].tolist() == ["51"]
    with pytest.raises(InputFormatError, match="no sheet"):
        read_export(path, profile=parse_profile('sheet = "nope"'))


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "41.xlsx"
    path.write_text("not a zip")
    with pytest.raises(InputFormatError, match="41.xlsx"):
        read_export(path)


def test_missing_required_column_names_it(tmp_path: Path) -> None:
    header = HEADER.replace(",接种日期", "")
    rows = [",".join(r.split(",")[:5] + r.split(",")[6:]) for r in ROWS]
    path = write(tmp_path / "41.csv", [header, *rows], "gbk")
    with pytest.raises(MissingColumnError) as info:
        read_export(path)
    assert info.value.column == DOSE_DATE
    assert info.value.file == "41.csv"
    assert "dose_date" in str(info.value) and "41.csv" in str(info.value)


def test_source_needed_when_file_name_gives_none(tmp_path: Path) -> None:
    path = write(tmp_path / "henan.csv", [HEADER, *ROWS], "utf-8")
    with pytest.raises(MissingColumnError, match="'source'"):
        read_export(path)
    frame = read_export(path, profile=parse_profile('source = "41"')).frame
    assert set(frame[SOURCE]) == {"41"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("41.csv", "41"),
        ("41_henan.csv", "41"),
        ("41-2021.csv", "41"),
        ("410.csv", None),
        ("x41.csv", None),
    ],
)
def test_source_from_file_name(name: str, expected: str | None) -> None:
    assert ingest._source_from_name(Path(name)) == expected


def test_source_column_values_and_file_name_fallback(tmp_path: Path) -> None:
    lines = [
        HEADER + ",来源",
        ROWS[0] + ",河南",
        ROWS[1] + ",410000",
        ROWS[2] + ",",
    ]
    path = write(tmp_path / "42_hubei.csv", lines, "utf-8")
    assert read_export(path).frame[SOURCE].tolist() == ["41", "41", "42"]
    # An explicit profile source wins over the column.
    frame = read_export(path, profile=parse_profile('source = "11"')).frame
    assert frame[SOURCE].tolist() == ["11", "11", "11"]


def test_rows_missing_required_values_are_rejected_not_dropped(tmp_path: Path) -> None:
    lines = [
        HEADER,
        ROWS[0],
        "",  # a blank line: skipped and counted
        "P4,赵六,410102199001011234,男,,2021-06-04,,1",  # no vaccine: a dose of unknown product
        ",钱七,,女,,,科兴,1",  # no dose date: cannot be placed
        ",孙八,,女,,2021-06-05,科兴,1",  # no person_ref: a registration of its own
        ROWS[1],
    ]
    path = write(tmp_path / "41.csv", lines, "utf-8")
    result = read_export(path)
    assert result.frame[PERSON_REF].tolist() == ["P1", "P4", "~row:41.csv:6", "P2"]
    assert result.frame[ROW].tolist() == [2, 4, 6, 7]
    assert result.frame[VACCINE].isna().tolist() == [False, True, False, False]
    assert result.blank_rows == 1
    rejects = result.rejects
    assert rejects[ROW].tolist() == [5]
    assert rejects[FIELD].tolist() == [DOSE_DATE]
    assert rejects[REASON].tolist() == ["required value missing: dose_date"]
    assert rejects[FILE].tolist() == ["41.csv"]
    assert rejects[SOURCE].tolist() == ["41"]
    assert result.rows_read == 5
    assert not rejects[REASON].str.contains("410102199001011234|赵六|钱七").any()


def test_row_numbers_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 2)
    lines = [HEADER] + [f"P{i},张{i},,男,,2021-06-01,科兴,{'' if i == 4 else 1}" for i in range(7)]
    lines[5] = "P4,张4,,男,,,科兴,1"  # no dose date
    path = write(tmp_path / "41.csv", lines, "utf-8")
    result = read_export(path)
    assert result.frame[ROW].tolist() == [2, 3, 4, 5, 7, 8]
    assert result.rejects[ROW].tolist() == [6]
    assert result.frame.index.tolist() == list(range(6))


def test_header_aliases_are_case_and_space_insensitive(tmp_path: Path) -> None:
    header = "Person_Ref, NAME ,Id Number,ID-TYPE,Dose_Date,Vaccine,Source"
    path = write(
        tmp_path / "x.csv", [header, "p1,Zhang San,X1234567,passport,2021-06-01,Pfizer,31"], "utf-8"
    )
    frame = read_export(path).frame
    assert frame[[PERSON_REF, NAME, ID_NUMBER, ID_TYPE, SOURCE]].iloc[0].tolist() == [
        "p1", "Zhang San", "X1234567", "passport", "31"
    ]  # fmt: skip


def test_two_headers_for_one_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "41.csv", [HEADER + ",证件号码", ROWS[0] + ",x"], "utf-8")
    with pytest.raises(InputFormatError, match="both map to column 'id_number'"):
        read_export(path)


def test_blank_and_repeated_unmapped_headers_are_read(tmp_path: Path) -> None:
    # Headers the mapping ignores may be blank or repeated (pandas names them); rows still read.
    path = write(tmp_path / "41.csv", [HEADER + ",备注,备注,", ROWS[0] + ",a,b,c"], "utf-8")
    result = read_export(path)
    assert as_object(result.frame[NAME]).tolist() == ["张三"]
    assert as_object(result.frame[ID_NUMBER]).tolist() == ["410102199001011234"]


def test_manufacturer_is_combined_into_vaccine(tmp_path: Path) -> None:
    lines = [
        HEADER + ",生产企业",
        ROWS[0] + ",北京生物",
        ROWS[1] + ",",
        "P5,孙八,,男,,2021-06-05,科兴新冠疫苗,1,科兴",
    ]
    path = write(tmp_path / "41.csv", lines, "utf-8")
    assert read_export(path).frame[VACCINE].tolist() == [
        "新冠疫苗(Vero细胞) 北京生物",
        "克尔来福",
        "科兴新冠疫苗",  # already names its maker
    ]


def test_profile_columns_and_value_maps(tmp_path: Path) -> None:
    profile = parse_profile(
        """
source = "41"
[columns]
person_ref = "受种者ID"
name = "受种者"
sex = "性别代码"
id_type = "证件类别"
dose_date = "日期"
vaccine = "疫苗代码"
[values.sex]
"1" = "M"
"2" = "F"
[values.id_type]
"01" = "居民身份证"
[values.vaccine]
"5601" = "BBIBP"
"""
    )
    lines = [
        "受种者ID,受种者,性别代码,证件类别,日期,疫苗代码,姓名",
        "a,张三,1,01,2021-06-01,5601,ignored",
        "b,李四,9,02,2021-06-01,9999,x",
    ]
    path = write(tmp_path / "vendor.csv", lines, "gbk")
    frame = read_export(path, profile=profile).frame
    assert frame[NAME].tolist() == ["张三", "李四"]  # the 姓名 alias is switched off
    assert frame[SEX].tolist() == ["M", "9"]  # unlisted values pass unchanged
    assert frame[ID_TYPE].tolist() == ["居民身份证", "02"]
    assert frame[VACCINE].tolist() == ["BBIBP", "9999"]


def test_profile_header_absent_from_file(tmp_path: Path) -> None:
    path = write(tmp_path / "41.csv", [HEADER, *ROWS], "utf-8")
    with pytest.raises(MissingColumnError, match="批次"):
        read_export(path, profile=parse_profile('[columns]\nlot_number = "批次"'))


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "41.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputFormatError, match="empty"):
        read_export(empty)
    header_only = write(tmp_path / "42.csv", [HEADER], "utf-8")
    result = read_export(header_only)
    assert result.frame.empty and result.rejects.empty
    assert list(result.frame.columns) == [*CANONICAL_COLUMNS, FILE, ROW]


def test_semicolon_delimiter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "41.csv", [HEADER.replace(",", ";"), ROWS[0].replace(",", ";")], "utf-8"
    )
    assert read_export(path).frame[NAME].tolist() == ["张三"]


def test_folders_skip_truth_files_and_sort(tmp_path: Path) -> None:
    write(tmp_path / "42.csv", [HEADER, ROWS[1]], "utf-8")
    write(tmp_path / "41.csv", [HEADER, ROWS[0]], "gbk")
    write(tmp_path / "truth.csv", ["source,person_ref,true_person_id", "41,P1,1"], "utf-8")
    (tmp_path / "notes.txt").write_text("not an export")
    assert [p.name for p in expand_inputs([tmp_path])] == ["41.csv", "42.csv"]
    assert [p.name for p in expand_inputs([tmp_path], patterns=["42*"])] == ["42.csv"]
    result = read_exports([tmp_path])
    assert result.files == ("41.csv", "42.csv")
    assert result.frame[FILE].tolist() == ["41.csv", "42.csv"]
    assert result.frame.index.tolist() == [0, 1]
    with pytest.raises(InputFormatError, match="no export files"):
        expand_inputs([tmp_path], patterns=["*.parquet"])
    with pytest.raises(InputFormatError, match="no such file"):
        expand_inputs([tmp_path / "missing"])


def test_read_exports_progress_runs_quietly_when_not_a_terminal(tmp_path: Path) -> None:
    path = write(tmp_path / "41.csv", [HEADER, *ROWS], "utf-8")
    assert len(read_exports([path], progress=True).frame) == 3


def test_ids_stay_text(tmp_path: Path) -> None:
    lines = [
        HEADER,
        "P1,张三,0410102199001011,男,,2021-06-01,科兴,01",
        "P2,李四,1.10105E+17,女,,2021-06-01,科兴,1",
    ]
    frame = read_export(write(tmp_path / "41.csv", lines, "utf-8")).frame
    assert frame[ID_NUMBER].tolist() == ["0410102199001011", "1.10105E+17"]
    assert frame[DOSE_SEQ].tolist() == ["01", "1"]
    # Dictionary-encoded text: the distinct values are strings, never numbers.
    assert all(isinstance(v, str) for v in frame[ID_NUMBER].cat.categories)


def test_file_without_any_recognised_header_is_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "41.csv", ["just,some", "1,2"], "utf-8")
    with pytest.raises(MissingColumnError, match="person_ref"):
        read_export(path)


def test_empty_lines_are_counted_and_row_numbers_stay_line_numbers(tmp_path: Path) -> None:
    lines = [HEADER, ROWS[0], "", ROWS[1], "", ""]
    result = read_export(write(tmp_path / "41.csv", lines, "utf-8"))
    assert result.blank_rows == 3
    assert result.frame[ROW].tolist() == [2, 4]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_quoted_line_break_takes_the_pandas_path_in_the_detected_encoding(
    tmp_path: Path, encoding: str
) -> None:
    header = HEADER + ",接种单位"
    lines = [header, ROWS[0] + ',"城东\n卫生院"', ROWS[1] + ",城西卫生院"]
    result = read_export(write(tmp_path / "41.csv", lines, encoding))
    assert as_object(result.frame[NAME]).tolist() == ["张三", "李四"]
    assert as_object(result.frame[SITE]).tolist() == ["城东\n卫生院", "城西卫生院"]


def test_a_quote_never_closed_in_the_header_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "11.csv"
    path.write_bytes(b'"source,person_ref')
    with pytest.raises(InputFormatError, match="11.csv: malformed CSV header"):
        read_export(path)
