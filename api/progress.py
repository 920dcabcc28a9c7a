"""Stage progress for long jobs: a tqdm bar on a terminal, silent when piped."""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from tqdm import tqdm

# Bars are drawn from threads of one process: a thread lock will do. (tqdm's default also
# makes a multiprocessing lock, importing multiprocessing: ~10 ms of every command's start.)
if getattr(tqdm, "_lock", None) is None:
    tqdm.set_lock(threading.RLock())


class StageProgress:
    """One bar over a job's stages; ``advance(name)`` marks the next stage as started."""

    def __init__(self, stages: tuple[str, ...], *, description: str) -> None:
        self._bar = tqdm(
            total=len(stages),
            desc=description,
            unit="stage",
            disable=not sys.stderr.isatty(),
            leave=True,
        )
        self._started = False

    def advance(self, name: str) -> None:
        """Finish the running stage (if any) and show ``name`` as running."""
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_postfix_str(name)

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started and exc is None:
            self._bar.update(1)
        self._bar.close()
