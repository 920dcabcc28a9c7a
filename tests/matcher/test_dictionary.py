"""Dictionary-encoded text columns: encoding, per-distinct work, and equivalence downstream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher.dictionary as dictionary_module
from matcher import columns as c
from matcher.dictionary import (
    arrow_strings,
    as_object,
    ascii_matrix,
    constant,
    distinct,
    encode,
    expand,
    fill_missing,
    forget_text,
    from_arrow,
    is_dictionary,
    known_text,
    made_of,
    map_distinct,
    per_file,
    sorted_dictionary,
    text_ids,
)
from matcher.normalise import DICTIONARY_COLUMNS, normalise_doses
from matcher.persons import build_person_records

TODAY = pd.Timestamp("2024-01-01")


def test_from_arrow_trims_blanks_and_merges_values_equal_after_trimming() -> None:
    column = from_arrow(pa.array(["张三", " 张三 ", "", "  ", None, "李四"], type=pa.string()))
    assert is_dictionary(column)
    assert as_object(column).tolist() == ["张三", "张三", None, None, None, "李四"]
    assert sorted(column.cat.categories) == ["张三", "李四"]


def test_from_arrow_drops_only_the_empty_entry_when_nothing_needs_trimming() -> None:
    column = from_arrow(pa.chunked_array([["a", ""], ["b", "a", None]], type=pa.string()))
    assert as_object(column).tolist() == ["a", None, "b", "a", None]
    assert list(column.cat.categories) == ["a", "b"]


def test_from_arrow_merges_blocks_with_their_own_dictionaries() -> None:
    # As Arrow's CSV reader gives a column: one dictionary per block, plus plain text and
    # null chunks (a file read by pandas, a file without the column).
    first = pa.array(["李四", " 张三", "", "李四"]).dictionary_encode()
    second = pa.array(["王五", "李四", None]).dictionary_encode()
    column = from_arrow(
        [pa.chunked_array([first, second]), pa.array(["张三", "赵六"]), pa.nulls(2)]
    )
    expected = ["李四", "张三", None, "李四", "王五", "李四", None, "张三", "赵六", None, None]
    assert as_object(column).tolist() == expected
    assert sorted(column.cat.categories) == sorted({"李四", "张三", "王五", "赵六"})
    assert len(from_arrow([pa.nulls(0)])) == 0


def test_from_arrow_gives_the_same_column_from_plain_and_dictionary_chunks() -> None:
    values = [" 张三", "李四", "", None, "张三", "  ", "王五 ", "李四"]
    plain = from_arrow([pa.array(values[:5]), pa.nulls(2), pa.array(values[5:])])
    encoded = from_arrow(
        [
            pa.array(values[:5]).dictionary_encode(),
            pa.nulls(2),
            pa.array(values[5:]).dictionary_encode(),
        ]
    )
    assert_same_encoding(plain, encoded)
    assert as_object(plain).tolist() == [
        "张三",
        "李四",
        None,
        None,
        "张三",
        None,
        None,
        None,
        "王五",
        "李四",
    ]
    assert known_text(distinct(plain)[1]).to_pylist() == ["张三", "李四", "王五"]
    assert from_arrow([pa.nulls(0)]).empty and from_arrow(pa.array([], pa.string())).empty


def test_encode_matches_from_arrow_and_keeps_numbers_as_text() -> None:
    raw = pd.Series([" 41 ", "41", None, "", 7], dtype=object)
    encoded = encode(raw)
    assert as_object(encoded).tolist() == ["41", "41", None, None, "7"]
    assert encode(encoded) is encoded  # already encoded: returned as it is


def test_map_distinct_calls_once_per_distinct_value_and_keeps_the_encoding() -> None:
    calls: list[str] = []

    def upper(text: str) -> str:
        calls.append(text)
        return "" if text == "drop" else text.upper()

    column = encode(pd.Series(["a", "b", "a", None, "drop", "A"], dtype=object))
    mapped = map_distinct(column, upper)
    assert sorted(calls) == ["A", "a", "b", "drop"]
    assert is_dictionary(mapped)
    assert as_object(mapped).tolist() == ["A", "B", "A", None, None, "A"]
    plain = map_distinct(pd.Series(["a", None], dtype=object), str.upper)
    assert not is_dictionary(plain)
    assert plain.tolist() == ["A", None]


def test_fill_missing_and_per_file() -> None:
    files = per_file(["41.csv", "42.csv", "41.csv"], np.array([0, 0, 1, 2]))
    assert as_object(files).tolist() == ["41.csv", "41.csv", "42.csv", "41.csv"]
    fallback = per_file(["41", None], np.array([0, 0, 1, 1]))
    source = encode(pd.Series(["11", None, None, "12"], dtype=object))
    assert as_object(fill_missing(source, fallback)).tolist() == ["11", "41", None, "12"]


def test_expand_and_distinct_agree_for_plain_and_encoded_input() -> None:
    raw = pd.Series(["x", None, "y", "x"], dtype=object)
    for column in (raw, encode(raw)):
        codes, uniques = distinct(column)
        values = np.array([u * 2 for u in uniques] + [None], dtype=object)
        for dictionary in (False, True):
            out = expand(codes, values, dictionary=dictionary, index=column.index)
            assert is_dictionary(out) == dictionary
            assert as_object(out).tolist() == ["xx", None, "yy", "xx"]


def test_constant_and_sorted_dictionary() -> None:
    ordered = sorted_dictionary(pd.Series(["b", None, "a", "b"], dtype=object))
    assert list(ordered.cat.categories) == ["a", "b"]
    assert as_object(ordered).tolist() == ["b", None, "a", "b"]
    assert as_object(constant(None, 2)).tolist() == [None, None]
    assert as_object(constant("41", 2)).tolist() == ["41", "41"]


@pytest.fixture
def export_frame() -> pd.DataFrame:
    """A canonical export frame with repeated persons, conflicts, blanks and bad rows."""
    rows = [
        ("41", "A1", "身份证", "410102199001011237", "張三", "男", "1990-01-01", "13812345678"),
        ("41", "A1", "身份证", "410102199001011237", "张三", "1", "1990/1/1", None),
        ("41", "A2", None, None, "李四", "女", None, "+86 139 1234 5678"),
        ("42", "B1", "身份证", "41010219900101123X", "zhang san", "M", "19900101", "13800000000"),
        ("42", "B1", None, "410102199001011237", "张三", None, "1990-02-01", "13812345678"),
        ("99", "B2", None, None, None, None, None, None),  # bad source, no person
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            c.SOURCE, c.PERSON_REF, c.ID_TYPE, c.ID_NUMBER, c.NAME, c.SEX, c.BIRTH_DATE, c.PHONE,
        ],
    )  # fmt: skip
    frame[c.DOSE_DATE] = ["2021-05-01", "2021-06-01", "2021-07-01", "2021-05-02", "2021-08-02", "x"]
    frame[c.VACCINE] = ["科兴", "科兴", "北京生物", "CoronaVac", "科兴", "科兴"]
    for col in (c.LOT_NUMBER, c.DOSE_SEQ, c.SITE):
        frame[col] = None
    return frame


def test_normalise_gives_the_same_values_from_encoded_and_plain_input(
    export_frame: pd.DataFrame,
) -> None:
    plain = normalise_doses(export_frame, today=TODAY)
    encoded_input = export_frame.apply(encode)
    encoded = normalise_doses(encoded_input, today=TODAY, dictionary=True)
    assert len(plain.doses) == 5 and len(plain.rejects) == 1
    pd.testing.assert_frame_equal(plain.rejects, encoded.rejects)
    assert list(plain.doses.columns) == list(encoded.doses.columns)
    for col in plain.doses.columns:
        if col in DICTIONARY_COLUMNS:
            assert is_dictionary(encoded.doses[col]), col
            values = as_object(encoded.doses[col])
        else:
            assert not is_dictionary(encoded.doses[col]), col
            values = encoded.doses[col].to_numpy()
        expected = plain.doses[col].to_numpy()
        assert pd.isna(values).tolist() == pd.isna(expected).tolist(), col
        present = ~pd.isna(expected)
        assert (values[present] == expected[present]).all(), col
    # Without dictionary=True, encoded input still gives plain columns.
    not_kept = normalise_doses(encoded_input, today=TODAY).doses
    assert not any(is_dictionary(not_kept[col]) for col in not_kept.columns)


def test_person_records_are_the_same_from_encoded_and_plain_doses(
    export_frame: pd.DataFrame,
) -> None:
    plain = build_person_records(normalise_doses(export_frame, today=TODAY).doses)
    encoded = build_person_records(
        normalise_doses(export_frame.apply(encode), today=TODAY, dictionary=True).doses
    )
    assert is_dictionary(encoded.records[c.NAME_SIMPLIFIED])
    assert not is_dictionary(plain.records[c.NAME_SIMPLIFIED])

    def decoded(frame: pd.DataFrame) -> pd.DataFrame:
        """Text columns as objects with None for missing, whatever their encoding."""
        out = frame.copy()
        for col in out.columns:
            if is_dictionary(out[col]) or out[col].dtype == object:
                out[col] = pd.Series(as_object(out[col]), dtype=object)
        return out

    pd.testing.assert_frame_equal(decoded(plain.records), decoded(encoded.records))
    assert (plain.dose_record_ids == encoded.dose_record_ids).tolist() == [True] * 5
    records = plain.records.set_index(c.PERSON_REF)
    # B1's first row has a placeholder phone (→ missing): filled from its second row, so the
    # phone is no conflict; ID, name and birth date differ between its rows.
    assert records.loc["B1", "conflicts"] == f"{c.ID_KEY};{c.NAME_SIMPLIFIED};{c.BIRTH_DATE}"
    assert records.loc["B1", c.PHONE] == "13812345678"
    assert records.loc["B1", f"{c.BIRTH_DATE}_alt"] == pd.Timestamp("1990-02-01")
    assert records.loc["A1", "conflicts"] == ""
    assert records.loc["A2", c.PHONE] == "13912345678"


def assert_same_encoding(left: pd.Series, right: pd.Series) -> None:
    """Equal values, categories in the same order and the same codes."""
    pd.testing.assert_series_equal(left, right)
    assert left.cat.categories.tolist() == right.cat.categories.tolist()
    assert left.cat.codes.tolist() == right.cat.codes.tolist()


def test_expand_with_ids_encodes_like_hashing_the_values() -> None:
    values = np.array(["b", None, "a", "b", "c", "absent"], dtype=object)  # last: missing input
    ids = np.array([5, -1, 3, 5, 9, 7])
    codes = np.array([4, -1, 0, 2, 1, 0, -1, 3])
    hashed = expand(codes, values, dictionary=True)
    assert hashed.cat.categories.tolist() == ["b", "a", "c", "absent"]
    for source in (values, pa.array(values.tolist(), type=pa.string())):
        assert_same_encoding(expand(codes, source, ids=ids, dictionary=True), hashed)
        plain = expand(codes, source, ids=ids, index=pd.RangeIndex(8), name="x")
        assert plain.tolist() == values.take(codes).tolist() and plain.name == "x"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(["张三", "張三", "a", "", " a", "\ud800", 7, np.nan])),
        min_size=1,
        max_size=12,
    )
)
def test_expand_encodes_object_values_as_factorize_does(values: list[object]) -> None:
    # Text is numbered by Arrow's hash; anything Arrow cannot take as text (a number, a lone
    # surrogate) falls back to pandas: the categories and codes are factorize's either way.
    array = np.array(values, dtype=object)
    codes = np.arange(-1, len(values))
    merged, uniques = pd.factorize(array, use_na_sentinel=True)
    out = expand(codes, array, dictionary=True)  # code -1 takes the last value
    assert out.cat.categories.tolist() == list(uniques)
    assert out.cat.codes.tolist() == merged[codes].tolist()


def test_text_ids_are_equal_exactly_when_the_texts_are() -> None:
    texts = ["13812345678", "13812345678", "1381234567X", "1381234567x", "13812345678 "]
    texts += ["１３８１２３４５６７８", "abc", "abc", "", None, "0000000000X", "00000000010"]
    texts += [":3812345678", "XXXXXXXXXXX", "1381234567X"]
    ids = text_ids(pa.array(texts, type=pa.string()), 11)
    for i, left in enumerate(texts):
        for j, right in enumerate(texts):
            assert (ids[i] == ids[j]) == (left == right), (left, right)
    assert (ids == -1).tolist() == [text is None for text in texts]
    widest = text_ids(pa.array(["X" * 18, "9" * 18, None]), 18)
    assert widest[0] > widest[1] > 0 and widest[2] == -1
    with pytest.raises(ValueError, match="width"):
        text_ids(pa.array(["1"]), 19)


def test_from_arrow_merges_many_blocks_in_order_of_first_appearance() -> None:
    # Many distinct digit strings across blocks, with repeats, blanks, padding, nulls and a
    # few other strings.
    rng = np.random.default_rng(5)
    values = [str(v) for v in rng.integers(0, 10**11, 60_000)]
    values[::97] = [" " + v for v in values[::97]]
    values[1::101] = ["0" + v for v in values[::101]]  # next to the same value unpadded
    values[::89] = [""] * len(values[::89])
    values[::83] = ["ref-a"] * len(values[::83])
    values += values[:5000]
    blocks = [pa.array(values[i : i + 7000]).dictionary_encode() for i in range(0, 65_000, 7000)]
    blocks.append(pa.nulls(3))
    column = from_arrow(blocks)
    trimmed = [v.strip() or None for v in values] + [None] * 3
    assert as_object(column).tolist() == trimmed
    arrow = pa.array([v for v in trimmed if v is not None]).dictionary_encode()
    assert column.cat.categories.tolist() == arrow.dictionary.to_pylist()  # first-seen order


def test_categories_read_by_arrow_keep_their_arrow_text_until_forgotten() -> None:
    column = from_arrow(pa.array([" 张三", "李四", "", None, "张三"]))
    _, values = distinct(column)
    known = known_text(values)
    assert known is not None and known.to_pylist() == values.tolist() == ["张三", "李四"]
    assert arrow_strings(values).to_pylist() == ["张三", "李四"]
    assert known_text(values.copy()) is None  # another array, even equal, is not known
    assert known_text(np.array(["张三", "李四"], dtype=object)) is None
    forget_text(column.iloc[:2])  # rows of the column share its categories
    assert known_text(values) is None
    assert arrow_strings(values).to_pylist() == ["张三", "李四"]  # converted instead


def test_remembered_text_goes_with_its_categories() -> None:
    import gc

    gc.collect()  # categories other tests left in reference cycles
    entries = len(dictionary_module._KNOWN_TEXT)
    column = from_arrow(pa.array(["a", "b"]))
    assert len(dictionary_module._KNOWN_TEXT) == entries + 1
    del column
    gc.collect()
    assert len(dictionary_module._KNOWN_TEXT) == entries


def test_expand_remembers_the_text_of_the_categories_it_makes() -> None:
    values = np.array(["a1", "b2", "a1", None], dtype=object)
    text = pa.array(["a1", "b2", "a1", None])
    column = expand(
        np.array([0, 1, 2, -1, 1]), values, ids=np.array([7, 8, 7, -1]), dictionary=True, text=text
    )
    _, categories = distinct(column)
    assert categories.tolist() == ["a1", "b2"]
    assert known_text(categories).to_pylist() == ["a1", "b2"]


def test_arrow_strings_nulls_what_is_not_text() -> None:
    values = np.array(["a", 1, None, "b\ud800", "c"], dtype=object)
    assert arrow_strings(values).to_pylist() == ["a", None, None, None, "c"]
    assert arrow_strings(np.array(["x", "y"], dtype=object)).to_pylist() == ["x", "y"]
    assert ascii_matrix(pa.array(["ab", "cd"]), 2).tolist() == [[97, 98], [99, 100]]


def test_first_seen_numbers_number_keys_as_factorize_does() -> None:
    from matcher.dictionary import first_seen_numbers

    rng = np.random.default_rng(11)
    for size in (1, 5, 300):
        keys = rng.integers(-1, size, 1000)
        numbers, key_of = first_seen_numbers(keys, size)
        expected, uniques = pd.factorize(np.where(keys < 0, np.nan, keys))
        assert numbers.tolist() == expected.tolist()
        assert key_of.tolist() == uniques.astype(np.int64).tolist()
    numbers, key_of = first_seen_numbers(np.empty(0, dtype=np.int64), 4)
    assert len(numbers) == len(key_of) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text("09AZaz １X张 -", max_size=6)), max_size=30))
def test_made_of_is_the_regex_of_the_allowed_bytes(values: list[str | None]) -> None:
    import re

    text = pa.array(values, type=pa.string())
    for part in (text, text.slice(len(values) // 3)):
        expected = [
            v is not None and re.fullmatch("[0-9A-Z]*", v) is not None for v in part.to_pylist()
        ]
        assert made_of(part, b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ").tolist() == expected
