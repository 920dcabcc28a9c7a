"""Fault points for crash tests: ``VAXLINK_FAULT_POINT`` kills (or stalls) the process at a stage.

Inert unless the variable is set. Its value is a comma-separated list of ``name[@n][=action]``:
the n-th time (default the first; ``*`` every time) the code reaches ``reached(name)`` in
this process, the action runs — ``kill`` (default: SIGKILL to this process, as ``kill -9``
from outside), ``sleep:SECONDS`` (a stall, e.g. while a test restarts the database) or
``log`` (a log line naming the stage, to tell where a kill from outside landed). ``tests/reliability``
and ``benchmarks/crash_upload.py`` use it to crash the real service at chosen moments.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass

ENV = "VAXLINK_FAULT_POINT"
logger = logging.getLogger("vaxlink.faults")
# The stages of one upload, in order (``reached`` accepts only these names).
POINTS = (
    "upload.staged",  # the request body copied to the temp file
    "upload.parsed",  # the export read (matcher.ingest)
    "upload.normalised",  # the rows normalised and checked
    "batch.claimed",  # the batch row committed as ``processing``
    "batch.stored",  # records, doses and rejects written (uncommitted)
    "link.scored",  # candidate pairs scored and clustered
    "link.histories",  # the merged histories of the changed persons built
    "link.persisted",  # persons, record assignments and review pairs written
    "batch.committing",  # the batch marked done, just before COMMIT
    "batch.committed",  # after COMMIT, before the answer is sent
    "relink.histories",  # full relink: every history rebuilt (uncommitted)
)


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    nth: int  # 0: every time
    action: str


def _parse(spec: str) -> list[_Rule]:
    rules = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        head, _, action = part.partition("=")
        name, _, nth = head.partition("@")
        if name not in POINTS:
            raise ValueError(f"{ENV}: unknown fault point {name!r} (known: {', '.join(POINTS)})")
        rules.append(_Rule(name, 0 if nth == "*" else int(nth or 1), action or "kill"))
    return rules


_counts: dict[str, int] = {}
_lock = threading.Lock()


def reached(name: str) -> None:
    """Mark that this process reached stage ``name``; act if ``VAXLINK_FAULT_POINT`` says so."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    with _lock:
        _counts[name] = count = _counts.get(name, 0) + 1
    for rule in _parse(spec):
        if rule.name != name or rule.nth not in (0, count):
            continue
        if rule.action == "log":
            logger.info("fault point %s reached (%d)", name, count)
        elif rule.action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif rule.action.startswith("sleep:"):
            seconds = float(rule.action.removeprefix("sleep:"))
            logger.warning("fault point %s: stalling %.1f s", name, seconds)
            time.sleep(seconds)
        else:
            raise ValueError(f"{ENV}: unknown action {rule.action!r} (kill or sleep:SECONDS)")
