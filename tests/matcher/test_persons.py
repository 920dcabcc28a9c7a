"""Person records: one per registration, conflicts kept as alternatives, guardian IDs spotted."""

from __future__ import annotations

import pandas as pd

from matcher import columns as c
from matcher import persons as p
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
