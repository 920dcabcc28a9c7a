"""Sex codes and mobile phone numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.columns import FEMALE, MALE, UNKNOWN_SEX
from matcher.demographics import normalise_phones, normalise_sex
from matcher.dictionary import as_object, distinct, encode, is_dictionary, known_text


@pytest.mark.parametrize(
    ("raw", "sex"),
    [
        ("M", MALE),
        ("m", MALE),
        ("Male", MALE),
        ("MALE", MALE),
        ("男", MALE),
        ("男性", MALE),
        (" 男 ", MALE),
        ("1", MALE),
        (1, MALE),
        (1.0, MALE),
        ("1.0", MALE),
        ("Ｍ", MALE),
        ("１", MALE),
        ("F", FEMALE),
        ("f", FEMALE),
        ("female", FEMALE),
        ("女", FEMALE),
        ("女性", FEMALE),
        ("2", FEMALE),
        (2, FEMALE),
        ("0", UNKNOWN_SEX),
        ("9", UNKNOWN_SEX),
        (0, UNKNOWN_SEX),
        (9, UNKNOWN_SEX),
        ("未知", UNKNOWN_SEX),
        ("未说明", UNKNOWN_SEX),
        ("", UNKNOWN_SEX),
        (None, UNKNOWN_SEX),
        (float("nan"), UNKNOWN_SEX),
        ("x", UNKNOWN_SEX),
    ],
)
def test_sex_codes(raw: object, sex: str) -> None:
    assert normalise_sex(pd.Series([raw], dtype=object)).iloc[0] == sex


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("13812345678", "13812345678"),
        (" 13812345678 ", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("(138)1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        (13812345678, "13812345678"),
        (13812345678.0, "13812345678"),
        ("13812345678.0", "13812345678"),
        ("1.3812345678E+10", "13812345678"),
        ("19912345678", "19912345678"),
        ("010-12345678", None),
        ("0755 8765 4321", None),
        ("12345678", None),
        ("1381234567", None),
        ("138123456789", None),
        ("12345678901", None),
        ("00000000000", None),
        ("11111111111", None),
        ("13800000000", None),
        ("13988888888", None),
        ("13812345678/13987654321", None),
        ("1.38E+10", None),
        ("abc", None),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_phones(raw: object, phone: str | None) -> None:
    assert normalise_phones(pd.Series([raw], dtype=object)).iloc[0] == phone


def test_alignment_and_names() -> None:
    values = pd.Series(["男", None, "女", "男"], index=[7, 2, 9, 4], name="sex")
    out = normalise_sex(values)
    assert out.index.equals(values.index) and out.name == "sex"
    assert out.tolist() == [MALE, UNKNOWN_SEX, FEMALE, MALE]
    phones = pd.Series(["13812345678", None], index=[5, 1], name="phone")
    got = normalise_phones(phones)
    assert got.index.equals(phones.index) and got.name == "phone"
    assert got.tolist() == ["13812345678", None]


def test_empty_series() -> None:
    assert normalise_sex(pd.Series([], dtype=object)).empty
    assert normalise_phones(pd.Series([], dtype=object)).empty


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"), st.sampled_from(["", "+86", "0086", "86", "+86 "]))
def test_any_mobile_survives_prefix_and_dashes(number: str, prefix: str) -> None:
    dashed = f"{prefix}{number[:3]}-{number[3:7]}-{number[7:]}"
    got = normalise_phones(pd.Series([number, dashed, float(number)], dtype=object))
    placeholder = len(set(number[3:])) == 1
    assert got.tolist() == [None if placeholder else number] * 3


def test_encoded_phones_keep_plain_values_in_first_seen_categories() -> None:
    raw = ["13912345678", "+86 139 1234 5678", "13800000000", None, "13812345678", "x"]
    raw += ["１３８１２３４５６７８", "1٣٨١٢٣٤٥٦٧٨", "13812345678", "13912345678.0", ""]
    plain = normalise_phones(pd.Series(raw, dtype=object))
    encoded = normalise_phones(encode(pd.Series(raw, dtype=object)))
    assert is_dictionary(encoded)
    assert as_object(encoded).tolist() == plain.tolist()
    assert encoded.cat.categories.tolist() == pd.unique(plain.dropna()).tolist()


def test_encoded_phones_that_are_all_clean_keep_their_categories_in_order() -> None:
    # The fast path: every value already an 11-digit mobile (placeholders dropped).
    raw = ["13912345678", "13800000000", None, "13812345678", "15011112222", "13912345678"]
    plain = normalise_phones(pd.Series(raw, dtype=object))
    encoded = normalise_phones(encode(pd.Series(raw, dtype=object)).rename("phone"))
    assert (
        as_object(encoded).tolist()
        == plain.tolist()
        == ["13912345678", None, None, "13812345678", "15011112222", "13912345678"]
    )
    assert encoded.cat.categories.tolist() == ["13912345678", "13812345678", "15011112222"]
    assert encoded.name == "phone"
    text = known_text(distinct(encoded)[1])
    assert text is not None and text.to_pylist() == encoded.cat.categories.tolist()
    # One unclean value sends the column down the general path, with the same result shape.
    mixed = normalise_phones(encode(pd.Series([*raw, "139-1234-5678"], dtype=object)))
    assert as_object(mixed).tolist() == [*plain.tolist(), "13912345678"]
