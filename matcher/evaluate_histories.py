"""Merged dose histories scored against the true dose events (``truth_doses.csv``).

Each true person is mapped to the predicted person holding most of its records. A person is
exactly right when the merged dose dates (hence the count) and the status (state, date,
booster count) equal the truth. Errors get one cause each, linking causes first. Everything
is vectorised over frames; no loop over persons.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from matcher.columns import DOSE_DATE, PERSON_ID, PERSON_REF, PRODUCT_CODE, SOURCE
from matcher.evaluate import TRUE_PERSON_ID
from matcher.schedules import BOOSTER, PRIMARY, PRIMARY_COMPLETE, PRIMARY_IN_PROGRESS
from matcher.vaccines import CATALOGUE

__all__ = [
    "evaluate_histories",
    "format_history_table",
    "read_histories",
]

KIND: Final = "kind"
# Causes, in the order they are assigned (the first that applies wins).
NOT_LINKED: Final = "records_not_in_histories"  # rejected rows or a missing file
MISSED_MERGE: Final = "missed_merge"  # the true person's records are split over persons
FALSE_MERGE: Final = "false_merge"  # the predicted person also holds another true person
DUPLICATE_NOT_MERGED: Final = "duplicate_not_merged"  # an extra event, every true date present
REAL_DOSES_MERGED: Final = "real_doses_merged"  # a true dose missing, no extra event
DATE_ERROR: Final = "date_error"  # events missing and extra: a survivor with the wrong date
STATUS_ERROR: Final = "status_error"  # dates right, status (state, date, boosters) wrong
CAUSES: Final = (
    NOT_LINKED,
    MISSED_MERGE,
    FALSE_MERGE,
    DUPLICATE_NOT_MERGED,
    REAL_DOSES_MERGED,
    DATE_ERROR,
    STATUS_ERROR,
)
_EXAMPLES: Final = 5


@dataclass(frozen=True, slots=True)
class HistoryEvaluation:
    """Person- and dose-level scores of merged histories."""

    true_persons: int
    exact: int
    exact_share: float  # dates, count and status exactly right
    count_right_share: float  # dose count right (dates may differ)
    errors_by_cause: dict[str, int]
    examples_by_cause: dict[str, list[str]]  # a few true person ids per cause
    # Dose level, on true persons whose records are linked exactly (no linking error):
    true_doses: int
    predicted_doses: int
    duplicate_reports: int  # reports beyond the first of each true event (to be merged)
    unmerged_duplicates: int  # predicted events without a true event on that date
    merged_real_doses: int  # true events without a predicted event on that date
    status_by_state: dict[str, int] = field(default_factory=dict)  # true states

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return asdict(self)


def read_histories(path: str | Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """histories.jsonl → (records, doses, persons) frames keyed by ``person_id``.

    ``doses`` has ``person_id``, ``date``, ``reports`` (length of ``reported_by``); ``persons``
    has ``person_id``, ``state``, ``status_date``, ``booster_count``.
    """
    raw = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    if raw.empty:
        raw = pd.DataFrame(columns=["person_id", "records", "doses", "status"])
    recs = raw[["person_id", "records"]].explode("records").dropna(subset=["records"])
    records = pd.DataFrame(recs["records"].tolist(), columns=[SOURCE, PERSON_REF])
    records[PERSON_ID] = recs["person_id"].to_numpy()
    ev = raw[["person_id", "doses"]].explode("doses").dropna(subset=["doses"])
    dose_frame = pd.DataFrame(ev["doses"].tolist())
    doses = pd.DataFrame(
        {
            PERSON_ID: ev["person_id"].to_numpy(),
            "date": dose_frame["date"].to_numpy() if len(dose_frame) else [],
            "reports": dose_frame["reported_by"].str.len().to_numpy() if len(dose_frame) else [],
        }
    )
    status = pd.DataFrame(raw["status"].tolist(), columns=["state", "date", "booster_count"])
    persons = pd.DataFrame(
        {
            PERSON_ID: raw["person_id"].to_numpy(),
            "state": status["state"].to_numpy(),
            "status_date": status["date"].to_numpy(),
            "booster_count": status["booster_count"].to_numpy(),
        }
    )
    return records, doses, persons


def true_status(truth_doses: pd.DataFrame) -> pd.DataFrame:
    """State, date and booster count per true person from its true dose events (DOMAIN §4)."""
    d = truth_doses.sort_values([TRUE_PERSON_ID, DOSE_DATE], kind="stable")
    person = d[TRUE_PERSON_ID].to_numpy()
    first = np.r_[True, person[1:] != person[:-1]] if len(d) else np.zeros(0, bool)
    series = {code: max(p.primary_doses, 1) for code, p in CATALOGUE.items()}
    need = d[PRODUCT_CODE].map(series).where(first).ffill().fillna(2).to_numpy(np.int64)
    primary = (d[KIND] == PRIMARY).to_numpy()
    rank = d.assign(_p=primary.astype(np.int64)).groupby(TRUE_PERSON_ID, sort=False)["_p"]
    n_primary = rank.cumsum().to_numpy()
    d = d.assign(
        _booster=~primary,
        _completes=primary & (n_primary == need),
        _primary=primary,
    )
    g = d.groupby(TRUE_PERSON_ID, sort=False)
    boosters = g["_booster"].sum()
    complete_date = d[d["_completes"]].groupby(TRUE_PERSON_ID)[DOSE_DATE].first()
    last_booster = d[d["_booster"]].groupby(TRUE_PERSON_ID)[DOSE_DATE].last()
    last_primary = d[d["_primary"]].groupby(TRUE_PERSON_ID)[DOSE_DATE].last()
    out = pd.DataFrame({"booster_count": boosters.astype(np.int64)})
    done = out.index.isin(complete_date.index)
    out["state"] = np.where(
        out["booster_count"] > 0, BOOSTER, np.where(done, PRIMARY_COMPLETE, PRIMARY_IN_PROGRESS)
    )
    out["status_date"] = np.where(
        out["booster_count"] > 0,
        last_booster.reindex(out.index).to_numpy(dtype=object),
        np.where(
            done,
            complete_date.reindex(out.index).to_numpy(dtype=object),
            last_primary.reindex(out.index).to_numpy(dtype=object),
        ),
    )
    return out


def _occurrences(frame: pd.DataFrame, person: str) -> pd.DataFrame:
    """(person, date, k): the k-th event of that person on that date (multiset matching)."""
    out = frame[[person, "date"]].copy()
    out["_k"] = out.groupby([person, "date"], sort=False).cumcount()
    return out


def evaluate_histories(
    truth: pd.DataFrame,
    truth_doses: pd.DataFrame,
    records: pd.DataFrame,
    doses: pd.DataFrame,
    persons: pd.DataFrame,
) -> HistoryEvaluation:
    """Score predicted histories (frames of :func:`read_histories`) against the truth.

    ``truth``: source, person_ref, true_person_id (truth.csv); ``truth_doses``: true_person_id,
    dose_date (ISO text), product_code, kind (truth_doses.csv).
    """
    key = [SOURCE, PERSON_REF]
    t = truth[[*key, TRUE_PERSON_ID]].astype(str)
    r = records[[*key, PERSON_ID]].astype(str)
    both = t.merge(r, on=key, how="left")
    both = both.assign(_found=both[PERSON_ID].notna())
    tp = both[both["_found"]]
    cell = tp.groupby([TRUE_PERSON_ID, PERSON_ID], sort=False).size().rename("n").reset_index()
    cell = cell.sort_values(["n", PERSON_ID], ascending=[False, True], kind="stable")
    best = cell.drop_duplicates(TRUE_PERSON_ID).set_index(TRUE_PERSON_ID)[PERSON_ID]
    n_true_in_pred = cell.groupby(PERSON_ID).size()
    people = pd.DataFrame(index=pd.Index(pd.unique(t[TRUE_PERSON_ID]), name=TRUE_PERSON_ID))
    people["pred"] = best.reindex(people.index)
    people["missing"] = (~both["_found"]).groupby(both[TRUE_PERSON_ID]).any().reindex(people.index)
    people["split"] = cell.groupby(TRUE_PERSON_ID).size().reindex(people.index).fillna(0) > 1
    people["shared"] = people["pred"].map(n_true_in_pred).fillna(0).to_numpy() > 1

    # Dose dates as multisets: true events vs the events of the mapped predicted person.
    td = truth_doses.assign(date=truth_doses[DOSE_DATE].astype(str))
    true_ev = _occurrences(td, TRUE_PERSON_ID)
    # A predicted person is the best match of several true persons in a false merge: its
    # events are compared with the one holding most of its records.
    pairs = cell.drop_duplicates(TRUE_PERSON_ID).drop_duplicates(PERSON_ID)
    owner = pd.Series(pairs[TRUE_PERSON_ID].to_numpy(), index=pairs[PERSON_ID].to_numpy())
    pd_ev = doses[doses[PERSON_ID].isin(owner.index)]
    pd_ev = pd_ev.assign(**{TRUE_PERSON_ID: pd_ev[PERSON_ID].map(owner).to_numpy()})
    pred_ev = _occurrences(pd_ev, TRUE_PERSON_ID)
    joined = true_ev.merge(pred_ev, on=[TRUE_PERSON_ID, "date", "_k"], how="outer", indicator=True)
    side = joined["_merge"].to_numpy()
    who = joined[TRUE_PERSON_ID]
    missing = pd.Series(side == "left_only").groupby(who.to_numpy()).sum()
    extra = pd.Series(side == "right_only").groupby(who.to_numpy()).sum()
    people["missing_doses"] = missing.reindex(people.index).fillna(0).astype(np.int64)
    people["extra_doses"] = extra.reindex(people.index).fillna(0).astype(np.int64)
    people["true_n"] = td.groupby(TRUE_PERSON_ID).size().reindex(people.index).fillna(0)
    pred_n = doses.groupby(PERSON_ID).size()
    people["pred_n"] = people["pred"].map(pred_n).fillna(0).to_numpy()

    status = true_status(td)
    pstat = persons.set_index(PERSON_ID)
    people = people.join(status, how="left")
    for column in ("state", "status_date", "booster_count"):
        people["pred_" + column] = people["pred"].map(pstat[column]).to_numpy()
    people["state"] = people["state"].fillna("not_vaccinated")
    status_ok = (
        (people["state"] == people["pred_state"])
        & (people["status_date"].astype(object).fillna("") == people["pred_status_date"].fillna(""))
        & (people["booster_count"].fillna(0) == people["pred_booster_count"].fillna(-1))
    )
    linked_ok = ~people["missing"].astype(bool) & ~people["split"] & ~people["shared"]
    conditions = [
        people["missing"].astype(bool) | people["pred"].isna(),
        people["split"],
        people["shared"],
        (people["extra_doses"] > 0) & (people["missing_doses"] == 0),
        (people["missing_doses"] > 0) & (people["extra_doses"] == 0),
        (people["missing_doses"] > 0) & (people["extra_doses"] > 0),
        ~status_ok,
    ]
    cause = np.select([c.to_numpy(dtype=bool) for c in conditions], list(CAUSES), default="")
    people["cause"] = cause
    counts = people["cause"].value_counts()
    examples = {
        c: people.index[people["cause"] == c][:_EXAMPLES].astype(str).tolist()
        for c in CAUSES
        if counts.get(c, 0)
    }
    ok = people[linked_ok.to_numpy()]
    good_persons = set(ok["pred"].dropna())
    reports = doses.loc[doses[PERSON_ID].isin(good_persons), "reports"].sum()
    exact = int((cause == "").sum())
    n = len(people)
    return HistoryEvaluation(
        true_persons=n,
        exact=exact,
        exact_share=exact / n if n else 1.0,
        count_right_share=float((people["true_n"] == people["pred_n"]).mean()) if n else 1.0,
        errors_by_cause={c: int(counts.get(c, 0)) for c in CAUSES},
        examples_by_cause=examples,
        true_doses=int(ok["true_n"].sum()),
        predicted_doses=int(ok["pred_n"].sum()),
        duplicate_reports=int(reports - ok["true_n"].sum()),
        unmerged_duplicates=int(ok["extra_doses"].sum()),
        merged_real_doses=int(ok["missing_doses"].sum()),
        status_by_state={str(k): int(v) for k, v in people["state"].value_counts().items()},
    )


def format_history_table(result: HistoryEvaluation) -> str:
    """A plain-text table of the history scores and the errors by cause."""
    lines = [
        f"true persons              {result.true_persons:>12,}",
        f"exactly right             {result.exact:>12,}  ({result.exact_share:.4%})",
        f"dose count right          {result.count_right_share:>12.4%}",
        f"true doses (linked ok)    {result.true_doses:>12,}",
        f"predicted doses           {result.predicted_doses:>12,}",
        f"unmerged duplicates       {result.unmerged_duplicates:>12,}",
        f"merged real doses         {result.merged_real_doses:>12,}",
        "",
        "errors by cause",
    ]
    for cause, count in result.errors_by_cause.items():
        examples = ", ".join(result.examples_by_cause.get(cause, []))
        lines.append(f"  {cause:<26}{count:>10,}  {examples}")
    return "\n".join(lines)
