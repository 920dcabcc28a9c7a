"""Hand-made registrations for the review cases an auditor must tell apart on the screen.

Each case is a few dose rows added to the synthetic provinces; ``CASES`` names the two records
(source, person_ref) of each pair. The matcher decides what happens to them; the tests look the
pairs up by these references.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from matcher.columns import CANONICAL_COLUMNS
from matcher.resident_id import checksum_char
from tests.api.factories import Synthetic


def resident_id(first17: str) -> str:
    """A valid 18-character number."""
    return first17 + checksum_char(first17)


GUARDIAN_ID = resident_id("41010519800307123")
TWIN_A_ID = resident_id("44030620150611001")
# The twin brother's number (sequence 011) with the check character of his brother's: one
# character apart, and the check fails.
TWIN_B_ID = "44030620150611011" + TWIN_A_ID[-1]
SHARED_ID = resident_id("31011519870412204")
OWN_ID = resident_id("11010819900808226")


@dataclass(frozen=True)
class Case:
    """Two registrations that should meet in the review queue."""

    name: str
    left: tuple[str, str]
    right: tuple[str, str]


CASES: tuple[Case, ...] = (
    Case("guardian", ("11", "G000001"), ("31", "G000002")),
    Case("twin", ("44", "W000001"), ("11", "W000002")),
    Case("shared_id", ("31", "S000001"), ("44", "S000002")),
    Case("no_id", ("11", "N000001"), ("44", "N000002")),
)


def _row(source: str, ref: str, id_number: str, name: str, sex: str, birth: str, phone: str,
         dose_date: str, vaccine: str) -> dict[str, str]:  # fmt: skip
    return {
        "source": source, "person_ref": ref, "id_type": "居民身份证" if id_number else "",
        "id_number": id_number, "name": name, "sex": sex, "birth_date": birth, "phone": phone,
        "dose_date": dose_date, "vaccine": vaccine, "lot_number": f"C{ref[1:]}{dose_date[-2:]}",
        "dose_seq": "1", "site": f"{source}0101001",
    }  # fmt: skip


def case_rows() -> pd.DataFrame:
    """Dose rows of every case."""
    rows = [
        # A child registered once under a guardian's number (the ID says 1980, she was born in
        # 2016) and once without any number, her name written with a homophone.
        _row("11", "G000001", GUARDIAN_ID, "王小雨", "女", "2016-05-02", "13912345678",
             "2021-11-20", "国药北京"),
        _row("31", "G000002", "", "王晓雨", "女", "2016-05-02", "", "2022-01-08", "国药北京"),
        # Twin brothers born the same day; the second's number has a wrong check character.
        _row("44", "W000001", TWIN_A_ID, "陈思涵", "男", "2015-06-11", "13600001111",
             "2021-10-09", "科兴"),
        _row("44", "W000001", TWIN_A_ID, "陈思涵", "男", "2015-06-11", "13600001111",
             "2021-11-06", "科兴"),
        _row("11", "W000002", TWIN_B_ID, "陈思远", "男", "2015-06-11", "13600001111",
             "2021-12-20", "科兴"),
        # One number, two names (a mother's number for her daughter?); the second record gives
        # no birth date, so the matcher takes the one the number implies.
        _row("31", "S000001", SHARED_ID, "朱丽", "女", "1987-04-12", "13711112222",
             "2021-05-06", "国药武汉"),
        _row("44", "S000002", SHARED_ID, "朱婷婷", "女", "", "13711112222",
             "2021-06-10", "国药武汉"),
        # One record with its own number, the other with none, a name merely similar.
        _row("11", "N000001", OWN_ID, "李静", "女", "1990-08-08", "13522223333",
             "2021-03-15", "智飞"),
        _row("44", "N000002", "", "李晶晶", "女", "1990-08-08", "13522223333",
             "2021-04-19", "智飞"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(CANONICAL_COLUMNS))


def with_cases(synthetic: Synthetic) -> Synthetic:
    """The synthetic provinces with the cases' rows added."""
    doses = pd.concat([synthetic.doses, case_rows()], ignore_index=True)
    return Synthetic(doses, synthetic.truth, synthetic.persons)
