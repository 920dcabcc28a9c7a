"""History queries, person reads and splits (audited); identifiers are masked on the way out."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.auth import Principal, Role
from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database
from api.schemas.v1 import (
    HistoryQueryCreate,
    LinkedRecordPublic,
    PersonPublic,
    SplitCreate,
    SplitPublic,
)
from api.services.errors import Invalid, NotFound
from api.services.linking import link_scope
from matcher.lookup_keys import id_key_of, name_keys_of
from matcher.masking import mask_id, mask_name


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


def _choose(hits: list[repo.IdentityHit], name: str) -> tuple[repo.IdentityHit | None, str]:
    """The person whose records carry the ID and the name (most such records; ties by id)."""
    if not hits:
        return None, "unknown_id"
    wanted, latin, pinyin = name_keys_of(name)
    matching = [
        h
        for h in hits
        if h.person_id
        and (
            h.name_simplified == wanted
            or (latin and h.name_pinyin is not None and h.name_pinyin == pinyin)
        )
    ]
    if not matching:
        return None, "name_mismatch"
    sizes: dict[str, int] = {}
    for h in matching:
        assert h.person_id is not None
        sizes[h.person_id] = sizes.get(h.person_id, 0) + 1
    best = max(sorted(sizes), key=lambda pid: sizes[pid])
    return next(h for h in matching if h.person_id == best), "found"


def _lookup(
    connection: Connection, id_type: str, id_number: str, name: str
) -> tuple[str | None, str | None, str]:
    """(person id, stored history JSON, outcome) for one identity; outcome for the audit only."""
    id_key = id_key_of(id_type, id_number)
    if id_key is None:
        return None, None, "unusable_id"
    hit, outcome = _choose(repo.identity_hits(session=connection, id_key=id_key), name)
    if hit is None:
        return None, None, outcome
    return hit.person_id, hit.history, outcome


def query_histories(database: Database, principal: Principal, body: HistoryQueryCreate) -> bytes:
    """Histories of up to 5 identities as the JSON body of a ``HistoryQueryPublic``; "no such
    ID" and "wrong name" answer alike. Every identity asked is audited before the answer
    leaves (the audit entries commit, or the request fails).

    The busiest path, so Core statements on one connection (no ORM session): one indexed read
    per identity, then one INSERT of the audit entries, committed under
    ``Database.serial_writes``; the stored documents are re-serialised without pydantic.
    """
    results: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    with database.engine.connect() as connection:
        for index, ident in enumerate(body.identities):
            person_id, doc, outcome = _lookup(
                connection, ident.id_type, ident.id_number, ident.name
            )
            audits.append(
                {"action": "history.query", "person_id": person_id, "reason": body.purpose,
                 "detail": {"index": index, "outcome": outcome}}
            )  # fmt: skip
            if person_id is not None and doc is not None:
                history = for_role(orjson.loads(doc), principal.role)
                results.append({"found": True, "history": history})
            else:
                results.append({"found": False, "history": None})
        with database.serial_writes():
            repo.add_audits(session=connection, actor=principal, entries=audits)
            connection.commit()
    return orjson.dumps({"results": results})


def person_view(
    session: Session, principal: Principal, person_id: str, *, audit: bool = True
) -> PersonPublic:
    """One person with masked linked records; 404 when unknown."""
    doc = repo.person_history(session=session, person_id=person_id)
    if doc is None:
        raise NotFound("no such person")
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
        raise NotFound("no such person")
    moving = set(body.record_ids)
    if not moving <= records:
        raise Invalid("record not in this person")
    staying = records - moving
    if not staying:
        raise Invalid("a split must leave at least one record")
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
