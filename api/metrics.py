"""Prometheus metrics in the text exposition format (hand-written; no personal data)."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Request counters and latency histograms per (method, route template)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.batches: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        key = (method, route)
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            counts = self.buckets.setdefault(key, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def batch(self, status: str) -> None:
        """Count a processed batch by outcome (done, duplicate, failed, rejected)."""
        with self._lock:
            self.batches[status] += 1

    def render(self, *, review_backlog: int, batches_stored: dict[str, int]) -> str:
        """The exposition text."""
        lines = [
            "# HELP vaxlink_http_requests_total HTTP requests by method, route and status.",
            "# TYPE vaxlink_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'vaxlink_http_requests_total{{method="{method}",route="{route}",'
                    f'status="{status}"}} {n}'
                )
            lines += [
                "# HELP vaxlink_http_request_duration_seconds Request latency.",
                "# TYPE vaxlink_http_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self.buckets.items()):
                labels = f'method="{method}",route="{route}"'
                for bound, n in zip(BUCKETS, counts, strict=True):
                    lines.append(
                        f'vaxlink_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}'
                    )
                total = self.counts[(method, route)]
                lines.append(
                    f'vaxlink_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}'
                )
                lines.append(
                    f"vaxlink_http_request_duration_seconds_sum{{{labels}}} "
                    f"{self.sums[(method, route)]:.6f}"
                )
                lines.append(f"vaxlink_http_request_duration_seconds_count{{{labels}}} {total}")
            lines += [
                "# HELP vaxlink_batches_processed_total Uploads processed by this process.",
                "# TYPE vaxlink_batches_processed_total counter",
            ]
            for status, n in sorted(self.batches.items()):
                lines.append(f'vaxlink_batches_processed_total{{outcome="{status}"}} {n}')
        lines += [
            "# HELP vaxlink_batches Stored batches by status.",
            "# TYPE vaxlink_batches gauge",
        ]
        for status, n in sorted(batches_stored.items()):
            lines.append(f'vaxlink_batches{{status="{status}"}} {n}')
        lines += [
            "# HELP vaxlink_review_backlog Open review pairs.",
            "# TYPE vaxlink_review_backlog gauge",
            f"vaxlink_review_backlog {review_backlog}",
        ]
        return "\n".join(lines) + "\n"
