"""Domain rules on top of the Fellegi–Sunter score, and the three decision bands."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c
from matcher import persons as p
from matcher.blocking import column_codes
from matcher.compare import LEFT, LEVELS, ONE_CHARACTER, RIGHT, level_column
from matcher.scoring import MATCH_PROBABILITY, MATCH_WEIGHT
from matcher.settings import MatchSettings

__all__ = [
    "DECISION",
    "LEVEL_DOSES",
    "REVIEW_REASON",
    "REVIEW_REASON_TEXT",
    "RULES_FIRED",
    "WEIGHT_RULES",
    "Decision",
    "ReviewReason",
    "Rule",
    "apply_rules",
    "decision_counts",
]

DECISION = "decision"
RULES_FIRED = "rules_fired"
WEIGHT_RULES = "weight_rules"
REVIEW_REASON = "review_reason"  # why a pair in review could not be decided (a ReviewReason)
LEVEL_DOSES = "level_doses"
NAME_SIMILAR_ONLY = 2  # name levels 0-2: different or only Jaro-Winkler-similar
SAME_SIMPLIFIED = LEVELS["name"].index("same_simplified")  # this level and above: one name


class Decision(StrEnum):
    """What happens to a scored pair."""

    MATCH = "match"
    REVIEW = "review"
    NON_MATCH = "non_match"


class Rule(StrEnum):
    """Domain rules that can override or adjust the model."""

    DIFFERENT_VALID_IDS = "different_valid_ids"  # twins: never the same person
    SEX_CONTRADICTS_ID = "sex_contradicts_id"
    SAME_ID_DIFFERENT_NAME = "same_id_different_name"  # guardian's number? → a human decides
    OTHER_NAME_WITHOUT_ID = "other_name_without_id"  # twins/siblings: same date, phone, not name
    DOSE_CONFLICT = "dose_conflict"  # merged history would be implausible: weight only
    CLUSTER_CONFLICT = "cluster_conflict"  # would chain two different valid IDs


class ReviewReason(StrEnum):
    """Why a pair went to review, one per pair: the contradiction that capped it, or the band."""

    SAME_ID_DIFFERENT_NAME = Rule.SAME_ID_DIFFERENT_NAME.value
    OTHER_NAME_WITHOUT_ID = Rule.OTHER_NAME_WITHOUT_ID.value
    CLUSTER_CONFLICT = Rule.CLUSTER_CONFLICT.value
    UNDECIDED_WEIGHT = "undecided_weight"  # weight between the review and match thresholds


REVIEW_REASON_TEXT: dict[str, str] = {
    ReviewReason.SAME_ID_DIFFERENT_NAME: "the same ID number under a different name "
    "(a guardian's number, or a name typed wrong?)",
    ReviewReason.OTHER_NAME_WITHOUT_ID: "no agreeing ID, and names only alike (not a known "
    "variant) or a variant under the other sex (twins or siblings?)",
    ReviewReason.CLUSTER_CONFLICT: "merging would join two different valid ID numbers, or "
    "choose between two holders that fit about equally",
    ReviewReason.UNDECIDED_WEIGHT: "the evidence is between the review and match thresholds",
}


def apply_rules(
    records: pd.DataFrame, scored: pd.DataFrame, settings: MatchSettings
) -> pd.DataFrame:
    """Add ``weight_rules``, adjust the match weight, and decide match / review / non-match."""
    left = scored[LEFT].to_numpy()
    right = scored[RIGHT].to_numpy()
    n = len(scored)
    rule_weight = np.zeros(n, dtype=np.float32)

    trusted_codes = column_codes(records, p.TRUSTED_ID)  # -1: no trusted ID
    trusted_left, trusted_right = trusted_codes[left], trusted_codes[right]
    different_ids = (trusted_left >= 0) & (trusted_right >= 0) & (trusted_left != trusted_right)
    del trusted_left, trusted_right

    contradicts = records[p.SEX_CONTRADICTS_ID].to_numpy(dtype=bool)
    id_level = scored[level_column("id")].to_numpy()
    sex_rule = (id_level >= 2) & (contradicts[left] | contradicts[right])
    rule_weight[sex_rule] += settings.contradiction_weight

    name_level = scored[level_column("name")].to_numpy()
    # The same ID under another name: a guardian's number, or a name typed wrong. A child's
    # record under a guardian's number is told apart by its own birth date; without one (or
    # with an unusable one) the ID's date stands in and only the name differs, so a name that
    # is not a sound- or script-variant of the other caps the pair too.
    stated = records[c.BIRTH_DATE].notna().to_numpy() if c.BIRTH_DATE in records else None
    unstated = np.ones(n, dtype=bool) if stated is None else ~(stated[left] & stated[right])
    same_id_other_name = (id_level >= 2) & (
        (name_level == 0) | (unstated & (name_level >= 0) & (name_level <= ONE_CHARACTER))
    )
    # Only a recognised name variant (homophone, script, pinyin) may carry a merge without an
    # agreeing ID: a merely similar name on the same birth date and phone is a twin or sibling.
    # A variant (one character, fuzzy pinyin, homophone) under the other sex needs two
    # independent errors in one person's record, but is what twins of either sex look like.
    sex_level = scored[level_column("sex")].to_numpy()
    variant_other_sex = (
        (name_level > NAME_SIMILAR_ONLY) & (name_level < SAME_SIMPLIFIED) & (sex_level == 0)
    )
    other_name_no_id = (id_level < 2) & (
        ((name_level >= 0) & (name_level <= NAME_SIMILAR_ONLY)) | variant_other_sex
    )

    # Dose evidence only moves the weight: it never overrules the identity evidence (a dose
    # re-entered elsewhere with its own lot text is a duplicate report, not a conflict).
    dose_conflict = np.zeros(n, dtype=bool)
    if LEVEL_DOSES in scored:
        dose_conflict = scored[LEVEL_DOSES].to_numpy() == 0
        rule_weight[dose_conflict] += settings.dose_conflict_weight

    weight = scored[MATCH_WEIGHT].to_numpy(dtype=np.float32) + rule_weight
    band = np.full(n, _NON_MATCH, dtype=np.int8)
    band[weight >= settings.review_weight] = _REVIEW
    band[weight >= settings.match_weight] = _MATCH
    # Hard contradictions of identity cap a pair at review, however strong the rest.
    reason = np.full(n, _UNDECIDED, dtype=np.int8)
    reason[other_name_no_id] = _OTHER_NAME
    reason[same_id_other_name] = _SAME_ID
    capped = same_id_other_name | other_name_no_id
    band[capped & (band == _MATCH)] = _REVIEW
    band[different_ids] = _NON_MATCH

    rules = (
        (different_ids, Rule.DIFFERENT_VALID_IDS),
        (sex_rule, Rule.SEX_CONTRADICTS_ID),
        (same_id_other_name, Rule.SAME_ID_DIFFERENT_NAME),
        (other_name_no_id, Rule.OTHER_NAME_WITHOUT_ID),
        (dose_conflict, Rule.DOSE_CONFLICT),
    )
    # A bit per rule, then one ';'-joined label per combination (a lookup table of 32).
    bits = np.zeros(n, dtype=np.int8)
    for k, (mask, _) in enumerate(rules):
        bits |= mask.view(np.int8) << k
    labels = np.array(
        [
            ";".join(rule.value for k, (_, rule) in enumerate(rules) if combo >> k & 1)
            for combo in range(1 << len(rules))
        ],
        dtype=object,
    )
    out = scored  # the caller's frame of scored pairs gains the decision columns
    out[WEIGHT_RULES] = rule_weight
    out[MATCH_WEIGHT] = weight
    out[MATCH_PROBABILITY] = (1.0 / (1.0 + np.exp2(-np.clip(weight, -60, 60)))).astype(np.float32)
    out[DECISION] = _BAND_VALUES[band]
    out[RULES_FIRED] = labels[bits]
    out[REVIEW_REASON] = np.where(band == _REVIEW, _REASON_VALUES[reason], "")
    return out


_MATCH, _REVIEW, _NON_MATCH = 0, 1, 2
_UNDECIDED, _OTHER_NAME, _SAME_ID = 0, 1, 2
_REASON_VALUES = np.array(
    [
        ReviewReason.UNDECIDED_WEIGHT.value,
        ReviewReason.OTHER_NAME_WITHOUT_ID.value,
        ReviewReason.SAME_ID_DIFFERENT_NAME.value,
    ],
    dtype=object,
)
_BAND_VALUES = np.array(
    [Decision.MATCH.value, Decision.REVIEW.value, Decision.NON_MATCH.value], dtype=object
)


def decision_counts(decided: pd.DataFrame) -> dict[str, int]:
    """Number of pairs per decision."""
    counts = decided[DECISION].value_counts()
    return {d.value: int(counts.get(d.value, 0)) for d in Decision}


def bool_array(values: pd.Series) -> npt.NDArray[np.bool_]:
    """A boolean numpy array from a possibly nullable Series (NA → False)."""
    return values.fillna(False).to_numpy(dtype=bool)
