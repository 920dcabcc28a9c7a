"""Independent synthetic Chinese immunization-registry generator (written from DOMAIN.md only)."""

from .build import COLUMNS, Dataset, generate
from .rates import SCENARIOS, Rates, rates_for

__all__ = ["COLUMNS", "SCENARIOS", "Dataset", "Rates", "generate", "rates_for"]
