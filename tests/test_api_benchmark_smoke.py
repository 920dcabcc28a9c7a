"""Smoke test of ``benchmarks.api_latency``: ~300 persons on SQLite, every reported field."""

from __future__ import annotations

import json

import pytest

from benchmarks.api_latency import main


@pytest.mark.slow
def test_api_latency_smoke(tmp_path) -> None:
    out = tmp_path / "report.json"
    report = main(
        [
            "--persons", "300", "--backend", "sqlite", "--batch-rows", "300",
            "--single-requests", "40", "--concurrent-requests", "80", "--clients", "4",
            "--person-requests", "20", "--workers", "2", "--data-dir", str(tmp_path / "data"),
            "--work-dir", str(tmp_path / "runs"), "--out", str(out),
        ]
    )  # fmt: skip
    assert json.loads(out.read_text()) == report
    assert report["backend"] == "sqlite" and report["persons"] == 300
    assert report["registrations_loaded"] > 0 and report["dose_rows_loaded"] > 0
    load = report["load"]
    for key in ("store_s", "link_s", "total_s", "persons_per_s", "dose_rows_per_s"):
        assert load[key] > 0
    assert load["persons_linked"] > 0
    single = report["query_single"]
    assert single["errors"] == 0 and single["found_share"] > 0.9
    assert 0 < single["p50_ms"] <= single["p99_ms"]
    concurrent = report["query_concurrent"]
    assert concurrent["errors"] == 0 and concurrent["requests"] == 80 and concurrent["qps"] > 0
    assert 0 < concurrent["p50_ms"] <= concurrent["p99_ms"]
    person = report["person_get"]
    assert person["errors"] == 0 and 0 < person["p50_ms"] <= person["p99_ms"]
    batch = report["batch"]
    assert batch["status"] == "done" and batch["rows"] == 300 and batch["seconds"] > 0
    assert batch["counts"]["rows_accepted"] + batch["counts"]["rows_rejected"] == 300
    assert set(report["targets_met"]) == {"p99_ms_single", "qps_concurrent", "batch_s"}
