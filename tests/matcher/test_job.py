"""The link job composed once: exports in, persons, pairs, review items and histories out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matcher import columns as c
from matcher.job import Exports, JobResult, combine, prepare_exports, prepare_rows, run_job
from matcher.pipeline import LinkResult
from matcher.settings import MatchSettings
from matcher.synthetic import SyntheticConfig, generate, write_synthetic

TODAY = pd.Timestamp("2023-06-01")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports")
    write_synthetic(generate(SyntheticConfig(persons=400, provinces=3, seed=7)), folder)
    return folder


@pytest.fixture(scope="module")
def job(exports: Path) -> JobResult:
    return run_job(Exports([exports]), MatchSettings(), today=TODAY)


def test_exports_give_persons_pairs_review_and_every_history(job: JobResult) -> None:
    assert job.dose_rows > 0 and job.rows_read >= job.dose_rows
    assert job.records[c.PERSON_ID].notna().all()
    assert set(job.review.index) <= set(job.pairs.index)
    assert job.histories is not None and job.identities is not None
    persons = set(job.histories.persons[c.PERSON_ID].astype(str))
    assert persons == set(job.records[c.PERSON_ID].astype(str))
    assert list(job.stage_seconds)[:2] == ["read", "normalise"]


def test_stored_rows_normalised_once_link_as_the_exports(job: JobResult, exports: Path) -> None:
    read = prepare_exports(Exports([exports]), today=TODAY)
    rows = read.doses[[*c.CANONICAL_COLUMNS, c.ROW]].astype(object)
    for col in (c.BIRTH_DATE, c.DOSE_DATE):
        rows[col] = read.doses[col].dt.strftime("%Y-%m-%d")
    half = len(rows) // 2
    parts = [
        prepare_rows(rows.iloc[:half], today=TODAY),
        prepare_rows(rows.iloc[half:], today=TODAY),
    ]
    stored = run_job(combine(*parts), MatchSettings(), today=TODAY, histories=lambda link: None)
    assert stored.dose_rows == job.dose_rows
    assert stored.identities is not None and c.NAME in stored.identities
    same = pd.merge(
        job.records[[c.SOURCE, c.PERSON_REF, c.PERSON_ID]].astype(str),
        stored.records[[c.SOURCE, c.PERSON_REF, c.PERSON_ID]].astype(str),
        on=[c.SOURCE, c.PERSON_REF],
    )
    assert len(same) == len(job.records)
    assert (same[f"{c.PERSON_ID}_x"] == same[f"{c.PERSON_ID}_y"]).all()


def test_a_selection_merges_only_the_chosen_persons(exports: Path) -> None:
    chosen: list[str] = []

    def first_person(link: LinkResult) -> list[str]:
        chosen.append(str(link.records[c.PERSON_ID].iloc[0]))
        return chosen

    result = run_job(Exports([exports]), MatchSettings(), today=TODAY, histories=first_person)
    assert result.histories is not None
    assert set(result.histories.persons[c.PERSON_ID].astype(str)) == set(chosen)
