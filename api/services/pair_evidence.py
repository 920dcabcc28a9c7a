"""The two records of a review pair as the role may see them, and how their identifiers relate.

An auditor sees both names in full with the kind of each difference (``matcher.name_diff``),
full birth dates, and of the ID numbers and phones only the differing characters (at most
``MAX_REVEALED`` of them; the rest stays masked: a full birth date next to the usual
first-6-last-4 mask would complete the number). Every other role gets the usual masks. A full
ID number is only given by ``reveal_id``, which the caller audits.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from api.auth import Role
from api.db import repository as repo
from api.schemas.review import EvidenceView, IdChecks, IdComparison, MaskedChars, PairRecord
from api.schemas.v1 import ReviewPublic
from api.services.record_index import DB_RECORD, normalise_stored
from matcher import columns as c
from matcher import persons as p
from matcher.masking import mask_id, mask_name, mask_phone
from matcher.name_diff import NameDiffKind, diff_names
from matcher.resident_id import is_valid_resident_id

MAX_REVEALED: Final = 4  # more differing characters than this: positions marked, kept masked
_SEGMENTS: Final = (("region", 0, 6), ("birth", 6, 14), ("sequence", 14, 17), ("check", 17, 18))


@dataclass(frozen=True, slots=True)
class Facts:
    """One record's identity values as the matcher derived them (raw: mask before showing)."""

    record_id: int
    name: str
    id_key: str
    id_written: str
    status: str | None
    doc_type: str | None
    upgraded: bool
    id_birth: str
    id_sex: str | None
    birth: str
    sex: str | None
    phone: str
    trusted: bool
    borrowed: bool
    birth_key: int
    id_province: str | None

    @property
    def resident_shape(self) -> bool:
        return self.doc_type in p.RESIDENT_DOC_TYPES and len(self.id_key) == 18


def view_of(role: Role) -> EvidenceView:
    """Auditors get the auditor view; every other role the masked one."""
    return "auditor" if role == Role.AUDITOR else "masked"


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _date(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _optional(value: Any) -> str | None:
    return _text(value) or None


def load_facts(session: Session, record_ids: list[int], today: pd.Timestamp) -> dict[int, Facts]:
    """Facts of stored records, from their dose rows through the matcher's own record builder."""
    raw = repo.load_doses(session=session, record_ids=record_ids)
    doses = normalise_stored(raw, today=today)
    built = p.build_person_records(doses)
    records = built.records
    db = np.zeros(len(records), dtype=np.int64)
    db[built.dose_record_ids] = doses[DB_RECORD].to_numpy(dtype=np.int64)
    out: dict[int, Facts] = {}
    for i, row in enumerate(records.to_dict("records")):
        upgraded = row.get(c.ID_UPGRADED)
        out[int(db[i])] = Facts(
            record_id=int(db[i]), name=_text(row.get(c.NAME)), id_key=_text(row.get(c.ID_KEY)),
            id_written=_text(row.get(c.ID_NUMBER)), status=_optional(row.get(c.ID_STATUS)),
            doc_type=_optional(row.get(c.ID_DOC_TYPE)),
            upgraded=bool(upgraded) if not pd.isna(upgraded) else False,
            id_birth=_date(row.get(c.ID_BIRTH_DATE)), id_sex=_optional(row.get(c.ID_SEX)),
            birth=_date(row.get(c.BIRTH_DATE)), sex=_optional(row.get(c.SEX)),
            phone=_text(row.get(c.PHONE)), trusted=bool(_text(row.get(p.TRUSTED_ID))),
            borrowed=bool(row.get(p.ID_BORROWED)), birth_key=int(row.get(p.BIRTH_KEY) or 0),
            id_province=_optional(row.get(c.ID_PROVINCE)),
        )  # fmt: skip
    return out


# --- sources of derived fields (which value the matcher compared) --------------------------
def birth_source(f: Facts) -> str:
    """``id`` when the compared birth date is the one the ID number implies, else stated/missing."""
    if f.birth_key <= 0:
        return "missing"
    implied = int(f.id_birth.replace("-", "")) if f.id_birth else 0
    if f.birth_key == implied and (f.trusted or not f.birth):
        return "id"
    return "stated"


def sex_source(f: Facts) -> str:
    """Stated sex first; else a trusted ID's (as ``matcher.compare`` takes it)."""
    if f.sex in (c.MALE, c.FEMALE):
        return "stated"
    return "id" if f.trusted and f.id_sex in (c.MALE, c.FEMALE) else "missing"


def region_source(f: Facts) -> str:
    """The region compared is always the ID's province (none for a guardian's number)."""
    return "id" if f.id_province and not f.borrowed else "missing"


# --- identifiers -----------------------------------------------------------------------------
def _positions(a: str, b: str) -> list[int]:
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def _one_edit(a: str, b: str, diff: list[int]) -> bool:
    """One substitution, or two adjacent characters swapped."""
    if len(diff) == 1:
        return True
    if len(diff) != 2 or diff[1] != diff[0] + 1:
        return False
    i, j = diff
    return a[i] == b[j] and a[j] == b[i]


def compare_ids(a: Facts, b: Facts, view: EvidenceView) -> IdComparison:
    """What kind of difference there is between the two ID numbers, and where."""

    def result(relation: str, diff: list[int] | None = None, segments: list[str] | None = None,
               revealed: bool = False) -> IdComparison:  # fmt: skip
        return IdComparison(relation=relation, positions=[i + 1 for i in diff or []],
                            segments=segments or [], revealed=revealed)  # fmt: skip

    if not a.id_key and not b.id_key:
        return result("none_given")
    if not a.id_key or not b.id_key:
        return result("one_missing")
    if a.doc_type != b.doc_type or len(a.id_key) != len(b.id_key):
        return result("other_documents")
    if a.id_key == b.id_key:
        return result("upgraded" if a.upgraded != b.upgraded else "same")
    diff = _positions(a.id_key, b.id_key)
    revealed = view == "auditor" and len(diff) <= MAX_REVEALED
    if not a.resident_shape:
        return result("different", diff, [], revealed)
    segments = [name for name, lo, hi in _SEGMENTS if any(lo <= i < hi for i in diff)]
    both_valid = is_valid_resident_id(a.id_key) and is_valid_resident_id(b.id_key)
    in_sequence = set(segments) <= {"sequence", "check"}
    if not both_valid and _one_edit(a.id_key, b.id_key, diff):
        # One character apart: a typo, unless it is the sequence code, which is also what
        # separates two people born the same day in the same place (twins).
        relation = "typo_or_twin" if "sequence" in segments and in_sequence else "typo"
    elif in_sequence:
        relation = "twin"
    else:
        relation = "different"
    return result(relation, diff, segments, revealed)


def _flags(a: str, b: str) -> tuple[list[bool], list[bool]]:
    """Per character: not part of a common run (difflib), for values of any length."""
    if not a or not b:
        return [False] * len(a), [False] * len(b)
    left, right = [True] * len(a), [True] * len(b)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            left[i1:i2] = [False] * (i2 - i1)
            right[j1:j2] = [False] * (j2 - j1)
    return left, right


def masked_pair(a: str, b: str, mask: Any) -> tuple[MaskedChars, MaskedChars]:
    """Both values masked, flags on the masked characters (where the mask keeps the length)."""
    flags = _flags(a, b)
    out = []
    for raw, flag in zip((a, b), flags, strict=True):
        text = mask(raw) if raw else ""
        out.append(
            MaskedChars(text=text, diff=flag if len(text) == len(flag) else [False] * len(text))
        )
    return out[0], out[1]


def revealed_pair(a: str, b: str, base: Any) -> tuple[MaskedChars, MaskedChars]:
    """Equal-length values: ``base`` masking, plus the differing characters shown when there
    are at most ``MAX_REVEALED`` of them (else only marked)."""
    if not a or not b or len(a) != len(b):
        return masked_pair(a, b, base)
    diff = set(_positions(a, b))
    show = len(diff) <= MAX_REVEALED
    out = []
    for raw in (a, b):
        masked = base(raw)
        text = "".join(ch if (i in diff and show) else masked[i] for i, ch in enumerate(raw))
        out.append(MaskedChars(text=text, diff=[i in diff for i in range(len(raw))]))
    return out[0], out[1]


def _mask_all(value: str) -> str:
    return "*" * len(value)


def mask_birth(value: str) -> str:
    """A birth date to the month (``1990-01-**``)."""
    return value[:8] + "**" if len(value) == 10 else "*" * len(value)


def _ids(a: Facts, b: Facts, view: EvidenceView) -> tuple[MaskedChars, MaskedChars]:
    if view != "auditor":
        return masked_pair(a.id_key, b.id_key, mask_id)
    if a.resident_shape or b.resident_shape:  # a full birth date is shown: mask everything else
        return revealed_pair(a.id_key, b.id_key, _mask_all)
    return revealed_pair(a.id_key, b.id_key, mask_id)


def _names(
    a: Facts, b: Facts, view: EvidenceView
) -> tuple[tuple[MaskedChars, MaskedChars], list[str]]:
    diff = diff_names(a.name, b.name)
    kinds = [k.value for k in diff.kinds]
    out = []
    for text, per_char in ((diff.left, diff.left_kinds), (diff.right, diff.right_kinds)):
        flags = [k != NameDiffKind.SAME for k in per_char]
        if view == "auditor":
            out.append(MaskedChars(text=text, diff=flags, kinds=[k.value for k in per_char]))
        else:
            masked = mask_name(text)
            out.append(
                MaskedChars(
                    text=masked, diff=flags if len(masked) == len(flags) else [False] * len(masked)
                )
            )
    return (out[0], out[1]), kinds


def _years_apart(f: Facts) -> int | None:
    if not f.id_birth or not f.birth:
        return None
    return abs(int(f.id_birth[:4]) - int(f.birth[:4]))


def id_checks(f: Facts, view: EvidenceView) -> IdChecks:
    """What the ID number itself says (the implied birth date to the month unless auditor)."""
    resident = len(f.id_key) == 18 and f.id_key[:17].isdigit()
    id_sex = f.id_sex if f.id_sex in (c.MALE, c.FEMALE) else None
    return IdChecks(
        status=f.status, checksum_valid=is_valid_resident_id(f.id_key) if resident else None,
        upgraded_15_to_18=f.upgraded,
        implied_birth_matches=(f.id_birth == f.birth) if f.id_birth and f.birth else None,
        implied_sex=id_sex,
        implied_sex_matches=(id_sex == f.sex) if id_sex and f.sex in (c.MALE, c.FEMALE) else None,
        implied_birth=(f.id_birth if view == "auditor" else f.id_birth[:7]) or None,
        years_apart=_years_apart(f), guardian_id=f.borrowed,
    )  # fmt: skip


def pair_records(
    review: ReviewPublic, facts: dict[int, Facts], view: EvidenceView
) -> tuple[list[PairRecord], list[str]]:
    """Both sides as the view allows, and the kinds of name difference."""
    a, b = facts[review.left.record_id], facts[review.right.record_id]
    names, kinds = _names(a, b, view)
    ids = _ids(a, b, view)
    if view == "auditor":
        births = masked_pair(a.birth, b.birth, str)
        phones = revealed_pair(a.phone, b.phone, mask_phone)
    else:
        births = masked_pair(a.birth, b.birth, mask_birth)
        phones = masked_pair(a.phone, b.phone, mask_phone)
    out = []
    for i, (linked, f) in enumerate(((review.left, a), (review.right, b))):
        history = review.histories[i] or {}
        out.append(
            PairRecord(
                record_id=linked.record_id, source=linked.source, person_ref=linked.person_ref,
                person_id=review.person_ids[i], name=names[i], id_number=ids[i],
                birth_date=births[i], phone=phones[i], sex=f.sex,
                sex_from_id=f.id_sex if f.id_sex in (c.MALE, c.FEMALE) else None,
                n_doses=linked.n_doses, n_person_records=len(history.get("records", [])),
                id_checks=id_checks(f, view),
            )
        )  # fmt: skip
    return out, kinds


def reveal_number(f: Facts) -> tuple[str, str | None]:
    """The full key and, when the province wrote it otherwise, the number as written."""
    written = f.id_written.strip()
    return f.id_key, (written if written and written != f.id_key else None)
