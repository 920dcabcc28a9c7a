"""History queries, person reads and splits (audited); identifiers are masked on the way out."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from api import repository as repo
from api.auth import Principal, Role
from api.config import Settings
from api.linkage import link_scope
from api.schemas import (
    HistoryQueryCreate,
    HistoryQueryPublic,
    HistoryResult,
    LinkedRecordPublic,
    PersonPublic,
    SplitCreate,
    SplitPublic,
)
from matcher import columns as c
from matcher.masking import mask_id, mask_name
from matcher.names import normalise_names
from matcher.resident_id import normalise_ids


def for_role(doc: dict[str, Any], role: Role) -> dict[str, Any]:
    """Lot numbers and provincial internal ids are for auditors only (DOMAIN §7)."""
    if role == Role.AUDITOR:
        return doc
    out = dict(doc)
    out["records"] = [{**r, "person_ref": None} for r in doc.get("records", [])]
    out["doses"] = [
        {
            **d,
            "lot_number": None,
            "reported_by": [{**x, "person_ref": None} for x in d.get("reported_by", [])],
        }
        for d in doc.get("doses", [])
    ]
    return out


def linked_record(record: repo.RecordInfo, role: Role) -> LinkedRecordPublic:
    """A record with masked identifiers."""
    return LinkedRecordPublic(
        record_id=record.record_id,
        source=record.source,
        person_ref=record.person_ref if role == Role.AUDITOR else None,
        id_masked=mask_id(record.id_key) if record.id_key else "",
        name_masked=mask_name(record.name_simplified),
        n_doses=record.n_doses,
    )


def _lookup(session: Session, id_type: str, id_number: str, name: str) -> tuple[str | None, str]:
    """(person id or None, outcome) for one identity; the outcome goes to the audit log only."""
    ids = normalise_ids(pd.Series([id_number], dtype=object), pd.Series([id_type], dtype=object))
    id_key = ids[c.ID_KEY].iloc[0]
    if not isinstance(id_key, str):
        return None, "unusable_id"
    records = repo.records_by_id_key(session=session, id_key=id_key)
    if not records:
        return None, "unknown_id"
    names = normalise_names(pd.Series([name], dtype=object)).iloc[0]
    wanted = names[c.NAME_SIMPLIFIED]
    latin = bool(names[c.NAME_IS_LATIN])
    hits = [
        r
        for r in records
        if r.person_id
        and (
            r.name_simplified == wanted
            or (latin and r.name_pinyin is not None and r.name_pinyin == names[c.NAME_PINYIN])
        )
    ]
    if not hits:
        return None, "name_mismatch"
    sizes: dict[str, int] = {}
    for r in hits:
        assert r.person_id is not None
        sizes[r.person_id] = sizes.get(r.person_id, 0) + 1
    return max(sorted(sizes), key=lambda pid: sizes[pid]), "found"


def query_histories(
    session: Session, principal: Principal, body: HistoryQueryCreate
) -> HistoryQueryPublic:
    """Histories of up to 5 identities; "no such ID" and "wrong name" answer alike."""
    results: list[HistoryResult] = []
    for index, ident in enumerate(body.identities):
        person_id, outcome = _lookup(session, ident.id_type, ident.id_number, ident.name)
        doc = (
            None if person_id is None else repo.person_history(session=session, person_id=person_id)
        )
        repo.add_audit(
            session=session, actor=principal, action="history.query", person_id=person_id,
            reason=body.purpose, detail={"index": index, "outcome": outcome},
        )  # fmt: skip
        if doc is None:
            results.append(HistoryResult(found=False, history=None))
        else:
            results.append(HistoryResult(found=True, history=for_role(doc, principal.role)))
    return HistoryQueryPublic(results=results)


def person_view(
    session: Session, principal: Principal, person_id: str, *, audit: bool = True
) -> PersonPublic:
    """One person with masked linked records; 404 when unknown."""
    doc = repo.person_history(session=session, person_id=person_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such person")
    records = repo.records_of_person(session=session, person_id=person_id)
    if audit:
        repo.add_audit(session=session, actor=principal, action="person.read", person_id=person_id)
    return PersonPublic(
        person_id=person_id,
        history=for_role(doc, principal.role),
        records=[linked_record(r, principal.role) for r in records],
    )


def split_person(
    session: Session, settings: Settings, principal: Principal, person_id: str, body: SplitCreate
) -> SplitPublic:
    """Separate records from a person: cannot-link them to the rest, relink, new histories."""
    records = {r.record_id for r in repo.records_of_person(session=session, person_id=person_id)}
    if not records:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such person")
    moving = set(body.record_ids)
    if not moving <= records:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "record not in this person")
    staying = records - moving
    if not staying:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "a split must leave at least one record"
        )
    superseded = repo.supersede_same_decisions(
        session=session, groups=(moving, staying), actor_key_id=principal.key_id
    )
    decision = repo.create_decision(
        session=session, kind="split", verdict="different", reason=body.reason,
        actor_key_id=principal.key_id, person_id=person_id,
        pairs=[(a, b) for a in sorted(moving) for b in sorted(staying)],
    )  # fmt: skip
    stats = link_scope(session, records, settings.matching, today=pd.Timestamp.today().normalize())
    after = sorted({stats.assignments[r] for r in records if r in stats.assignments})
    repo.add_audit(
        session=session, actor=principal, action="person.split", person_id=person_id,
        target=f"decision:{decision.decision_id}", reason=body.reason,
        detail={"records": sorted(moving), "persons_after": after, "superseded": superseded},
    )  # fmt: skip
    return SplitPublic(
        decision_id=decision.decision_id,
        persons=[person_view(session, principal, pid, audit=False) for pid in after],
    )
