"""Identity first, nothing lost: the situations of issue 14 built from scratch and linked.

Each test adds a few hand-made registrations to a synthetic background (so the model trains
on a realistic population) and runs the link job and the histories as ``vaxlink link`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from matcher import columns as c
from matcher.decisions import DECISION, Decision
from matcher.histories import Histories, build_histories
from matcher.normalise import NormaliseResult, normalise_doses
from matcher.pipeline import LinkResult, run_link
from matcher.resident_id import checksum_char
from matcher.schedules import flag_names
from matcher.settings import MatchSettings
from matcher.synthetic import SyntheticConfig, generate

TODAY = pd.Timestamp("2023-06-01")


def _id(first17: str) -> str:
    return first17 + checksum_char(first17)


def row(source: str, ref: str, dose_date: str, **fields: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = dict.fromkeys(c.CANONICAL_COLUMNS)
    base.update(
        {c.SOURCE: source, c.PERSON_REF: ref, c.DOSE_DATE: dose_date, c.VACCINE: "国药北京"}
    )
    base.update(fields)
    return base


@dataclass
class Linked:
    normalised: NormaliseResult
    result: LinkResult
    histories: Histories
    first_row: int  # the file row of the first hand-made row

    @property
    def issues(self) -> pd.DataFrame:
        """Field issues of the hand-made rows (the background has its own)."""
        issues = self.normalised.issues
        return issues[issues[c.ROW] >= self.first_row].reset_index(drop=True)

    def person_of(self, source: str, ref: str) -> str:
        records = self.result.records
        hit = (records[c.SOURCE].astype(str) == source) & (records[c.PERSON_REF].astype(str) == ref)
        return str(records.loc[hit, c.PERSON_ID].iloc[0])

    def events_of(self, person: str) -> pd.DataFrame:
        events = self.histories.events
        return events[events[c.PERSON_ID] == person].reset_index(drop=True)

    def person_flags(self, person: str) -> list[str]:
        persons = self.histories.persons
        return flag_names(int(persons.loc[persons[c.PERSON_ID] == person, "flags"].iloc[0]))

    def in_review(self, *keys: tuple[str, str]) -> bool:
        pairs = self.result.pairs
        records = self.result.records
        wanted = {
            int(records.index[(records[c.SOURCE].astype(str) == s) & (records[c.PERSON_REF].astype(str) == r)][0])
            for s, r in keys
        }  # fmt: skip
        review = pairs[pairs[DECISION] == Decision.REVIEW.value]
        ends = zip(review["record_id_l"], review["record_id_r"], strict=True)
        return any({int(a), int(b)} <= wanted for a, b in ends)


@pytest.fixture(scope="module")
def background() -> pd.DataFrame:
    return generate(SyntheticConfig(persons=3000, provinces=6, seed=21)).doses


def link(background: pd.DataFrame, rows: list[dict[str, str | None]]) -> Linked:
    frame = pd.concat([background, pd.DataFrame(rows, dtype=object)], ignore_index=True)
    frame[c.FILE] = frame[c.SOURCE].astype(str) + ".csv"
    frame[c.ROW] = np.arange(len(frame)) + 2
    normalised = normalise_doses(frame, today=TODAY)
    doses = normalised.doses
    result = run_link(doses, MatchSettings(u_sample_pairs=20_000))
    doses = doses.assign(
        **{c.PERSON_ID: result.records[c.PERSON_ID].to_numpy()[result.dose_record_ids]}
    )
    return Linked(normalised, result, build_histories(doses, today=TODAY), len(background) + 2)


ADULT = _id("44010519800615003")
PERSON = {c.ID_NUMBER: ADULT, c.NAME: "钟晓燕", c.SEX: "女", c.BIRTH_DATE: "1980-06-15",
          c.PHONE: "13912345678"}  # fmt: skip


def test_dose_re_entered_by_another_province_under_a_new_registration(background) -> None:
    # Guangdong gave two doses; Gansu re-enters the first from the paper certificate under a
    # new registration: its own lot text, generic product wording, dated a day late.
    rows = [
        row("44", "GD1", "2021-05-01", **PERSON, **{c.LOT_NUMBER: "202105B4218"}),
        row("44", "GD1", "2021-05-29", **PERSON, **{c.LOT_NUMBER: "202105B4470"}),
        row("62", "GS9", "2021-05-02", **PERSON,
            **{c.LOT_NUMBER: "b4218-2021", c.VACCINE: "新冠疫苗", c.DOSE_SEQ: "1"}),
    ]  # fmt: skip
    linked = link(background, rows)
    person = linked.person_of("44", "GD1")
    assert linked.person_of("62", "GS9") == person
    assert not linked.in_review(("44", "GD1"), ("62", "GS9"))
    events = linked.events_of(person)
    assert events[c.DOSE_DATE].dt.strftime("%Y-%m-%d").tolist() == ["2021-05-01", "2021-05-29"]
    assert "reports_disagree" in flag_names(int(events["flags"].iloc[0]))
    assert len(linked.histories.reports.query("event_id == @events.event_id[0]")) == 2
    status = linked.histories.persons.set_index(c.PERSON_ID).loc[person, "status"]
    assert status == "primary_complete"


@pytest.mark.parametrize("birth", ["1980-90-15", "1980-02-30", "2080-06-15", None])
def test_a_bad_or_missing_birth_date_keeps_the_dose_and_the_link(background, birth) -> None:
    rows = [
        row("44", "GD1", "2021-05-01", **PERSON),
        row("62", "GS9", "2021-06-01", **{**PERSON, c.BIRTH_DATE: birth}),
    ]
    linked = link(background, rows)
    person = linked.person_of("44", "GD1")
    assert linked.person_of("62", "GS9") == person
    assert len(linked.events_of(person)) == 2
    issues = linked.issues
    if birth is None:
        assert issues.empty
    else:
        assert issues[c.FIELD].tolist() == [c.BIRTH_DATE]
        assert "birth_date_unusable" in linked.person_flags(person)


def test_a_row_with_only_phone_and_birth_date_is_its_own_record_and_kept(background) -> None:
    rows = [
        row("44", "GD1", "2021-05-01", **PERSON),
        row("62", "GS9", "2021-06-01",
            **{c.PHONE: PERSON[c.PHONE], c.BIRTH_DATE: PERSON[c.BIRTH_DATE], c.SEX: "女"}),
    ]  # fmt: skip
    linked = link(background, rows)
    assert linked.normalised.rejects.empty
    assert linked.issues[c.FIELD].tolist() == [c.NAME]
    anonymous = linked.person_of("62", "GS9")
    assert "identity_incomplete" in linked.person_flags(anonymous)
    assert len(linked.events_of(anonymous)) >= 1  # its dose is in a history


def test_an_anonymous_record_never_joins_twins_sharing_its_phone(background) -> None:
    twin_a, twin_b = _id("44010519800615003"), _id("44010519800615005")
    family = {c.SEX: "女", c.BIRTH_DATE: "1980-06-15", c.PHONE: "13912345678"}
    rows = [
        row("44", "A", "2021-05-01", **family, **{c.ID_NUMBER: twin_a, c.NAME: "钟晓燕"}),
        row("44", "B", "2021-05-01", **family, **{c.ID_NUMBER: twin_b, c.NAME: "钟晓艳"}),
        row("62", "X", "2021-06-01", **family),
    ]
    linked = link(background, rows)
    a, b, x = (linked.person_of(s, r) for s, r in (("44", "A"), ("44", "B"), ("62", "X")))
    assert a != b
    assert x not in (a, b)  # phone, birth date and sex cannot tell which twin it is


def test_a_child_under_a_guardians_number_without_a_birth_date_is_not_merged(background) -> None:
    guardian = {c.ID_NUMBER: ADULT, c.SEX: "女", c.PHONE: "13912345678"}
    rows = [
        row("44", "MOTHER", "2021-05-01", **guardian, **{c.NAME: "欧秀英", c.BIRTH_DATE: "1980-06-15"}),
        row("62", "CHILD", "2021-11-01", **guardian, **{c.NAME: "欧秀萍"}),  # no birth date
    ]  # fmt: skip
    linked = link(background, rows)
    assert linked.person_of("44", "MOTHER") != linked.person_of("62", "CHILD")
    assert linked.in_review(("44", "MOTHER"), ("62", "CHILD"))


def test_a_name_variant_under_the_other_sex_is_reviewed_not_merged(background) -> None:
    """Twins of either sex: same birth date and phone, homophone names, no IDs. The same
    pair but for the sex is a typo of one person, and links."""
    family = {c.BIRTH_DATE: "2016-05-13", c.PHONE: "13291632551"}
    rows = [
        row("65", "BOY", "2021-05-01", **family, **{c.NAME: "臧宇", c.SEX: "男"}),
        row("31", "GIRL", "2021-06-01", **family, **{c.NAME: "臧语", c.SEX: "女"}),
        row("44", "TYPO", "2021-06-01", **family, **{c.NAME: "钟语嫣", c.SEX: "女"}),
        row("62", "SAME", "2021-05-01", **family, **{c.NAME: "钟雨嫣", c.SEX: "女"}),
    ]
    linked = link(background, rows)
    assert linked.person_of("65", "BOY") != linked.person_of("31", "GIRL")
    assert linked.in_review(("65", "BOY"), ("31", "GIRL"))
    assert linked.person_of("44", "TYPO") == linked.person_of("62", "SAME")
