"""Schemathesis against the live service: a seeded subset of benchmarks/fuzz_api.py (every
operation × role × mode). No answer ≥ 500, no traceback in a body or the server's log, every
422 names its field."""

from __future__ import annotations

import pytest

from benchmarks.fuzz_api import TRACEBACK, fuzz, known_ids, seeded_service

CASES = {"sqlite": 700, "postgresql": 300}


@pytest.mark.slow
def test_fuzzed_requests_get_clear_4xx(backend, fresh_url, tmp_path):
    server, tokens = seeded_service(tmp_path, fresh_url)
    try:
        report = fuzz(server.base, tokens, cases=CASES[backend], seed=16, ids=known_ids(fresh_url))
    finally:
        server.stop()
    assert report.cases >= CASES[backend]
    assert len(report.per_operation) >= 20, "every operation of the OpenAPI was called"
    assert report.failures == []
    assert (report.server_errors, report.tracebacks, report.unnamed_422) == (0, 0, 0)
    assert not TRACEBACK.search(server.output())
