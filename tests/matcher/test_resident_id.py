"""Tests of matcher.resident_id: checksum, 15→18 upgrade, clean-up, statuses, documents, keys."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.columns import (
    ID_BIRTH_DATE,
    ID_DOC_TYPE,
    ID_KEY,
    ID_PROVINCE,
    ID_SEX,
    ID_STATUS,
    ID_UPGRADED,
)
from matcher.dictionary import as_object, encode, is_dictionary
from matcher.doc_types import doc_type_of
from matcher.regions import MAINLAND_PROVINCES
from matcher.resident_id import (
    DocType,
    IdStatus,
    _pairs,
    checksum_char,
    implied_birth_date,
    implied_sex,
    is_valid_resident_id,
    normalise_ids,
    resident_id_status,
    single_digit_repairs,
    upgrade_15_to_18,
)

LATEST = dt.date(2022, 12, 31)
VECTOR_A = "11010519491231002X"
VECTOR_B = "440524188001010014"
COLUMNS = [ID_KEY, ID_STATUS, ID_UPGRADED, ID_BIRTH_DATE, ID_SEX, ID_PROVINCE, ID_DOC_TYPE]


def with_check(first17: str) -> str:
    return first17 + checksum_char(first17)


def one(number: object, id_type: object = None) -> dict[str, object]:
    """normalise_ids on a single value, as a plain dict."""
    frame = normalise_ids(
        pd.Series([number], dtype=object), pd.Series([id_type], dtype=object), latest=LATEST
    )
    return frame.iloc[0].to_dict()


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(MAINLAND_PROVINCES))
    rest = draw(st.integers(0, 9999))
    born = draw(st.dates(dt.date(1900, 1, 1), LATEST))
    seq = draw(st.integers(0, 999))
    return with_check(f"{province}{rest:04d}{born:%Y%m%d}{seq:03d}")


@st.composite
def legacy_ids(draw: st.DrawFn) -> tuple[str, dt.date]:
    province = draw(st.sampled_from(MAINLAND_PROVINCES))
    rest = draw(st.integers(0, 9999))
    born = draw(st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)))
    seq = draw(st.integers(0, 995))
    return f"{province}{rest:04d}{born:%y%m%d}{seq:03d}", born


# --- Checksum and upgrade ------------------------------------------------------------------
def test_standard_test_vectors_are_valid() -> None:
    assert is_valid_resident_id(VECTOR_A) and is_valid_resident_id(VECTOR_B)
    frame = normalise_ids(pd.Series([VECTOR_A, VECTOR_B]), latest=LATEST)
    assert frame[ID_STATUS].tolist() == ["valid", "valid"]
    assert frame[ID_KEY].tolist() == [VECTOR_A, VECTOR_B]
    assert frame[ID_BIRTH_DATE].tolist() == [pd.Timestamp("1949-12-31"), pd.Timestamp("1880-01-01")]
    assert frame[ID_SEX].tolist() == ["F", "M"]
    assert frame[ID_PROVINCE].tolist() == ["11", "44"]


@settings(max_examples=200, deadline=None)
@given(valid_ids())
def test_every_single_substitution_fails_the_checksum(number: str) -> None:
    for position in range(18):
        for char in "0123456789X" if position == 17 else "0123456789":
            if char != number[position]:
                typo = number[:position] + char + number[position + 1 :]
                assert not is_valid_resident_id(typo), typo


@settings(max_examples=200, deadline=None)
@given(valid_ids())
def test_every_adjacent_transposition_fails_the_checksum(number: str) -> None:
    for position in range(17):
        if number[position] != number[position + 1]:
            swapped = (
                number[:position] + number[position + 1] + number[position] + number[position + 2 :]
            )
            assert not is_valid_resident_id(swapped), swapped


@settings(max_examples=200, deadline=None)
@given(legacy_ids())
def test_upgraded_15_digit_ids_are_valid_and_keep_the_birth_date(case: tuple[str, dt.date]) -> None:
    legacy, born = case
    upgraded = upgrade_15_to_18(legacy)
    assert is_valid_resident_id(upgraded)
    assert implied_birth_date(upgraded, latest=LATEST) == born == implied_birth_date(legacy)
    assert implied_sex(upgraded) == implied_sex(legacy)
    row = one(legacy)
    assert row[ID_KEY] == upgraded
    assert row[ID_STATUS] == "valid" and row[ID_UPGRADED] is True
    assert row[ID_BIRTH_DATE] == pd.Timestamp(born)


def test_centenarian_sequence_codes_get_century_18() -> None:
    for seq in ("996", "997", "998", "999"):
        upgraded = upgrade_15_to_18(f"110105010203{seq}")
        assert upgraded[6:14] == "18010203" and is_valid_resident_id(upgraded)
        assert one(f"110105010203{seq}")[ID_BIRTH_DATE] == pd.Timestamp("1801-02-03")
    assert upgrade_15_to_18("110105010203995")[6:8] == "19"


# --- Clean-up ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "１１０１０５１９４９１２３１００２Ｘ",  # full width
        "11010519491231002x",
        "11010519491231002×",
        " 110105 19491231 002X ",
        "'11010519491231002X",
        "110105-19491231-002X",
        "\u3000110105\u00a019491231\u200b002X\ufeff",
        "\t11010519491231002X\n",
    ],
)
def test_cleanup_recovers_the_number(raw: str) -> None:
    row = one(raw)
    assert (row[ID_KEY], row[ID_STATUS], row[ID_DOC_TYPE]) == (VECTOR_A, "valid", "resident_id")


@pytest.mark.parametrize(
    "raw", ["11010519491231OO2X", "1101051949123I002X", "11010519491231o02x", "110105l9491231002X"]
)
def test_letter_look_alikes_are_malformed_not_mapped(raw: str) -> None:
    row = one(raw)
    assert row[ID_STATUS] == "malformed" and row[ID_KEY] is None
    assert row[ID_DOC_TYPE] == "resident_id"


@pytest.mark.parametrize(
    "raw", ["1.10105E+17", "1.10105e17", 1.1010519491231e17, "110105194912310000"]
)
def test_spreadsheet_damage_is_detected(raw: object) -> None:
    row = one(raw)
    assert row[ID_STATUS] == "damaged" and row[ID_KEY] is None and row[ID_SEX] == "U"


def test_damaged_000_tail_keeps_birth_date_and_province_as_evidence() -> None:
    row = one("110105194912310000")
    assert row[ID_BIRTH_DATE] == pd.Timestamp("1949-12-31") and row[ID_PROVINCE] == "11"


def test_a_valid_number_ending_in_000_is_not_damaged() -> None:
    number = next(
        with_check(f"11{n:04d}19900101100")
        for n in range(10000)
        if checksum_char(f"11{n:04d}19900101100") == "0"
    )
    assert number.endswith("000")
    assert one(number)[ID_STATUS] == "valid"


def test_integer_and_integral_float_inputs() -> None:
    assert one(440524188001010014)[ID_KEY] == VECTOR_B
    assert one(110105491231002.0)[ID_KEY] == upgrade_15_to_18("110105491231002")
    assert one("110105491231002.0")[ID_STATUS] == "valid"


@pytest.mark.parametrize(
    "raw",
    ["000000000000000000", "111111111111111111", "11111111111111111X", "123456789012345678"]
    + ["987654321098765432", "000000", "0", "12345678", "999999999999999"],
)
def test_placeholders(raw: str) -> None:
    row = one(raw, "身份证")
    assert row[ID_STATUS] == "placeholder" and row[ID_KEY] is None


@pytest.mark.parametrize("raw", [None, float("nan"), pd.NA, "", "   ", "-", "NULL", "无", "n/a"])
def test_missing(raw: object) -> None:
    row = one(raw, "身份证")
    assert (row[ID_STATUS], row[ID_KEY], row[ID_DOC_TYPE]) == ("missing", None, "none")
    assert pd.isna(row[ID_BIRTH_DATE]) and row[ID_SEX] == "U" and row[ID_UPGRADED] is False


# --- Validation ladder ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "first17",
    [
        "24123419900101123",  # 24 is not a province
        "83123419900101123",  # 83 only as 830000
        "11010519900230123",  # 30 February
        "11010517991231123",  # before 1800
        "11010520230101123",  # after LATEST
    ],
)
def test_ladder_rejects_bad_address_or_date(first17: str) -> None:
    row = one(with_check(first17))
    assert row[ID_STATUS] == "malformed" and row[ID_KEY] is None
    assert pd.isna(row[ID_BIRTH_DATE])


def test_checksum_error_keeps_its_key_and_evidence() -> None:
    typo = "11010519491231003X"
    row = one(typo)
    assert (row[ID_STATUS], row[ID_KEY], row[ID_SEX]) == ("checksum_error", typo, "M")
    assert row[ID_BIRTH_DATE] == pd.Timestamp("1949-12-31")


def test_single_digit_repairs_offer_the_original() -> None:
    typo = "11010519491231003X"
    repairs = single_digit_repairs(typo, latest=LATEST)
    assert VECTOR_A in repairs and len(repairs) == len(set(repairs)) > 1
    for repair in repairs:
        assert resident_id_status(repair, latest=LATEST) is IdStatus.VALID
        assert sum(a != b for a, b in zip(repair, typo, strict=True)) == 1
    assert single_digit_repairs(VECTOR_A) == [] and single_digit_repairs("H12345678") == []


def test_implied_sex_and_birth_date() -> None:
    assert implied_sex(VECTOR_A) == "F" and implied_sex(VECTOR_B) == "M"
    assert implied_sex("110105491231001") == "M" and implied_sex("H12345678") == "U"
    assert implied_birth_date(VECTOR_A) == dt.date(1949, 12, 31)
    assert implied_birth_date("11010519490231002X") is None
    assert implied_birth_date("H12345678") is None


# --- Other documents -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "id_type", "doc", "key"),
    [
        ("H12345678", None, "hkmo_permit", "H12345678"),
        ("H1234567801", None, "hkmo_permit", "H12345678"),
        ("h(12345678)01", None, "hkmo_permit", "H12345678"),
        ("M12345678", "回乡证", "hkmo_permit", "M12345678"),
        ("0561682001(D)", None, "tw_permit", "05616820"),
        ("0561682001（D）", "台湾居民来往大陆通行证", "tw_permit", "05616820"),
        ("05616820", "台胞证", "tw_permit", "05616820"),
        ("ABC123456789012", None, "foreign_pr_old", "ABC123456789012"),
        ("E12345678", None, "passport", "E12345678"),
        ("EA1234567", None, "passport", "EA1234567"),
        ("K12345678", "护照", "passport", "K12345678"),
        ("X320101001", None, "birth_cert", "X320101001"),
        ("X320101001", "出生医学证明", "birth_cert", "X320101001"),
        ("ABCD1234", None, "other", "ABCD1234"),
        ("H12345678", "身份证", "hkmo_permit", "H12345678"),  # shape beats a default label
    ],
)
def test_other_documents_are_recognised_and_keyed(
    raw: str, id_type: str | None, doc: str, key: str
) -> None:
    row = one(raw, id_type)
    assert (row[ID_DOC_TYPE], row[ID_KEY], row[ID_STATUS]) == (doc, key, "valid")
    assert row[ID_SEX] == "U" and pd.isna(row[ID_BIRTH_DATE])


def test_hkmo_permit_spellings_share_a_key() -> None:
    frame = normalise_ids(pd.Series(["H12345678", "H1234567801", "h(12345678)01"]))
    assert frame[ID_KEY].nunique() == 1


@pytest.mark.parametrize(
    ("address", "doc", "province"),
    [("810000", "residence_permit", "81"), ("820000", "residence_permit", "82")]
    + [("830000", "residence_permit", "83"), ("911156", "foreign_pr_new", None)],
)
def test_eighteen_character_cards_other_than_resident_ids(
    address: str, doc: str, province: str | None
) -> None:
    number = with_check(f"{address}19900101123")
    for id_type in (None, "身份证", "港澳台居民居住证", "护照"):
        row = one(number, id_type)
        assert (row[ID_DOC_TYPE], row[ID_KEY], row[ID_STATUS]) == (doc, number, "valid")
        assert row[ID_PROVINCE] == province and row[ID_SEX] == "M"


@pytest.mark.parametrize(
    ("raw", "doc"),
    [
        ("身份证", DocType.RESIDENT_ID),
        ("居民身份证", DocType.RESIDENT_ID),
        ("01", DocType.RESIDENT_ID),
        ("1", DocType.RESIDENT_ID),
        (1, DocType.RESIDENT_ID),
        (1.0, DocType.RESIDENT_ID),
        ("resident_id", DocType.RESIDENT_ID),
        ("护照", DocType.PASSPORT),
        (" Passport ", DocType.PASSPORT),
        ("港澳居民来往内地通行证", DocType.HKMO_PERMIT),
        ("台湾居民来往大陆通行证", DocType.TW_PERMIT),
        ("出生医学证明", DocType.BIRTH_CERT),
        ("外国人永久居留身份证", DocType.FOREIGN_PR_OLD),
        ("港澳台居民居住证", DocType.RESIDENCE_PERMIT),
        ("ｈｋｍｏ＿ｐｅｒｍｉｔ", DocType.HKMO_PERMIT),
        ("其他", DocType.OTHER),
        ("xyz", None),
        ("", None),
        (None, None),
    ],
)
def test_raw_id_type_mapping(raw: object, doc: DocType | None) -> None:
    assert doc_type_of(raw) == doc


def test_declared_type_and_shape() -> None:
    assert one(VECTOR_A, "xyz")[ID_DOC_TYPE] == "resident_id"
    assert one(VECTOR_A, "护照")[ID_DOC_TYPE] == "resident_id"
    assert one("11010519491231003X", "护照")[ID_STATUS] == "checksum_error"
    assert one("1101051949123100", None)[ID_DOC_TYPE] == "resident_id"
    malformed = one("ABC", "身份证")
    assert (malformed[ID_DOC_TYPE], malformed[ID_STATUS], malformed[ID_KEY]) == (
        "resident_id",
        "malformed",
        None,
    )
    loose = one("H1234", "港澳居民来往内地通行证")
    assert (loose[ID_STATUS], loose[ID_KEY]) == ("malformed", "H1234")
    assert one("见户口本", None)[ID_KEY] is None


# --- Frame contract ------------------------------------------------------------------------
def test_output_is_index_aligned_with_declared_columns_and_dtypes() -> None:
    numbers = pd.Series([VECTOR_A, "H12345678", None], index=[30, 10, 20], dtype=object)
    types = pd.Series(["护照", "回乡证", "身份证"], index=[10, 20, 30], dtype=object)
    frame = normalise_ids(numbers, types, latest=LATEST)
    assert frame.columns.tolist() == COLUMNS
    assert frame.index.tolist() == [30, 10, 20]
    assert frame[ID_DOC_TYPE].tolist() == ["resident_id", "passport", "none"]  # aligned by label
    assert str(frame[ID_BIRTH_DATE].dtype) == "datetime64[ns]"
    assert frame[ID_UPGRADED].dtype == bool
    assert set(frame[ID_STATUS]) <= {status.value for status in IdStatus}
    assert set(frame[ID_DOC_TYPE]) <= {doc.value for doc in DocType}


def test_empty_input() -> None:
    frame = normalise_ids(pd.Series([], dtype=object))
    assert frame.columns.tolist() == COLUMNS and len(frame) == 0


def test_duplicates_get_identical_rows() -> None:
    frame = normalise_ids(pd.Series([VECTOR_A, "11010519491231002x", VECTOR_A]), latest=LATEST)
    assert frame.iloc[0].equals(frame.iloc[1]) and frame.iloc[0].equals(frame.iloc[2])


# --- Differential test: vectorised vs scalar reference -------------------------------------
def generated_numbers(count: int, seed: int) -> list[str]:
    """Valid ids, typos, transpositions, 15-digit ids, random digit strings, permits, damage."""
    rng = random.Random(seed)
    numbers = []
    for _ in range(count):
        province = rng.choice([*MAINLAND_PROVINCES, "81", "82", "83", "91", "24"])
        born = dt.date(1850, 1, 1) + dt.timedelta(days=rng.randrange(180 * 365))
        address = province + (f"{rng.randrange(10000):04d}" if rng.random() < 0.9 else "0000")
        number = with_check(f"{address}{born:%Y%m%d}{rng.randrange(1000):03d}")
        kind = rng.randrange(7)
        if kind == 1:  # one-digit typo
            position = rng.randrange(17)
            number = number[:position] + str(rng.randrange(10)) + number[position + 1 :]
        elif kind == 2:  # adjacent transposition
            p = rng.randrange(17)
            number = number[:p] + number[p + 1] + number[p] + number[p + 2 :]
        elif kind == 3:  # legacy 15-digit number
            number = number[:6] + number[8:17]
        elif kind == 4:  # random digits
            number = "".join(rng.choice("0123456789") for _ in range(17)) + rng.choice(
                "0123456789X"
            )
        elif kind == 5:  # Excel damage
            number = number[:15] + "000"
        numbers.append(number)
    return numbers


def reference(number: str) -> dict[str, object]:
    """Expected normalise_ids row for a clean 18/15-digit number, from the scalar helpers."""
    status = resident_id_status(number, latest=LATEST)
    full = upgrade_15_to_18(number) if len(number) == 15 else number
    keyed = status in (IdStatus.VALID, IdStatus.CHECKSUM_ERROR)
    dated = keyed or status is IdStatus.DAMAGED
    born = implied_birth_date(number, latest=LATEST) if dated else None
    if full[0] == "9" and len(number) == 18:
        doc = DocType.FOREIGN_PR_NEW
    elif full[:6] in {"810000", "820000", "830000"} and len(number) == 18:
        doc = DocType.RESIDENCE_PERMIT
    else:
        doc = DocType.RESIDENT_ID
    return {
        ID_KEY: full if keyed else None,
        ID_STATUS: status.value,
        ID_UPGRADED: keyed and len(number) == 15,
        ID_BIRTH_DATE: pd.Timestamp(born) if born else pd.NaT,
        ID_SEX: implied_sex(number) if keyed else "U",
        ID_PROVINCE: full[:2] if dated and doc is not DocType.FOREIGN_PR_NEW else None,
        ID_DOC_TYPE: doc.value,
    }


def assert_matches_reference(numbers: list[str]) -> None:
    frame = normalise_ids(pd.Series(numbers, dtype=object), latest=LATEST)
    expected = pd.DataFrame([reference(number) for number in numbers], columns=COLUMNS)
    expected[ID_BIRTH_DATE] = expected[ID_BIRTH_DATE].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected)


def test_vectorised_equals_scalar_reference_on_generated_numbers() -> None:
    numbers = generated_numbers(5000, seed=7)
    statuses = {resident_id_status(number, latest=LATEST) for number in numbers}
    assert statuses >= {
        IdStatus.VALID,
        IdStatus.CHECKSUM_ERROR,
        IdStatus.MALFORMED,
        IdStatus.DAMAGED,
    }
    assert_matches_reference(numbers)


@settings(max_examples=200, deadline=None)
@given(st.lists(valid_ids(), min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_vectorised_equals_scalar_reference_property(
    numbers: list[str], rnd: random.Random
) -> None:
    noisy = [
        n[:p] + rnd.choice("0123456789") + n[p + 1 :] if rnd.random() < 0.5 else n
        for n in numbers
        for p in [rnd.randrange(17)]
    ]
    assert_matches_reference(noisy)


def test_numpy_string_dtype_input() -> None:
    frame = normalise_ids(pd.Series(np.array([VECTOR_A, VECTOR_B])), latest=LATEST)
    assert frame[ID_STATUS].tolist() == ["valid", "valid"]
    arrow = normalise_ids(pd.Series([VECTOR_A, None], dtype="string[pyarrow]"), latest=LATEST)
    assert arrow[ID_STATUS].tolist() == ["valid", "missing"]


def test_same_number_under_different_declared_types() -> None:
    numbers = pd.Series(["H12345678", "H12345678", VECTOR_A, VECTOR_A], dtype=object)
    types = pd.Series(["护照", "回乡证", "护照", None], dtype=object)
    frame = normalise_ids(numbers, types, latest=LATEST)
    assert frame[ID_DOC_TYPE].tolist() == ["passport", "hkmo_permit", "resident_id", "resident_id"]
    assert frame[ID_KEY].tolist() == ["H12345678", "H12345678", VECTOR_A, VECTOR_A]


def test_encoded_input_gives_the_plain_values_in_first_seen_categories() -> None:
    rnd = random.Random(5)
    numbers = generated_numbers(3000, seed=3)
    numbers += ["H12345678", "h1234567801", "12345678", "NULL", "", None, "1.10105E+17", "abc"]
    raw = [rnd.choice(numbers) for _ in range(6000)]
    kinds = [None, "身份证", "护照", "回乡证", "台胞证", "其他"]
    for types in ([rnd.choice(kinds) for _ in raw], ["身份证"] * len(raw)):
        plain = normalise_ids(pd.Series(raw, dtype=object), pd.Series(types), latest=LATEST)
        encoded = normalise_ids(
            encode(pd.Series(raw, dtype=object)), encode(pd.Series(types)), latest=LATEST
        )
        for column in (ID_UPGRADED, ID_BIRTH_DATE):
            pd.testing.assert_series_equal(encoded[column], plain[column])
        for column in (ID_KEY, ID_STATUS, ID_SEX, ID_PROVINCE, ID_DOC_TYPE):
            assert is_dictionary(encoded[column]), column
            assert as_object(encoded[column]).tolist() == plain[column].tolist(), column
            first_seen = pd.unique(plain[column].dropna()).tolist()
            assert encoded[column].cat.categories.tolist() == first_seen, column


@pytest.mark.parametrize(("n_numbers", "kinds"), [(50, 2), (50, 6), (2000, 11)])
def test_pairs_are_numbered_like_factorize(n_numbers: int, kinds: int) -> None:
    rng = np.random.default_rng(n_numbers + kinds)
    numbers = rng.integers(0, n_numbers, 500)
    declared = rng.integers(-1, kinds - 1, 500).astype(np.int8)
    rows, number, kind = _pairs(numbers, declared, n_numbers)
    codes, pairs = pd.factorize(numbers * 16 + declared + 1)
    assert rows.tolist() == codes.tolist()
    assert number.tolist() == (pairs // 16).tolist()
    assert kind.tolist() == (pairs % 16 - 1).tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text("0123456789X", min_size=14, max_size=19),
            st.text("0123456789Xx１ A", min_size=15, max_size=18),
        ),
        max_size=30,
    )
)
def test_resident_shapes_are_those_of_the_regex(values: list[str | None]) -> None:
    import re

    import pyarrow as pa

    from matcher.resident_id import _resident_shapes

    (is18, _), (is15, _) = _resident_shapes(pa.array(values, type=pa.string()))
    for value, a, b in zip(values, is18.tolist(), is15.tolist(), strict=True):
        text = value or ""
        assert a == (value is not None and re.fullmatch(r"[0-9]{17}[0-9X]", text) is not None)
        assert b == (value is not None and re.fullmatch(r"[0-9]{15}", text) is not None)
