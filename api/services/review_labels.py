"""Why a pair is in review, as message keys: the rules fired, worded for the pair's ID numbers,
or the undecided band when no rule fired.

The matcher's rule ``other_name_without_id`` fires whenever the ID numbers do not agree (none on
one side, a guardian's number, other documents, or two numbers one digit apart); the label says
which of these it is, so "无证件" is only shown when a record has no ID number. The rule's own
key (``rule_other_name_without_id``) is the generic wording used where no pair is at hand.
"""

from __future__ import annotations

from collections.abc import Iterable

from matcher.decisions import Rule


def rule_keys(
    rules: Iterable[str], *, has_ids: tuple[bool, bool], id_level: int,
    guardian: bool = False, other_documents: bool = False,
) -> list[str]:  # fmt: skip
    """The message key of each rule fired, in order."""
    out = []
    for rule in rules:
        if rule != Rule.OTHER_NAME_WITHOUT_ID.value:
            out.append(f"rule_{rule}")
        elif not all(has_ids):
            out.append("rule_other_name_no_id")
        elif guardian:
            out.append("rule_other_name_guardian_id")
        elif id_level >= 0:
            out.append("rule_other_name_ids_disagree")
        elif other_documents:
            out.append("rule_other_name_other_documents")
        else:
            out.append("rule_other_name_id_unusable")
    return out


def reasons(
    rules: Iterable[str], band: str, *, has_ids: tuple[bool, bool], id_level: int,
    guardian: bool = False, other_documents: bool = False,
) -> list[str]:  # fmt: skip
    """The rules' keys, or the band's (``reason_band_<band>``) when no rule fired."""
    keys = rule_keys(
        rules, has_ids=has_ids, id_level=id_level, guardian=guardian,
        other_documents=other_documents,
    )  # fmt: skip
    return keys or [f"reason_band_{band}"]
