"""Pairwise evaluation: hand-computed cases, a brute-force differential test, CLI end to end."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.cli import main
from matcher.errors import MissingColumnError
from matcher.evaluate import evaluate_clusters


def _frames(true_ids: list[str], pred_ids: list[str], corruptions: list[str] | None = None):
    refs = [f"r{i}" for i in range(len(true_ids))]
    truth = pd.DataFrame({"source": "44", "person_ref": refs, "true_person_id": true_ids})
    if corruptions is not None:
        truth["corruptions"] = corruptions
    persons = pd.DataFrame({"source": "44", "person_ref": refs, "person_id": pred_ids})
    return truth, persons


def test_perfect_clustering() -> None:
    result = evaluate_clusters(
        *_frames(["a", "a", "a", "b", "b", "c"], ["x", "x", "x", "y", "y", "z"])
    )
    assert (result.true_pairs, result.predicted_pairs, result.true_positive_pairs) == (4, 4, 4)
    assert result.precision == result.recall == result.f1 == result.exact_share == 1.0


def test_all_singletons() -> None:
    result = evaluate_clusters(*_frames(["a", "a", "a", "b", "b", "c"], list("uvwxyz")))
    assert (result.true_pairs, result.predicted_pairs, result.true_positive_pairs) == (4, 0, 0)
    assert result.precision == 1.0 and result.recall == 0.0 and result.f1 == 0.0
    assert result.exact_share == pytest.approx(1 / 3)  # only singleton person c is exact


def test_one_false_merge() -> None:
    # a,a | b,b | c merged with b: predicted pairs 1 + 3 = 4, TP 2.
    result = evaluate_clusters(*_frames(["a", "a", "b", "b", "c"], ["x", "x", "y", "y", "y"]))
    assert (result.true_pairs, result.predicted_pairs, result.true_positive_pairs) == (2, 4, 2)
    assert result.precision == 0.5 and result.recall == 1.0
    assert result.f1 == pytest.approx(2 / 3)
    assert result.exact_share == pytest.approx(1 / 3)


def test_one_missed_merge() -> None:
    # a has 3 records, split 2 + 1: true pairs 3 + 1 (b), TP 1 + 1.
    result = evaluate_clusters(*_frames(["a", "a", "a", "b", "b"], ["x", "x", "w", "y", "y"]))
    assert (result.true_pairs, result.predicted_pairs, result.true_positive_pairs) == (4, 2, 2)
    assert result.precision == 1.0 and result.recall == 0.5
    assert result.exact_share == 0.5


def test_corruption_breakdown_hand_computed() -> None:
    truth, persons = _frames(
        ["a", "a", "a", "b", "b"],
        ["x", "x", "w", "y", "y"],
        ["", "id_typo", "id_typo;twin", "", "twin"],
    )
    result = evaluate_clusters(truth, persons)
    typo = result.by_corruption["id_typo"]
    # true pairs of a with a typo record: all 3; found: (r0, r1) only.
    assert (typo.records, typo.true_pairs, typo.true_positive_pairs) == (2, 3, 1)
    assert typo.recall == pytest.approx(1 / 3)
    twin = result.by_corruption["twin"]
    assert (twin.true_pairs, twin.true_positive_pairs, twin.recall) == (3, 1, pytest.approx(1 / 3))


def test_records_in_one_file_only_are_reported() -> None:
    truth, persons = _frames(["a", "a", "b"], ["x", "x", "y"])
    persons = pd.concat(
        [
            persons.iloc[:2],
            pd.DataFrame({"source": ["44"], "person_ref": ["zz"], "person_id": ["q"]}),
        ]
    )
    result = evaluate_clusters(truth, persons)
    assert (result.records, result.only_in_truth, result.only_in_persons) == (2, 1, 1)
    with pytest.raises(MissingColumnError):
        evaluate_clusters(truth.drop(columns="true_person_id"), persons)


def _brute_force(true_ids, pred_ids, flags):
    tp = t = p = 0
    by = {name: [0, 0, 0] for name in ("c",)}
    for i, j in itertools.combinations(range(len(true_ids)), 2):
        same_t, same_p = true_ids[i] == true_ids[j], pred_ids[i] == pred_ids[j]
        t += same_t
        p += same_p
        tp += same_t and same_p
        if flags[i] or flags[j]:
            by["c"][0] += same_t
            by["c"][1] += same_p
            by["c"][2] += same_t and same_p
    return t, p, tp, by["c"]


@pytest.mark.parametrize("seed", range(25))
def test_matches_brute_force_pair_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    true_ids = [f"t{v}" for v in rng.integers(0, max(n // 3, 1), size=n)]
    pred_ids = [f"p{v}" for v in rng.integers(0, max(n // 2, 1), size=n)]
    flags = rng.random(n) < 0.3
    truth, persons = _frames(true_ids, pred_ids, ["c" if f else "" for f in flags])
    result = evaluate_clusters(truth, persons.sample(frac=1.0, random_state=seed))
    t, p, tp, by = _brute_force(true_ids, pred_ids, flags)
    assert (result.true_pairs, result.predicted_pairs, result.true_positive_pairs) == (t, p, tp)
    if flags.any():
        c = result.by_corruption["c"]
        assert [c.true_pairs, c.predicted_pairs, c.true_positive_pairs] == by
    exact = sum(
        1
        for person in set(true_ids)
        if len({pred_ids[i] for i in range(n) if true_ids[i] == person}) == 1
        and {i for i in range(n) if true_ids[i] == person}
        == {i for i in range(n) if pred_ids[i] == pred_ids[true_ids.index(person)]}
    )
    assert result.exact_share == pytest.approx(exact / len(set(true_ids)))


def test_cli_synth_then_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth"
    assert (
        main(["synth", "--persons", "400", "--provinces", "3", "--seed", "2", "--out", str(out)])
        == 0
    )
    assert {p.name for p in out.iterdir()} >= {
        "truth.csv",
        "truth_doses.csv",
        "44.csv",
        "37.csv",
        "41.csv",
    }
    truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
    perfect = truth.rename(columns={"true_person_id": "person_id"})[
        ["source", "person_ref", "person_id"]
    ]
    perfect.to_csv(tmp_path / "perfect.csv", index=False)
    capsys.readouterr()
    report = tmp_path / "scores.json"
    code = main(
        [
            "evaluate",
            "--truth",
            str(out / "truth.csv"),
            "--persons",
            str(tmp_path / "perfect.csv"),
            "--json",
            str(report),
        ]
    )
    assert code == 0
    assert "precision" in capsys.readouterr().out
    scores = json.loads(report.read_text(encoding="utf-8"))
    assert scores["precision"] == scores["recall"] == 1.0
    assert scores["records"] == len(truth) and scores["only_in_truth"] == 0
    assert "missing_id" in scores["by_corruption"]
    singletons = perfect.assign(person_id=range(len(perfect)))
    singletons.to_csv(tmp_path / "single.csv", index=False)
    assert (
        main(
            [
                "evaluate",
                "--truth",
                str(out / "truth.csv"),
                "--persons",
                str(tmp_path / "single.csv"),
                "--json",
                str(report),
            ]
        )
        == 0
    )
    assert json.loads(report.read_text(encoding="utf-8"))["recall"] == 0.0
