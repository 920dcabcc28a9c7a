"""Concurrency on the live service: two provinces at once, the same file twice at once, and 16
aggregator clients querying while a batch links (the long version: benchmarks/soak.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from api.config import Settings
from api.db.engine import Database
from tests.reliability import harness


def _commit_order(url: str) -> list[str]:
    database = Database(Settings(database_url=url, migrate_on_start=False))
    with database.transaction() as session:
        order = list(
            session.scalars(
                text("SELECT province FROM batches WHERE status = 'done' ORDER BY finished_at")
            )
        )
    database.dispose()
    return order


def _at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


@pytest.mark.slow
def test_two_provinces_upload_at_once(backend, fresh_url, tmp_path, files):
    server = harness.LiveServer(fresh_url, tmp_path)
    tokens = harness.create_keys(fresh_url)
    server.start()
    try:
        (who_a, a), (who_b, b) = files[0], files[1]
        first, second = _at_once(lambda: server.upload(tokens[who_a], a),
                                 lambda: server.upload(tokens[who_b], b))  # fmt: skip
        assert first.status_code == second.status_code == 200, (first.text, second.text)
        assert first.json()["status"] == second.json()["status"] == "done"
        assert harness.half_applied(fresh_url) == []
        state = harness.store_state(fresh_url)
    finally:
        server.stop()
    # the same store as the two files uploaded one after the other, in the order they applied
    order = {"11": files[0], "31": files[1]}
    sequential = [order[p] for p in _commit_order(fresh_url)]
    reference = harness.reference_store(f"sqlite:///{tmp_path / 'sequential.db'}", sequential)
    assert harness.differences(state, reference) == []


@pytest.mark.slow
def test_same_file_twice_at_once_is_one_batch(backend, fresh_url, tmp_path, files):
    server = harness.LiveServer(fresh_url, tmp_path)
    tokens = harness.create_keys(fresh_url)
    server.start()
    try:
        who, content = files[0]
        answers = _at_once(*(lambda: server.upload(tokens[who], content) for _ in range(3)))
        bodies = [r.json() for r in answers]
        assert [r.status_code for r in answers] == [200, 200, 200], bodies
        assert len({b["batch_id"] for b in bodies}) == 1
        assert sorted(b["duplicate"] for b in bodies) == [False, True, True]
        assert {b["status"] for b in bodies} == {"done"}
        state = harness.store_state(fresh_url)
        assert state["batches"] == {"done": 1}
        assert state["dose_rows"] == content.count(b"\n") - 1
    finally:
        server.stop()


@pytest.mark.slow
def test_sixteen_aggregators_query_while_a_batch_links(
    backend, fresh_url, tmp_path, files, synthetic
):
    """The third batch stalls 2 s inside its transaction (a long link); 16 clients query all
    along: every answer is a 200 (on SQLite the audit writes wait for the batch's commit)."""
    server = harness.LiveServer(fresh_url, tmp_path)
    tokens = harness.create_keys(fresh_url)
    server.start(fault="link.scored@3=sleep:2")
    try:
        for who, content in files[:2]:
            assert server.upload(tokens[who], content).status_code == 200
        identities = [{"id_number": p.id_number, "name": p.name} for p in synthetic.persons[:80]]
        done = threading.Event()
        results: list[tuple[int, float]] = []
        lock = threading.Lock()

        def client(i: int) -> None:
            with httpx.Client(base_url=server.base, timeout=60,
                              headers={"Authorization": f"Bearer {tokens['aggregator']}"}) as http:  # fmt: skip
                n = 0
                while not done.is_set():
                    started = time.perf_counter()
                    body = {"identities": [identities[(i * 7 + n) % len(identities)]]}
                    status = http.post("/v1/histories/query", json=body).status_code
                    with lock:
                        results.append((status, time.perf_counter() - started))
                    n += 1

        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(client, i) for i in range(16)]
            time.sleep(0.5)
            who, content = files[2]
            batch = server.upload(tokens[who], content)
            time.sleep(0.5)
            done.set()
            for f in futures:
                f.result()
        assert batch.status_code == 200 and batch.json()["status"] == "done", batch.text
        statuses = [s for s, _ in results]
        assert len(statuses) > 16
        assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    finally:
        server.stop()
    assert "fault point link.scored: stalling" in server.output()
