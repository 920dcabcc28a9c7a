"""Failed sign-ins per client, counted in a sliding window (defence in depth for the workbench).

Keys are 256-bit random tokens, so guessing one is hopeless; the limit stops a client from
hammering the sign-in form and keeps the audit log readable. In-memory and per worker process:
a client gets at most ``max_failures`` tries per window from each worker.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """At most ``max_failures`` failures per client within ``window_seconds``."""

    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 when it may try now)."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.max_failures:
                return 0.0
            return max(recent[0] + self.window_seconds - self._clock(), 0.0)

    def record_failure(self, client: str) -> None:
        """Count one failed attempt by ``client``."""
        with self._lock:
            self._recent(client).append(self._clock())
            if len(self._failures) > 10_000:  # forget clients whose failures have expired
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def reset(self, client: str) -> None:
        """Forget ``client``'s failures (after a successful sign-in)."""
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        horizon = self._clock() - self.window_seconds
        while recent and recent[0] <= horizon:
            recent.popleft()
        return recent
