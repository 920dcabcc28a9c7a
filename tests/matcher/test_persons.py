"""Person records: one per registration, conflicts kept as alternatives, guardian IDs spotted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import columns as c
from matcher import persons as p
from matcher.dictionary import as_object, encode, is_dictionary, sorted_dictionary
from matcher.normalise import normalise_doses
from matcher.resident_id import checksum_char


def _valid(first17: str) -> str:
    return first17 + checksum_char(first17)


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in c.CANONICAL_COLUMNS:
        if col not in frame:
            frame[col] = None
    frame[c.FILE] = "41.csv"
    frame[c.ROW] = range(2, len(frame) + 2)
    return normalise_doses(frame, today=pd.Timestamp("2023-06-01")).doses


PARENT = _valid("41010219800101123")


def test_one_record_per_registration_with_conflicts_kept() -> None:
    base = {"source": "41", "vaccine": "科兴", "sex": "男", "id_number": PARENT}
    doses = _frame(
        [
            {**base, "person_ref": "A", "name": "张伟", "dose_date": "2021-05-01", "phone": None},
            {**base, "person_ref": "A", "name": "张玮", "dose_date": "2021-06-01",
             "phone": "13912345678"},
            {**base, "person_ref": "B", "name": "李娜", "dose_date": "2021-06-01"},
        ]
    )  # fmt: skip
    built = p.build_person_records(doses)
    records = built.records
    assert len(records) == 2
    assert built.dose_record_ids.tolist() == [0, 0, 1]
    first = records.iloc[0]
    assert first[c.NAME_SIMPLIFIED] == "张伟"
    assert first[f"{c.NAME_SIMPLIFIED}_alt"] == "张玮"
    assert c.NAME_SIMPLIFIED in first[p.CONFLICTS]
    assert first[c.PHONE] == "13912345678"  # a later row fills a missing value
    assert first[p.N_DOSES] == 2


def test_guardian_id_is_not_trusted_but_a_typo_is_explained() -> None:
    base = {"source": "41", "vaccine": "科兴", "dose_date": "2021-06-01", "id_number": PARENT}
    doses = _frame(
        [
            {**base, "person_ref": "parent", "name": "张伟", "birth_date": "1980-01-01"},
            {**base, "person_ref": "child", "name": "张小宝", "birth_date": "2012-03-04"},
            {**base, "person_ref": "typo", "name": "张伟", "birth_date": "1980-01-10"},
        ]
    )
    records = p.build_person_records(doses).records.set_index(c.PERSON_REF)
    assert not records.loc["parent", p.ID_BORROWED]
    assert records.loc["child", p.ID_BORROWED]
    assert pd.isna(records.loc["child", p.TRUSTED_ID])
    assert records.loc["typo", p.TRUSTED_ID] == PARENT
    # the child's effective birth date is its own, the typo record's comes from the ID
    assert records.loc["child", p.BIRTH_KEY] == 20120304
    assert records.loc["typo", p.BIRTH_KEY] == 19800101


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_records_follow_source_and_ref_text_order_whatever_the_row_order(seed: int | None) -> None:
    base = {"vaccine": "科兴", "dose_date": "2021-06-01", "name": "张伟", "sex": "男"}
    refs = [("42", "A9"), ("41", "A10"), ("42", "A10"), ("41", "B"), ("41", "A9")]
    rows = [{**base, "source": s, "person_ref": r} for s, r in refs for _ in range(2)]
    if seed is None:  # already in record order
        frame = pd.DataFrame(rows).sort_values(["source", "person_ref"], kind="stable")
    else:
        frame = pd.DataFrame([rows[i] for i in np.random.default_rng(seed).permutation(len(rows))])
    plain = _frame(frame.to_dict("records"))
    encoded = normalise_doses(
        plain.drop(columns=[col for col in plain if col not in c.CANONICAL_COLUMNS]).apply(encode),
        today=pd.Timestamp("2023-06-01"),
        dictionary=True,
    ).doses
    in_text_order = encoded.assign(
        **{col: sorted_dictionary(encoded[col]) for col in (c.SOURCE, c.PERSON_REF)}
    )
    built = [p.build_person_records(doses) for doses in (plain, encoded, in_text_order)]
    for doses, result in zip((plain, encoded, in_text_order), built, strict=True):
        records = result.records
        keys = list(
            zip(as_object(records[c.SOURCE]), as_object(records[c.PERSON_REF]), strict=True)
        )
        assert keys == sorted(set(refs))
        of_rows = records[c.PERSON_REF].to_numpy(dtype=object)[result.dose_record_ids]
        assert of_rows.tolist() == as_object(doses[c.PERSON_REF]).tolist()
    decoded = [_decoded(result.records) for result in built]
    pd.testing.assert_frame_equal(decoded[0], decoded[1])
    pd.testing.assert_frame_equal(decoded[1], decoded[2])


def _decoded(records: pd.DataFrame) -> pd.DataFrame:
    """Text columns as objects with None for missing, whatever their encoding."""
    out = records.copy()
    for col in out.columns:
        if is_dictionary(out[col]) or out[col].dtype == object:
            out[col] = pd.Series(as_object(out[col]), dtype=object)
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.integers(-106_000, 106_000) | st.integers(-3, 3), max_size=30))
def test_date_keys_are_yyyymmdd(days: list[int | None]) -> None:
    # Spans wider than the number of dates are worked out per date, others per day of the span.
    dates = pd.Series(
        [None if d is None else np.datetime64(d, "D") for d in days], dtype="datetime64[ns]"
    )
    expected = [
        0 if d is None else int(pd.Timestamp(np.datetime64(d, "D")).strftime("%Y%m%d"))
        for d in days
    ]
    assert p._date_key(dates).tolist() == expected


def test_categories_read_by_arrow_are_in_text_order_exactly_when_pandas_says_so() -> None:
    import pyarrow as pa

    from matcher.dictionary import from_arrow
    from matcher.persons import _in_text_order

    for values in (
        ["a", "b", "b2"],
        ["b", "a"],
        ["张", "李"],
        ["李", "张"],
        ["a"],
        ["A", "é", "张"],
    ):
        categories = from_arrow(pa.array(values)).cat.categories
        assert _in_text_order(categories) == categories.is_monotonic_increasing
