"""History accuracy against truth_doses: exact share and errors by cause."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from matcher.evaluate_histories import evaluate_histories, read_histories

TRUTH = pd.DataFrame(
    {
        "source": ["44", "62", "44", "44", "11"],
        "person_ref": ["a", "b", "c", "d", "e"],
        "true_person_id": ["T1", "T1", "T2", "T3", "T4"],
    }
)
TRUTH_DOSES = pd.DataFrame(
    {
        "true_person_id": ["T1", "T1", "T2", "T2", "T3", "T4", "T4"],
        "dose_date": [
            "2021-04-01",
            "2021-05-01",
            "2021-04-01",
            "2021-05-01",
            "2021-06-01",
            "2021-04-01",
            "2021-05-01",
        ],
        "product_code": ["BBIBP", "BBIBP", "BBIBP", "BBIBP", "AD5", "BBIBP", "BBIBP"],
        "kind": ["primary"] * 7,
    }
)


def _line(pid: str, refs: list[tuple[str, str]], dates: list[str], state: str, date: str) -> str:
    doc = {
        "person_id": pid,
        "records": [{"source": s, "person_ref": r} for s, r in refs],
        "doses": [{"date": d, "reported_by": [{"source": "44"}]} for d in dates],
        "status": {"state": state, "date": date, "booster_count": 0},
    }
    return json.dumps(doc) + "\n"


def test_errors_by_cause(tmp_path: Path) -> None:
    path = tmp_path / "histories.jsonl"
    path.write_text(
        _line(
            "P1",
            [("44", "a"), ("62", "b")],
            ["2021-04-01", "2021-05-01"],
            "primary_complete",
            "2021-05-01",
        )  # fmt: skip
        + _line(
            "P2",
            [("44", "c")],
            ["2021-04-01", "2021-04-02", "2021-05-01"],
            "primary_complete",
            "2021-05-01",
        )  # fmt: skip
        + _line("P3", [("44", "d")], ["2021-06-01"], "primary_in_progress", "2021-06-01")
        + _line(
            "P4", [("11", "e")], ["2021-04-01", "2021-05-01"], "primary_complete", "2021-05-01"
        )  # fmt: skip
    )
    result = evaluate_histories(TRUTH, TRUTH_DOSES, *read_histories(path))
    assert result.true_persons == 4
    assert result.exact == 2  # T1 (two provinces merged) and T4
    assert result.errors_by_cause["duplicate_not_merged"] == 1  # T2: a duplicate kept
    assert result.errors_by_cause["status_error"] == 1  # T3: Ad5 completes the series
    assert result.unmerged_duplicates == 1 and result.merged_real_doses == 0


def test_linking_errors_come_first() -> None:
    records = pd.DataFrame(
        {
            "source": ["44", "62", "44", "44", "11"],
            "person_ref": ["a", "b", "c", "d", "e"],
            "person_id": ["P1", "P9", "P2", "P2", "P4"],
        }
    )
    doses = pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P2", "P2", "P2", "P4", "P4"],
            "date": [
                "2021-04-01",
                "2021-05-01",
                "2021-04-01",
                "2021-05-01",
                "2021-06-01",
                "2021-04-01",
                "2021-05-01",
            ],
            "reports": [1] * 7,
        }
    )
    persons = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P4", "P9"],
            "state": ["primary_complete"] * 3 + ["not_vaccinated"],
            "status_date": ["2021-05-01"] * 3 + [None],
            "booster_count": [0, 0, 0, 0],
        }
    )
    result = evaluate_histories(TRUTH, TRUTH_DOSES, records, doses, persons)
    assert result.errors_by_cause["missed_merge"] == 1  # T1 split over P1 and P9
    assert result.errors_by_cause["false_merge"] == 2  # T2 and T3 both in P2
    assert result.exact == 1
