"""MatchSettings: every knob of the linking step, validated, frozen, JSON round-trip."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BlockingRule",
    "MatchSettings",
]


class BlockingRule(BaseModel):
    """One blocking rule: records sharing all ``keys`` become candidate pairs.

    Blocks larger than ``max_block_size`` are split by ``sub_keys`` (in order); what is still
    too large is skipped and reported, so no rule can create quadratic work on common names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    keys: tuple[str, ...]
    sub_keys: tuple[str, ...] = ()
    max_block_size: int = Field(default=200, ge=2)


DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule(name="id_key", keys=("id_key",), max_block_size=50),
    BlockingRule(
        name="birth_date_surname",
        keys=("birth_key", "surname"),
        sub_keys=("given_initial", "id_province"),
        max_block_size=200,
    ),
    BlockingRule(
        name="pinyin_birth_year",
        keys=("name_pinyin", "birth_year"),
        sub_keys=("birth_month", "id_province"),
        max_block_size=200,
    ),
    BlockingRule(name="tokens_birth_date", keys=("name_tokens", "birth_key"), max_block_size=200),
    BlockingRule(name="phone", keys=("phone",), sub_keys=("surname",), max_block_size=30),
)


class MatchSettings(BaseModel):
    """Settings of the linking step. Thresholds are match weights (log2 Bayes factors)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocking_rules: tuple[BlockingRule, ...] = DEFAULT_RULES
    one_edit_id_rule: bool = Field(
        default=True, description="block IDs one substitution or transposition apart"
    )
    match_weight: float = Field(default=5.0, description="match weight at or above → match")
    review_weight: float = Field(default=0.0, description="at or above (and below match) → review")
    name_jw_thresholds: tuple[float, ...] = (0.92, 0.8)
    u_sample_pairs: int = Field(default=1_000_000, ge=10_000)
    em_max_pairs: int = Field(default=2_000_000, ge=1_000)
    em_iterations: int = Field(default=25, ge=1)
    em_tolerance: float = Field(default=1e-5, gt=0)
    seed: int = 1
    contradiction_weight: float = Field(
        default=-6.0, le=0, description="added when a stated sex contradicts a valid ID's sex"
    )
    ambiguity_margin: float = Field(
        default=5.0,
        ge=0,
        description="a record without a trusted ID that fits two holders of different IDs "
        "within this match weight of each other joins neither (both pairs go to review)",
    )
    dose_conflict_weight: float = Field(
        default=-4.0, le=0, description="added when merging would give an implausible history"
    )

    @model_validator(mode="after")
    def _check_thresholds(self) -> Self:
        if self.match_weight <= self.review_weight:
            raise ValueError("match_weight must be above review_weight")
        if any(not 0 < t < 1 for t in self.name_jw_thresholds):
            raise ValueError("name_jw_thresholds must lie in (0, 1)")
        return self

    def to_json(self) -> str:
        """Serialise to JSON."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> MatchSettings:
        """Load from JSON text."""
        return cls.model_validate_json(text)

    @classmethod
    def from_path(cls, path: Path) -> MatchSettings:
        """Load from a JSON file."""
        return cls.from_json(path.read_text(encoding="utf-8"))
