"""The link job end to end on synthetic provinces: quality floors, twins, stability, reuse."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from matcher import columns as c
from matcher.evaluate import evaluate_clusters
from matcher.normalise import normalise_doses
from matcher.pipeline import LinkResult, run_link
from matcher.settings import MatchSettings
from matcher.synthetic import PopulationRates, SyntheticConfig, SyntheticData, generate

TODAY = pd.Timestamp("2023-06-01")


def _link(data: SyntheticData, **kwargs: object) -> LinkResult:
    frame = data.doses.copy()
    frame[c.FILE] = frame[c.SOURCE] + ".csv"
    frame[c.ROW] = np.arange(len(frame)) + 2
    doses = normalise_doses(frame, today=TODAY).doses
    return run_link(doses, MatchSettings(), **kwargs)  # type: ignore[arg-type]


def _persons(result: LinkResult) -> pd.DataFrame:
    return result.records[[c.SOURCE, c.PERSON_REF, c.PERSON_ID]]


@pytest.fixture(scope="module")
def synthetic() -> SyntheticData:
    return generate(SyntheticConfig(persons=6000, provinces=8, seed=11))


@pytest.fixture(scope="module")
def linked(synthetic: SyntheticData) -> LinkResult:
    return _link(synthetic)


def test_quality_floors_on_synthetic_provinces(
    synthetic: SyntheticData, linked: LinkResult
) -> None:
    evaluation = evaluate_clusters(synthetic.truth, _persons(linked))
    assert evaluation.precision >= 0.998
    assert evaluation.recall >= 0.99
    assert len(linked.review) <= 0.005 * len(linked.records)


def test_many_twins_with_different_valid_ids_are_never_merged() -> None:
    population = replace(PopulationRates(), twins=0.4)
    data = generate(SyntheticConfig(persons=4000, provinces=6, seed=5, population=population))
    result = _link(data)
    truth = data.truth.merge(_persons(result), on=[c.SOURCE, c.PERSON_REF])
    twins = truth[truth["corruptions"].str.contains("twin")]
    assert twins["true_person_id"].nunique() > 1000  # the set really has many twins
    # No predicted person holds records of two different true persons among the twins.
    mixed = twins.groupby(c.PERSON_ID)["true_person_id"].nunique()
    assert (mixed <= 1).all(), f"{int((mixed > 1).sum())} persons merge two twins"
    # And no predicted person carries two different trusted resident IDs.
    records = result.records
    trusted = records[records["trusted_id"].notna()]
    assert (trusted.groupby(c.PERSON_ID)["trusted_id"].nunique() <= 1).all()


def test_person_ids_are_stable_across_reruns(synthetic: SyntheticData, linked: LinkResult) -> None:
    again = _link(synthetic)
    pd.testing.assert_frame_equal(_persons(linked), _persons(again))


def test_saved_model_is_reused(synthetic: SyntheticData, linked: LinkResult) -> None:
    from matcher.scoring import FSModel

    model = FSModel.from_json(linked.model.to_json())
    reused = _link(synthetic, model=model)
    assert reused.model is model
    pd.testing.assert_frame_equal(_persons(linked), _persons(reused))


def test_summary_reports_pairs_per_rule_and_stages(linked: LinkResult) -> None:
    summary = linked.summary()
    assert set(summary["candidate_pairs_per_rule"]) >= {"id_key", "phone", "id_one_edit"}
    assert summary["candidate_pairs"] <= sum(summary["candidate_pairs_per_rule"].values())
    assert summary["persons"] == linked.records[c.PERSON_ID].nunique() < len(linked.records)
    assert set(summary["stage_seconds"]) == {
        "records",
        "block",
        "compare",
        "train",
        "score",
        "cluster",
    }


def test_auditor_decisions_override_the_model(synthetic: SyntheticData, linked: LinkResult) -> None:
    from matcher.blocking import block_pairs
    from matcher.compare import LEFT, RIGHT
    from matcher.pipeline import ManualDecisions

    records = linked.records
    candidates, _ = block_pairs(records, MatchSettings())
    kept = set(zip(linked.pairs[LEFT].tolist(), linked.pairs[RIGHT].tolist(), strict=True))
    untrusted = records["trusted_id"].isna().to_numpy()
    # a candidate pair the model scored below the review band (one side without a trusted
    # ID, so no constraint stops the merge), and a matched pair
    low = next(
        (a, b)
        for a, b in zip(candidates[LEFT].tolist(), candidates[RIGHT].tolist(), strict=True)
        if (a, b) not in kept and untrusted[a]
    )
    matched = linked.pairs[linked.pairs["decision"] == "match"].iloc[0]
    split = (int(matched[LEFT]), int(matched[RIGHT]))
    manual = ManualDecisions(
        same=(np.array([low[1]]), np.array([low[0]])),  # either order
        different=(np.array([split[0]]), np.array([split[1]])),
    )
    result = _link(synthetic, manual=manual, model=linked.model)
    pairs = result.pairs.set_index([LEFT, RIGHT])
    assert pairs.loc[low, "decision"] == "match"
    assert pairs.loc[low, "manual"] == "same"
    person = result.records[c.PERSON_ID].to_numpy()
    assert person[low[0]] == person[low[1]]
    assert split not in pairs.index  # a non-match now, so not kept


def test_record_keys_are_the_same_joined_by_arrow_or_string_by_string() -> None:
    import pyarrow as pa

    from matcher.dictionary import from_arrow
    from matcher.pipeline import _record_keys

    sources = ["41", "61", "41", "11"]
    refs = ["R2", "张三|1", "R10", "R2"]
    read = pd.DataFrame(
        {c.SOURCE: from_arrow(pa.array(sources)), c.PERSON_REF: from_arrow(pa.array(refs))}
    )
    plain = pd.DataFrame({c.SOURCE: sources, c.PERSON_REF: refs}, dtype=object)
    rows = np.array([3, 0, 1])
    expected = ["11|R2", "41|R2", "61|张三|1"]
    assert _record_keys(read)(rows).to_pylist() == expected
    assert _record_keys(plain)(rows).to_pylist() == expected


def test_review_pairs_say_why_and_near_certain_ones_have_a_hard_contradiction(
    linked: LinkResult,
) -> None:
    from matcher.decisions import REVIEW_REASON, ReviewReason
    from matcher.scoring import MATCH_PROBABILITY

    review = linked.review
    assert len(review) > 0
    assert review[REVIEW_REASON].isin([r.value for r in ReviewReason]).all()
    certain = review[review[MATCH_PROBABILITY] >= 0.999]
    assert not (certain[REVIEW_REASON] == ReviewReason.UNDECIDED_WEIGHT.value).any()
    assert (linked.pairs.loc[linked.pairs["decision"] != "review", REVIEW_REASON] == "").all()
