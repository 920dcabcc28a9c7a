"""Fast histories.jsonl rendering: byte-identical to the dict-based documents."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from matcher.columns import LOT_NUMBER, NAME, PERSON_ID, PERSON_REF, SITE, SOURCE
from matcher.histories import build_histories, history_documents
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
