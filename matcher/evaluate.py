"""Pairwise precision/recall of a clustering against ground truth, from contingency counts.

Record pairs are never enumerated: with n_ij records in true person i and predicted cluster j,
true-positive pairs are Σ C(n_ij, 2), true pairs Σ_i C(a_i, 2), predicted pairs Σ_j C(b_j, 2).
For a corruption c with n_ijc corrupted records in a cell, the pairs involving at least one
corrupted record are C(n, 2) − C(n − n_c, 2) at every level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from matcher.columns import PERSON_ID, PERSON_REF, SOURCE
from matcher.errors import MissingColumnError, VaxlinkError

__all__ = [
    "TRUE_PERSON_ID",
    "evaluate_clusters",
    "format_table",
]

TRUE_PERSON_ID: Final = "true_person_id"
CORRUPTIONS: Final = "corruptions"
_KEY: Final = [SOURCE, PERSON_REF]


@dataclass(frozen=True, slots=True)
class CorruptionScore:
    """Scores restricted to pairs with at least one record carrying one corruption."""

    records: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Pairwise scores of a clustering, computed on the records present in both files."""

    records: int
    true_persons: int
    predicted_clusters: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float
    f1: float
    exact_share: float  # share of true persons whose predicted cluster is exactly right
    only_in_truth: int  # records in the truth file without a predicted cluster
    only_in_persons: int  # records in the persons file that the truth does not know
    by_corruption: dict[str, CorruptionScore] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return asdict(self)


def _pairs(n: pd.Series | np.ndarray) -> int:
    values = np.asarray(n, dtype=np.int64)
    return int((values * (values - 1) // 2).sum())


def _ratio(num: int, den: int) -> float:
    """num/den, 1.0 when there is nothing to get right (den = 0)."""
    return num / den if den else 1.0


def _check(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise MissingColumnError(what, column, [str(c) for c in frame.columns])
    if frame.duplicated(_KEY).any():
        raise VaxlinkError(f"{what} lists some (source, person_ref) more than once")


def evaluate_clusters(truth: pd.DataFrame, persons: pd.DataFrame) -> Evaluation:
    """Score ``persons`` (source, person_ref, person_id) against ``truth``.

    ``truth`` has source, person_ref, true_person_id and optionally corruptions (``;``-joined
    names). Records present in only one of the two frames are counted, not scored.
    """
    _check(truth, [*_KEY, TRUE_PERSON_ID], "truth")
    _check(persons, [*_KEY, PERSON_ID], "persons")
    left = truth.assign(**{k: truth[k].astype(str) for k in _KEY})
    right = persons[[*_KEY, PERSON_ID]].assign(**{k: persons[k].astype(str) for k in _KEY})
    merged = left.merge(right, on=_KEY, how="outer", indicator=True)
    only_truth = int((merged["_merge"] == "left_only").sum())
    only_persons = int((merged["_merge"] == "right_only").sum())
    both = merged[merged["_merge"] == "both"].reset_index(drop=True)
    true_code = pd.factorize(both[TRUE_PERSON_ID])[0]
    pred_code = pd.factorize(both[PERSON_ID])[0]
    cells = pd.DataFrame({"t": true_code, "p": pred_code})
    n_ij = cells.groupby(["t", "p"], sort=False).size()
    a_i = cells.groupby("t").size()
    b_j = cells.groupby("p").size()
    tp, t_pairs, p_pairs = _pairs(n_ij), _pairs(a_i), _pairs(b_j)
    precision, recall = _ratio(tp, p_pairs), _ratio(tp, t_pairs)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    cell = n_ij.reset_index(name="n")
    exact = (cell["n"].to_numpy() == a_i.loc[cell["t"]].to_numpy()) & (
        cell["n"].to_numpy() == b_j.loc[cell["p"]].to_numpy()
    )
    by_corruption: dict[str, CorruptionScore] = {}
    if CORRUPTIONS in both.columns:
        labels = both[CORRUPTIONS].fillna("").astype(str)
        flags = labels.str.get_dummies(sep=";")
        for name in sorted(flags.columns):
            flag = flags[name].to_numpy()
            by_corruption[name] = _corruption_score(cells, flag)
    return Evaluation(
        records=len(both),
        true_persons=len(a_i),
        predicted_clusters=len(b_j),
        true_pairs=t_pairs,
        predicted_pairs=p_pairs,
        true_positive_pairs=tp,
        precision=precision,
        recall=recall,
        f1=f1,
        exact_share=_ratio(int(exact.sum()), len(a_i)),
        only_in_truth=only_truth,
        only_in_persons=only_persons,
        by_corruption=by_corruption,
    )


def _involving(frame: pd.DataFrame, keys: list[str]) -> int:
    """Σ over groups of C(n, 2) − C(n − n_c, 2): pairs with at least one flagged record."""
    grouped = frame.groupby(keys, sort=False)["c"].agg(["size", "sum"])
    n, c = grouped["size"].to_numpy(), grouped["sum"].to_numpy()
    return _pairs(n) - _pairs(n - c)


def _corruption_score(cells: pd.DataFrame, flag: np.ndarray) -> CorruptionScore:
    frame = cells.assign(c=flag.astype(np.int64))
    tp = _involving(frame, ["t", "p"])
    t_pairs = _involving(frame, ["t"])
    p_pairs = _involving(frame, ["p"])
    return CorruptionScore(
        records=int(flag.sum()),
        true_pairs=t_pairs,
        predicted_pairs=p_pairs,
        true_positive_pairs=tp,
        precision=_ratio(tp, p_pairs),
        recall=_ratio(tp, t_pairs),
    )


def format_table(result: Evaluation) -> str:
    """A plain-text table of the scores, with one line per corruption."""
    lines = [
        f"records scored        {result.records:>12,}",
        f"true persons          {result.true_persons:>12,}",
        f"predicted clusters    {result.predicted_clusters:>12,}",
        f"true / predicted / TP pairs  {result.true_pairs:,} / {result.predicted_pairs:,} / "
        f"{result.true_positive_pairs:,}",
        f"precision             {result.precision:>12.4f}",
        f"recall                {result.recall:>12.4f}",
        f"F1                    {result.f1:>12.4f}",
        f"exact clusters        {result.exact_share:>12.4f}",
        f"only in truth         {result.only_in_truth:>12,}",
        f"only in persons       {result.only_in_persons:>12,}",
    ]
    if result.by_corruption:
        lines.append("")
        lines.append(
            f"{'corruption':<20}{'records':>10}{'true pairs':>12}{'recall':>9}{'precision':>11}"
        )
        for name, score in result.by_corruption.items():
            lines.append(
                f"{name:<20}{score.records:>10,}{score.true_pairs:>12,}"
                f"{score.recall:>9.4f}{score.precision:>11.4f}"
            )
    return "\n".join(lines)
