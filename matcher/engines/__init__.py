"""Engines that run the link job: ``pandas`` (one process, the default) and ``spark``.

An engine takes a :class:`LinkJob` (exports, settings, optional model) and returns a
:class:`LinkOutput`: the person records with their ``person_id``, the kept pairs, the model,
rejects and field issues, and a writer of the merged histories. Both engines call the same
pure pandas batch functions of ``matcher`` for every matching rule; the output files are
written by the caller from a ``LinkOutput`` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from matcher.errors import VaxlinkError
from matcher.scoring import FSModel
from matcher.settings import MatchSettings

__all__ = [
    "ENGINES",
    "STAGES",
    "Engine",
    "EngineUnavailableError",
    "HistoryWriter",
    "LinkJob",
    "LinkOutput",
    "get_engine",
]

if TYPE_CHECKING:
    from matcher.pipeline import LinkResult
    from matcher.profiles import MappingProfile

ENGINES = ("pandas", "spark")

# Stages every engine reports, in order (the caller adds "write" and "histories").
STAGES = ("read", "normalise", "records", "block", "compare", "train", "score", "cluster")


@dataclass(frozen=True)
class LinkJob:
    """What to link and how."""

    inputs: tuple[Path, ...]
    settings: MatchSettings
    today: pd.Timestamp
    model: FSModel | None = None
    profile: MappingProfile | None = None


# ``(out_folder, fhir)`` → writes histories.jsonl (and histories.fhir.jsonl with ``fhir``).
HistoryWriter = Callable[[Path, bool], None]


@dataclass
class LinkOutput:
    """What an engine produced for the caller to write."""

    result: LinkResult
    rejects: pd.DataFrame
    issues: pd.DataFrame
    files: tuple[str, ...]
    rows_read: int
    doses_accepted: int
    write_histories: HistoryWriter
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_peak_rss_mb: dict[str, float] = field(default_factory=dict)


class Engine(Protocol):
    """Runs the link job's stages (``STAGES``), announcing each to ``on_stage``."""

    name: str

    def link(self, job: LinkJob, on_stage: Callable[[str], None]) -> LinkOutput:
        """Read, normalise and link the exports of ``job``."""
        ...


class EngineUnavailableError(VaxlinkError):
    """An engine whose runtime (pyspark, Java) is not installed."""


def get_engine(
    name: str, *, master: str = "local[2]", conf: Mapping[str, str] | None = None
) -> Engine:
    """The engine called ``name`` (see ``ENGINES``); ``master`` and ``conf``: Spark's."""
    if name == "pandas":
        from matcher.engines.pandas_engine import PandasEngine

        return PandasEngine()
    if name == "spark":
        from matcher.engines.spark import SparkEngine

        return SparkEngine(master=master, conf=dict(conf or {}))
    raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
