"""The auditor workbench's views: the queue page, the evidence of one pair, the overview.

Identifiers leave masked; differences are computed on the stored values and sent only as
per-character flags, so an auditor sees *where* two names or IDs differ, not the hidden digits.
"""

from __future__ import annotations

import datetime as dt
from difflib import SequenceMatcher
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from api import repository as repo
from api import repository_review as rrepo
from api import reviews
from api.auth import Principal
from api.config import Settings
from api.linkage import DB_RECORD, normalise_stored
from api.schemas import ReviewPublic
from api.schemas_review import (
    IdChecks,
    MaskedChars,
    OverviewPublic,
    PairRecord,
    PairView,
    QueueProgress,
    QueuePublic,
    WaterfallStep,
)
from matcher import columns as c
from matcher.compare import FIELDS, LEVELS
from matcher.masking import mask_id, mask_name, mask_phone
from matcher.regions import PROVINCES
from matcher.resident_id import is_valid_resident_id
from matcher.settings import MatchSettings


def birth_years(age_min: int | None, age_max: int | None) -> tuple[int | None, int | None]:
    """Age bounds (years) → birth-year bounds, as the /v1 queue computes them."""
    year = dt.date.today().year
    return (
        None if age_max is None else year - age_max,
        None if age_min is None else year - age_min,
    )


def queue(
    session: Session, principal: Principal, *, filters: dict[str, Any], offset: int, limit: int
) -> QueuePublic:
    """A page of the open queue, its count and the auditor's progress (the read is audited)."""
    data, count = rrepo.queue_page(session=session, offset=offset, limit=limit, **filters)
    since = dt.datetime.combine(dt.date.today(), dt.time.min, tzinfo=dt.UTC)
    progress = rrepo.progress(session=session, actor_key_id=principal.key_id, since=since)
    repo.add_audit(
        session=session, actor=principal, action="review.queue",
        detail={"offset": offset, "limit": limit, "returned": len(data)},
    )  # fmt: skip
    return QueuePublic(
        data=data, count=count, offset=offset, limit=limit, progress=QueueProgress(**progress)
    )


def next_open(session: Session, filters: dict[str, Any], exclude: int | None) -> int | None:
    """The first open item in queue order other than ``exclude``."""
    data, _ = rrepo.queue_page(session=session, offset=0, limit=2, **filters)
    return next((d.review_id for d in data if d.review_id != exclude), None)


# --- pair evidence -------------------------------------------------------------------------
def _diff_flags(a: str, b: str) -> tuple[list[bool], list[bool]]:
    left, right = [True] * len(a), [True] * len(b)
    if not a or not b:
        return [False] * len(a), [False] * len(b)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            left[i1:i2] = [False] * (i2 - i1)
            right[j1:j2] = [False] * (j2 - j1)
    return left, right


def _mask_birth(value: str) -> str:
    return value[:8] + "**" if len(value) == 10 else "*" * len(value)


def _masked_pair(a: str, b: str, mask: Any) -> tuple[MaskedChars, MaskedChars]:
    flags_a, flags_b = _diff_flags(a, b)
    out = []
    for raw, flags in ((a, flags_a), (b, flags_b)):
        text = mask(raw) if raw else ""
        out.append(
            MaskedChars(text=text, diff=flags if len(text) == len(flags) else [False] * len(text))
        )
    return out[0], out[1]


def _first(frame: pd.DataFrame, column: str) -> Any:
    values = frame[column].dropna() if column in frame else pd.Series(dtype=object)
    values = values[values.astype(str) != ""]
    return None if values.empty else values.iloc[0]


def _date_text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _facts(frame: pd.DataFrame) -> dict[str, Any]:
    upgraded = _first(frame, c.ID_UPGRADED)
    return {
        "name": str(_first(frame, c.NAME_NORM) or ""),
        "id": str(_first(frame, c.ID_KEY) or ""),
        "status": _first(frame, c.ID_STATUS),
        "upgraded": bool(upgraded) if upgraded is not None else False,
        "id_birth": _date_text(_first(frame, c.ID_BIRTH_DATE)),
        "id_sex": _first(frame, c.ID_SEX),
        "birth": _date_text(_first(frame, c.BIRTH_DATE)),
        "sex": _first(frame, c.SEX),
        "phone": str(_first(frame, c.PHONE) or ""),
    }


def _id_checks(f: dict[str, Any]) -> IdChecks:
    key: str = f["id"]
    resident = len(key) == 18 and key[:17].isdigit()
    id_sex = f["id_sex"] if f["id_sex"] in (c.MALE, c.FEMALE) else None
    return IdChecks(
        status=None if f["status"] is None else str(f["status"]),
        checksum_valid=is_valid_resident_id(key) if resident else None,
        upgraded_15_to_18=f["upgraded"],
        implied_birth_matches=(f["id_birth"] == f["birth"]) if f["id_birth"] and f["birth"] else None,
        implied_sex=id_sex,
        implied_sex_matches=(id_sex == f["sex"]) if id_sex and f["sex"] in (c.MALE, c.FEMALE) else None,
    )  # fmt: skip


def _pair_records(session: Session, review: ReviewPublic) -> list[PairRecord]:
    ids = [review.left.record_id, review.right.record_id]
    raw = repo.load_doses(session=session, record_ids=ids)
    doses = normalise_stored(raw, today=pd.Timestamp.today().normalize())
    a, b = (_facts(doses[doses[DB_RECORD].astype("int64") == rid]) for rid in ids)
    names = _masked_pair(a["name"], b["name"], mask_name)
    numbers = _masked_pair(a["id"], b["id"], mask_id)
    births = _masked_pair(a["birth"], b["birth"], _mask_birth)
    phones = _masked_pair(a["phone"], b["phone"], mask_phone)
    out = []
    for i, (linked, facts) in enumerate(((review.left, a), (review.right, b))):
        out.append(
            PairRecord(
                record_id=linked.record_id, source=linked.source, person_ref=linked.person_ref,
                person_id=review.person_ids[i], name=names[i], id_number=numbers[i],
                birth_date=births[i], phone=phones[i],
                sex=None if facts["sex"] is None else str(facts["sex"]),
                n_doses=linked.n_doses, id_checks=_id_checks(facts),
            )
        )  # fmt: skip
    return out


def waterfall(review: ReviewPublic) -> list[WaterfallStep]:
    """Prior, then each field's weight, then rules, accumulating to the item's match weight."""
    weights = {k: float(v) for k, v in review.weights.items()}
    prior = review.match_weight - sum(weights.values())
    steps = [
        WaterfallStep(key="prior", level=None, weight=round(prior, 3), running=round(prior, 3))
    ]
    running = prior
    for field in FIELDS:
        level = int(review.levels.get(field, -1))
        running += weights.get(field, 0.0)
        steps.append(
            WaterfallStep(
                key=field, level=LEVELS[field][level] if level >= 0 else "missing",
                weight=round(weights.get(field, 0.0), 3), running=round(running, 3),
            )
        )  # fmt: skip
    running += weights.get("rules", 0.0)
    steps.append(
        WaterfallStep(
            key="rules", level=",".join(review.rules_fired) or None,
            weight=round(weights.get("rules", 0.0), 3), running=round(running, 3),
        )
    )  # fmt: skip
    return steps


def _coarse(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """Birth day hidden: with the masked ID's visible digits it would complete the number."""
    if doc is None or not doc.get("birth_date"):
        return doc
    return {**doc, "birth_date": _mask_birth(str(doc["birth_date"]))}


def thresholds(settings: MatchSettings) -> dict[str, float]:
    """The review and match cut-offs (match weights)."""
    return {"review": settings.review_weight, "match": settings.match_weight}


def pair_view(
    session: Session, settings: Settings, principal: Principal, review_id: int,
    filters: dict[str, Any],
) -> PairView:  # fmt: skip
    """Both records with differences and ID checks, the waterfall, histories (audited read)."""
    review = reviews.review_detail(session, principal, review_id)
    review = review.model_copy(
        update={
            "histories": [_coarse(h) for h in review.histories],
            "merged_history": _coarse(review.merged_history),
        }
    )
    return PairView(
        review=review,
        records=_pair_records(session, review),
        waterfall=waterfall(review),
        thresholds=thresholds(settings.matching),
        next_review_id=next_open(session, filters, review_id),
    )


def overview(session: Session, settings: Settings, principal: Principal) -> OverviewPublic:
    """Aggregates for the overview charts (no personal data; the read is audited)."""
    repo.add_audit(session=session, actor=principal, action="review.overview")
    return OverviewPublic(
        provinces=rrepo.province_counts(session=session),
        province_names=dict(PROVINCES),
        flows=rrepo.province_flows(session=session),
        weights=rrepo.weight_histogram(session=session),
        thresholds=thresholds(settings.matching),
        backlog=rrepo.backlog_series(session=session),
        flags=rrepo.flag_counts(session=session),
    )
