"""Which process applies a batch (``host:pid:start``) and whether that process still runs.

A batch row is committed as ``processing`` with its owner before its rows are written; if the
owner dies (``kill -9``, a crash, a lost database connection), nothing of the batch is stored
(its rows are in one transaction) and the row is marked ``failed`` by the next process that
looks (at start-up and before every upload), so the file can be uploaded again.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

_HOST = socket.gethostname()[:30]


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: fields after its closing parenthesis
    return stat.rsplit(")", 1)[1].split()[19]


def _this_process() -> str:
    pid = os.getpid()
    return f"{_HOST}:{pid}:{_start_time(pid) or '0'}"


_in_flight: set[str] = set()
_lock = threading.Lock()


def me() -> str:
    """This process's owner tag (computed per call: a forked worker has its own pid)."""
    return _this_process()[:64]


def begin(batch_id: str) -> None:
    """This process is applying ``batch_id`` now."""
    with _lock:
        _in_flight.add(batch_id)


def end(batch_id: str) -> None:
    """This process no longer applies ``batch_id`` (done, failed or given up)."""
    with _lock:
        _in_flight.discard(batch_id)


def is_dead(owner: str | None, batch_id: str) -> bool:
    """True when the batch's owner certainly no longer applies it.

    This process: the batch is not in flight here. Another process on this host: no process
    with that pid and start time. Another host: unknown, so False (its next start-up or upload
    marks it).
    """
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if owner == me():
        with _lock:
            return batch_id not in _in_flight
    started = _start_time(pid)
    if started is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False  # a process with that pid runs (no /proc to tell whether it is the same)
    return started != start
