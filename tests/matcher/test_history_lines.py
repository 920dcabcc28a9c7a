"""Fast histories.jsonl rendering: byte-identical to the dict-based documents."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from matcher.columns import LOT_NUMBER, NAME, PERSON_ID, PERSON_REF, SITE, SOURCE
from matcher.dictionary import sorted_dictionary
from matcher.histories import HISTORY_COLUMNS, build_histories, history_documents
from matcher.history_lines import write_history_lines
from matcher.normalise import normalise_doses
from matcher.synthetic import SyntheticConfig, generate

TODAY = pd.Timestamp("2023-06-01")


@pytest.fixture(scope="module")
def linked() -> pd.DataFrame:
    data = generate(SyntheticConfig(400, 6, seed=3, legacy_exports=False))
    doses = normalise_doses(data.doses, today=TODAY).doses
    truth = data.truth[[SOURCE, PERSON_REF, "true_person_id"]]
    doses = doses.merge(truth, on=[SOURCE, PERSON_REF], how="left")
    return doses.rename(columns={"true_person_id": PERSON_ID})


def _both(doses: pd.DataFrame, identities: pd.DataFrame) -> tuple[str, str]:
    histories = build_histories(doses, today=TODAY)
    old = "".join(
        json.dumps(d, ensure_ascii=False, default=str) + "\n"
        for d in history_documents(histories, identities)
    )
    buffer = io.StringIO()
    lines = write_history_lines(histories, identities, buffer)
    assert lines == len(histories.persons)
    return buffer.getvalue(), old


def test_same_lines_as_the_documents(linked: pd.DataFrame) -> None:
    new, old = _both(linked, linked.drop_duplicates([SOURCE, PERSON_REF]))
    assert new.count("\n") == linked[PERSON_ID].nunique() > 300
    assert new == old


def test_same_lines_with_awkward_values(linked: pd.DataFrame) -> None:
    doses = linked.copy()
    doses.loc[doses.index[:5], LOT_NUMBER] = ['a"b', "c\\d", "e\nf", None, "\x01"]
    doses.loc[doses.index[5:8], SITE] = [None, "站\t点", ""]
    doses.loc[doses.index[8:10], NAME] = [None, "  "]
    identities = doses.drop_duplicates([SOURCE, PERSON_REF])
    # A person known only through doses (no identity row) and an identity without doses.
    identities = identities[identities[PERSON_ID] != doses[PERSON_ID].iloc[-1]]
    extra = identities.iloc[:1].assign(**{PERSON_ID: "nobody"})
    new, old = _both(doses, pd.concat([identities, extra]))
    assert '"records": [], "identifiers": [], "name": null' in new
    assert new == old


def test_same_bytes_to_a_binary_file(linked: pd.DataFrame) -> None:
    identities = linked.drop_duplicates([SOURCE, PERSON_REF])
    text, _ = _both(linked, identities)
    buffer = io.BytesIO()
    write_history_lines(build_histories(linked, today=TODAY), identities, buffer)
    assert buffer.getvalue() == text.encode("utf-8")


def _lines(doses: pd.DataFrame, identities: pd.DataFrame) -> str:
    buffer = io.StringIO()
    write_history_lines(build_histories(doses, today=TODAY), identities, buffer)
    return buffer.getvalue()


def test_dictionary_encoded_person_ids(linked: pd.DataFrame) -> None:
    # As the link job passes them: categories in text order, so codes are person positions;
    # and categories that are not exactly the persons (a missing id, an unknown person).
    identities = linked.drop_duplicates([SOURCE, PERSON_REF])
    ids = identities[PERSON_ID].astype(object)
    ordered = identities.assign(**{PERSON_ID: sorted_dictionary(ids)})
    assert _lines(linked, ordered) == _both(linked, identities)[1]
    odd = ids.to_numpy(copy=True)
    odd[:2] = [None, "nobody"]
    other = identities.assign(**{PERSON_ID: pd.Categorical(odd)})
    assert _lines(linked, other) == _both(linked, identities.assign(**{PERSON_ID: odd}))[1]


def test_history_columns_are_all_build_histories_reads(linked: pd.DataFrame) -> None:
    # The link job drops every other dose column before building the histories.
    cut = linked[[c for c in linked.columns if c in HISTORY_COLUMNS]]
    assert len(cut.columns) < len(linked.columns)
    full, part = build_histories(linked, today=TODAY), build_histories(cut, today=TODAY)
    for name in ("events", "persons", "reports"):
        pd.testing.assert_frame_equal(getattr(full, name), getattr(part, name))
