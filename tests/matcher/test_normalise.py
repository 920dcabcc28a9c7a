"""The normalise stage: conversions, derived columns, reject rules, masking of reasons."""

from __future__ import annotations

import pandas as pd
import pytest

from matcher.columns import (
    BIRTH_DATE,
    BIRTH_DATE_UNUSABLE,
    CANONICAL_COLUMNS,
    DOSE_DATE,
    FIELD,
    FILE,
    ID_KEY,
    ID_NUMBER,
    ID_STATUS,
    ID_TYPE,
    NAME,
    NAME_PINYIN,
    PERSON_REF,
    PHONE,
    PRODUCT_CODE,
    REASON,
    REJECT_COLUMNS,
    ROW,
    SEX,
    SOURCE,
    VACCINE,
    VACCINE_KNOWN,
)
from matcher.errors import MissingColumnError
from matcher.normalise import normalise_doses

TODAY = pd.Timestamp("2023-01-01")
ID = "11010519491231002X"  # valid test vector of GB 11643


def rows(*records: dict[str, str | None]) -> pd.DataFrame:
    base = {
        SOURCE: "11",
        PERSON_REF: "P1",
        ID_TYPE: None,
        ID_NUMBER: ID,
        NAME: "张三",
        SEX: "女",
        BIRTH_DATE: "1949-12-31",
        PHONE: "138 1234 5678",
        DOSE_DATE: "2021-06-01",
        VACCINE: "克尔来福",
        "lot_number": None,
        "dose_seq": "1",
        "site": None,
    }
    frame = pd.DataFrame([{**base, **r} for r in records], dtype=object)
    frame[FILE] = "11.csv"
    frame[ROW] = range(2, 2 + len(frame))
    return frame


def test_conversions_and_derived_columns() -> None:
    result = normalise_doses(rows({}), today=TODAY)
    doses = result.doses
    assert result.rejects.empty
    assert list(result.rejects.columns) == list(REJECT_COLUMNS)
    assert list(doses.columns[: len(CANONICAL_COLUMNS)]) == list(CANONICAL_COLUMNS)
    assert doses[BIRTH_DATE].dtype == "datetime64[ns]"
    assert doses[DOSE_DATE].dtype == "datetime64[ns]"
    row = doses.iloc[0]
    assert row[DOSE_DATE] == pd.Timestamp("2021-06-01")
    assert row[SEX] == "F"
    assert row[PHONE] == "13812345678"
    assert row[ID_NUMBER] == ID and row[NAME] == "张三"  # raw values kept
    assert row[ID_KEY] == ID and row[ID_STATUS] == "valid"
    assert row[NAME_PINYIN] == "zhangsan"
    assert row[PRODUCT_CODE] == "CORONAVAC" and bool(row[VACCINE_KNOWN])
    assert row[FILE] == "11.csv" and row[ROW] == 2


def test_impossible_date_is_rejected_and_other_rows_kept() -> None:
    frame = rows(
        {PERSON_REF: "A"},
        {PERSON_REF: "B", DOSE_DATE: "2021-02-30"},
        {PERSON_REF: "C", DOSE_DATE: "2021/6/3"},
    )
    result = normalise_doses(frame, today=TODAY)
    assert result.doses[PERSON_REF].tolist() == ["A", "C"]
    assert result.doses[DOSE_DATE].tolist() == [
        pd.Timestamp("2021-06-01"),
        pd.Timestamp("2021-06-03"),
    ]
    rejects = result.rejects
    assert rejects[[FILE, ROW, SOURCE, FIELD]].values.tolist() == [["11.csv", 3, "11", DOSE_DATE]]
    assert rejects[REASON].iloc[0] == "dose date: impossible date 2021-02-30"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({DOSE_DATE: None}, DOSE_DATE, "dose date missing"),
        ({DOSE_DATE: "不详"}, DOSE_DATE, "dose date missing"),
        ({DOSE_DATE: "2023-05-01"}, DOSE_DATE, "dose date: date 2023-05-01 is in the future"),
        ({DOSE_DATE: "soon"}, DOSE_DATE, "dose date: unparsable date"),
        ({SOURCE: "99"}, SOURCE, "source '99' is not a 2-digit province code"),
        ({SOURCE: None}, SOURCE, "source '' is not a 2-digit province code"),
    ],
)
def test_reject_rules(change: dict[str, str | None], field: str, reason: str) -> None:
    result = normalise_doses(rows({PERSON_REF: "ok"}, {PERSON_REF: "bad", **change}), today=TODAY)
    assert result.doses[PERSON_REF].tolist() == ["ok"]
    assert result.rejects[FIELD].tolist() == [field]
    assert result.rejects[REASON].tolist() == [reason]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({BIRTH_DATE: "1990-13-01"}, BIRTH_DATE, "birth date: impossible date 1990-13-01"),
        ({BIRTH_DATE: "1966-90-20"}, BIRTH_DATE, "birth date: impossible date 1966-90-20"),
        ({BIRTH_DATE: "2024-01-01"}, BIRTH_DATE, "birth date: date 2024-01-01 is in the future"),
        ({BIRTH_DATE: "soon"}, BIRTH_DATE, "birth date: unparsable date"),
    ],
)
def test_a_bad_birth_date_becomes_missing_and_the_dose_is_kept(
    change: dict[str, str | None], field: str, reason: str
) -> None:
    result = normalise_doses(rows({PERSON_REF: "ok"}, {PERSON_REF: "bad", **change}), today=TODAY)
    assert result.rejects.empty
    assert result.doses[PERSON_REF].tolist() == ["ok", "bad"]
    assert result.doses[BIRTH_DATE].isna().tolist() == [False, True]
    assert result.doses[BIRTH_DATE_UNUSABLE].tolist() == [False, True]
    assert result.doses[DOSE_DATE].notna().all()
    issues = result.issues
    assert issues[[FILE, ROW, SOURCE, FIELD]].values.tolist() == [["11.csv", 3, "11", field]]
    assert issues[REASON].tolist() == [reason + "; treated as missing"]


def test_a_row_with_neither_name_nor_id_is_kept_as_its_own_record() -> None:
    frame = rows({PERSON_REF: "ok"}, {PERSON_REF: "phone-only", NAME: None, ID_NUMBER: " "})
    result = normalise_doses(frame, today=TODAY)
    assert result.rejects.empty
    assert result.doses[PERSON_REF].tolist() == ["ok", "phone-only"]
    assert result.doses[PHONE].tolist() == ["13812345678", "13812345678"]
    assert result.issues[FIELD].tolist() == [NAME]
    assert result.issues[REASON].iloc[0].startswith("neither name nor ID number")


def test_kept_rows() -> None:
    frame = rows(
        {PERSON_REF: "no-birth", BIRTH_DATE: None},
        {PERSON_REF: "name-only", ID_NUMBER: None},
        {PERSON_REF: "id-only", NAME: None},
        {PERSON_REF: "dose-before-birth", BIRTH_DATE: "2022-01-01"},  # a history flag, kept
        {PERSON_REF: "unknown-vaccine", VACCINE: "某某疫苗"},
        {PERSON_REF: "bad-checksum", ID_NUMBER: "110105194912310021"},
    )
    result = normalise_doses(frame, today=TODAY)
    assert result.rejects.empty
    assert len(result.doses) == 6
    assert result.doses[VACCINE_KNOWN].tolist() == [True, True, True, True, False, True]
    assert result.doses[ID_STATUS].iloc[5] == "checksum_error"


def test_several_failures_are_listed_with_the_first_field() -> None:
    frame = rows({SOURCE: "xx", DOSE_DATE: "2021-02-30", BIRTH_DATE: "2099-01-01"})
    result = normalise_doses(frame, today=TODAY)
    assert result.rejects[FIELD].tolist() == [SOURCE]
    assert result.rejects[REASON].iloc[0] == (
        "source 'xx' is not a 2-digit province code; dose date: impossible date 2021-02-30"
    )
    assert result.issues.empty  # a rejected row has no field issues besides


def test_reasons_never_contain_the_raw_id_or_phone() -> None:
    frame = rows(
        {DOSE_DATE: ID},  # an ID pasted into the date column
        {SOURCE: ID},
        {BIRTH_DATE: "13812345678"},
        {PERSON_REF: "ok"},
    )
    result = normalise_doses(frame, today=TODAY)
    assert len(result.rejects) == 2 and len(result.issues) == 1
    text = " ".join([*result.rejects[REASON], *result.issues[REASON]])
    assert ID not in text and ID[:17] not in text
    assert "13812345678" not in text
    assert "张三" not in text


def test_frames_without_file_and_row_and_extra_columns() -> None:
    frame = rows({}, {DOSE_DATE: None}).drop(columns=[FILE, ROW, "site"])
    frame["corruption"] = ["none", "typo"]
    result = normalise_doses(frame, today=TODAY)
    assert result.doses["corruption"].tolist() == ["none"]
    assert result.doses["site"].isna().all()
    assert result.rejects[ROW].tolist() == [3]  # position + 2, as if written with a header
    assert result.rejects[FILE].isna().all()


def test_missing_required_column() -> None:
    with pytest.raises(MissingColumnError, match="dose_date"):
        normalise_doses(rows({}).drop(columns=[DOSE_DATE]), today=TODAY)


def test_empty_frame() -> None:
    result = normalise_doses(rows({}).iloc[0:0], today=TODAY)
    assert result.doses.empty and result.rejects.empty
    assert ID_KEY in result.doses.columns


def test_a_name_past_the_length_limit_is_made_missing_and_the_dose_kept() -> None:
    frame = rows({PERSON_REF: "ok"}, {PERSON_REF: "long", NAME: "测" * 5000})
    result = normalise_doses(frame, today=TODAY)
    assert result.rejects.empty
    assert result.doses[PERSON_REF].tolist() == ["ok", "long"]
    assert result.doses[NAME].isna().tolist() == [False, True]
    assert result.doses[ID_KEY].notna().all()  # still linkable on its ID
    assert result.issues[FIELD].tolist() == [NAME]
    assert "longer than 100 characters" in result.issues[REASON].iloc[0]


def test_a_person_ref_past_the_length_limit_is_rejected() -> None:
    result = normalise_doses(rows({PERSON_REF: "ok"}, {PERSON_REF: "R" * 500}), today=TODAY)
    assert result.doses[PERSON_REF].tolist() == ["ok"]
    assert result.rejects[FIELD].tolist() == [PERSON_REF]
