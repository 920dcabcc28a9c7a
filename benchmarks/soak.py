"""A bounded soak of the live service on loopback, and 16 aggregators querying while a large
batch links.

1. **Load**: ``vaxlink serve`` (one worker) in a subprocess on 127.0.0.1; provinces 11 and 31
   of a synthetic set (``tests/api/factories.make_synthetic``) uploaded over HTTP.
2. **Batch under load**: 16 aggregator clients query histories (``POST /v1/histories/query``)
   while province 44's export (``--batch-persons`` sets its size; 50k rows at the default)
   is uploaded and linked; every answer's status and latency is kept.
3. **Soak** for ``--minutes`` (at most 10): 8 query clients, one client reading persons,
   batches and the review queue, and an uploader posting a fresh 300-row batch (new
   registrations of stored persons and new persons) every 20 s. Errors are answers ≥ 500,
   unexpected statuses and failed connections; p99 latency per minute; the server's resident
   memory sampled every 5 s — start (after the first minute's warm-up) vs end — in all
   (``VmRSS``) and its heap part (``RssAnon``; the rest is mapped files, on SQLite mostly its
   memory-mapped database, which grows with the store).

Run: ``nice python -m benchmarks.soak --minutes 10 --out benchmarks/results/soak-sqlite.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tests.api.factories import Synthetic, make_synthetic
from tests.reliability import harness

MAX_MINUTES = 10.0


@dataclass
class Samples:
    """(start time since the phase began, kind, status, seconds) of every request."""

    started: float = field(default_factory=time.monotonic)
    rows: list[tuple[float, str, int, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int, seconds: float, ok: bool, note: str = "") -> None:
        with self.lock:
            self.rows.append((time.monotonic() - seconds - self.started, kind, status, seconds))
            if not ok:
                self.errors.append(f"{kind} {status} {note}"[:300])


def rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    """Resident memory of a process in kB (Linux ``/proc``): ``VmRSS`` in all, ``RssAnon``
    (heap: what a leak grows) or ``RssFile`` (mapped files: SQLite's mmap of the database)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(http: httpx.Client, samples: Samples, kind: str, method: str, path: str,
          ok_statuses: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response | None:  # fmt: skip
    started = time.perf_counter()
    try:
        response = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        samples.add(kind, 0, time.perf_counter() - started, False, repr(exc))
        return None
    ok = response.status_code in ok_statuses
    samples.add(kind, response.status_code, time.perf_counter() - started, ok,
                "" if ok else response.text[:200])  # fmt: skip
    return response


def query_client(base: str, token: str, identities: list[dict[str, str]], stop: threading.Event,
                 samples: Samples, offset: int) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        n = offset
        while not stop.is_set():
            body = {"identities": [identities[n % len(identities)]]}
            timed(http, samples, "query", "POST", "/v1/histories/query", json=body)
            n += 17


def fresh_batch(synthetic: Synthetic, round_no: int, rows: int = 300) -> bytes:
    """Province 44 rows: new registrations (refs of this round) of stored persons, other
    persons each round (a daily batch, not the same persons ever more often)."""
    pool = synthetic.doses[synthetic.doses["source"] == "11"]
    start = (round_no * rows) % max(1, len(pool) - rows)
    part = pool.iloc[start : start + rows].copy()
    part["source"] = "44"
    part["person_ref"] = f"S{round_no:04d}-" + part["person_ref"].astype(str)
    part["dose_date"] = (pd.Timestamp("2022-01-01") + pd.Timedelta(days=round_no)).strftime(
        "%Y-%m-%d"
    )
    buffer = io.StringIO()
    part.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def batch_under_load(server: harness.LiveServer, tokens: dict[str, str], content: bytes,
                     identities: list[dict[str, str]], clients: int = 16) -> dict[str, Any]:  # fmt: skip
    """``clients`` query clients running while one large batch is uploaded and linked."""
    samples = Samples()
    stop = threading.Event()
    threads = [threading.Thread(target=query_client, args=(server.base, tokens["aggregator"],
               identities, stop, samples, i * 101)) for i in range(clients)]  # fmt: skip
    for t in threads:
        t.start()
    time.sleep(2)
    started = time.monotonic() - samples.started
    upload_started = time.perf_counter()
    response = server.upload(tokens["up44"], content, filename="44.csv", timeout=3600)
    batch_seconds = time.perf_counter() - upload_started
    ended = time.monotonic() - samples.started
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join()
    # every query that overlapped the batch (started before it ended, ended after it started)
    during = [s for t, _, _, s in samples.rows if t <= ended and t + s >= started]
    return {
        "batch_rows": content.count(b"\n") - 1, "batch_status": response.status_code,
        "batch_counts": response.json().get("counts"), "batch_seconds": round(batch_seconds, 2),
        "queries": len(samples.rows), "queries_during_batch": len(during),
        "errors": len(samples.errors), "error_examples": samples.errors[:10],
        "during_batch_ms": {"p50": round(pct(during, 0.5) * 1000, 1),
                            "p99": round(pct(during, 0.99) * 1000, 1),
                            "max": round(max(during, default=0) * 1000, 1)},
        "queries_per_s_during_batch": round(len(during) / max(ended - started, 1e-9), 1),
    }  # fmt: skip


def soak(server: harness.LiveServer, tokens: dict[str, str], synthetic: Synthetic,
         identities: list[dict[str, str]], minutes: float) -> dict[str, Any]:  # fmt: skip
    """The mixed workload for ``minutes``; errors, p99 per minute, memory."""
    assert server.proc is not None
    pid = server.proc.pid
    samples = Samples()
    stop = threading.Event()
    memory: list[tuple[float, int]] = []
    heap: list[tuple[float, int]] = []
    threads = [threading.Thread(target=query_client, args=(server.base, tokens["aggregator"],
               identities, stop, samples, i * 31)) for i in range(8)]  # fmt: skip

    def reader() -> None:
        with httpx.Client(base_url=server.base, timeout=120) as http:
            auditor = {"Authorization": f"Bearer {tokens['auditor']}"}
            uploader = {"Authorization": f"Bearer {tokens['up44']}"}
            batch_ids: list[str] = []
            while not stop.is_set():
                listed = timed(http, samples, "reviews", "GET", "/v1/reviews", headers=auditor)
                if listed is not None and listed.status_code == 200 and listed.json()["data"]:
                    rid = listed.json()["data"][0]["review_id"]
                    timed(http, samples, "review", "GET", f"/v1/reviews/{rid}", headers=auditor)
                timed(http, samples, "metrics", "GET", "/metrics")
                for bid in batch_ids[-3:]:
                    timed(http, samples, "batch", "GET", f"/v1/batches/{bid}", headers=uploader)
                with samples.lock:
                    batch_ids = list(uploaded)
                time.sleep(0.2)

    uploaded: list[str] = []

    def uploader() -> None:
        with httpx.Client(base_url=server.base, timeout=600) as http:
            headers = {"Authorization": f"Bearer {tokens['up44']}"}
            n = 0
            while not stop.wait(0 if n == 0 else 20):
                files = {"file": ("44.csv", fresh_batch(synthetic, n), "text/csv")}
                response = timed(http, samples, "upload", "POST", "/v1/batches", headers=headers,
                                 files=files)  # fmt: skip
                if response is not None and response.status_code == 200:
                    with samples.lock:
                        uploaded.append(response.json()["batch_id"])
                n += 1

    def sampler() -> None:
        while not stop.wait(5):
            at = round(time.monotonic() - samples.started, 1)
            memory.append((at, rss_kb(pid)))
            heap.append((at, rss_kb(pid, "RssAnon")))

    extra = [threading.Thread(target=f) for f in (reader, uploader, sampler)]
    for t in threads + extra:
        t.start()
    stop.wait(minutes * 60)
    stop.set()
    for t in threads + extra:
        t.join()
    per_minute = []
    for minute in range(int(minutes + 0.999)):
        lat = [
            s
            for t, k, _, s in samples.rows
            if minute * 60 <= t < (minute + 1) * 60 and k == "query"
        ]
        per_minute.append({"minute": minute + 1, "queries": len(lat),
                           "p50_ms": round(pct(lat, 0.5) * 1000, 1),
                           "p99_ms": round(pct(lat, 0.99) * 1000, 1)})  # fmt: skip
    warm = [kb for t, kb in memory if t >= 60] or [kb for _, kb in memory]
    start_kb, end_kb = (warm[0], warm[-1]) if warm else (0, 0)
    warm_heap = [kb for t, kb in heap if t >= 60] or [kb for _, kb in heap]
    heap_start, heap_end = (warm_heap[0], warm_heap[-1]) if warm_heap else (0, 0)
    kinds: dict[str, int] = {}
    for _, k, _, _ in samples.rows:
        kinds[k] = kinds.get(k, 0) + 1
    uploads = [s for _, k, _, s in samples.rows if k == "upload"]
    return {
        "minutes": minutes, "requests": len(samples.rows), "by_kind": kinds,
        "errors": len(samples.errors), "error_examples": samples.errors[:10],
        "query_p99_ms_per_minute": per_minute,
        "upload_seconds_median": round(statistics.median(uploads), 2) if uploads else None,
        "rss_mb_start": round(start_kb / 1024, 1), "rss_mb_end": round(end_kb / 1024, 1),
        "rss_drift_pct": round(100 * (end_kb - start_kb) / start_kb, 1) if start_kb else None,
        "rss_mb_max": round(max((kb for _, kb in memory), default=0) / 1024, 1),
        "heap_mb_start": round(heap_start / 1024, 1), "heap_mb_end": round(heap_end / 1024, 1),
        "heap_drift_pct": round(100 * (heap_end - heap_start) / heap_start, 1) if heap_start else None,
        "heap_samples": heap,
        "rss_samples": memory,
    }  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--minutes", type=float, default=10.0, help=f"≤ {MAX_MINUTES}")
    parser.add_argument("--persons", type=int, default=20_000, help="synthetic persons stored")
    parser.add_argument("--batch-persons", type=int, default=55_000,
                        help="persons of the large batch set (≈ 50k rows of province 44)")  # fmt: skip
    parser.add_argument("--skip-batch", action="store_true", help="no batch-under-load phase")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    minutes = min(args.minutes, MAX_MINUTES)
    synthetic = make_synthetic(n_persons=args.persons, seed=7)
    identities = [{"id_number": p.id_number, "name": p.name} for p in synthetic.persons]
    out: dict[str, Any] = {"backend": args.backend, "persons": args.persons}
    with tempfile.TemporaryDirectory(prefix="vaxlink-soak-") as tmp:
        work = Path(tmp)
        context = (
            harness.shared_pg_database("vaxlink_soak") if args.backend == "postgresql" else None
        )
        url = context.__enter__() if context else f"sqlite:///{work / 'vaxlink.db'}"
        try:
            tokens = harness.create_keys(url)
            server = harness.LiveServer(url, work, fast=False)  # the default matching settings
            server.start()
            started = time.perf_counter()
            for province in ("11", "31"):
                response = server.upload(
                    tokens[f"up{province}"], synthetic.csv(province), timeout=3600
                )
                assert response.status_code == 200, response.text
            out["load_seconds"] = round(time.perf_counter() - started, 1)
            print(f"loaded {args.persons} persons in {out['load_seconds']} s", flush=True)
            if not args.skip_batch:
                # the same seed: its first --persons persons are the stored ones, so province
                # 44's rows are new registrations of stored persons and new persons
                big = make_synthetic(n_persons=args.batch_persons, seed=7)
                doses = big.doses[big.doses["source"] == "44"].copy()
                buffer = io.StringIO()
                doses.to_csv(buffer, index=False)
                out["batch_under_load"] = batch_under_load(server, tokens, buffer.getvalue().encode(),
                                                           identities)  # fmt: skip
                print(f"batch under load: {out['batch_under_load']}", flush=True)
            out["soak"] = soak(server, tokens, synthetic, identities, minutes)
            server.stop()
            out["tracebacks_in_server_log"] = server.output().count("Traceback")
        finally:
            if "server" in locals():
                server.kill()
            if context:
                context.__exit__(None, None, None)
    s = out["soak"]
    print(f"soak {minutes} min: {s['requests']} requests, {s['errors']} errors, RSS "
          f"{s['rss_mb_start']} → {s['rss_mb_end']} MB ({s['rss_drift_pct']} %), p99 per minute "
          f"{[m['p99_ms'] for m in s['query_p99_ms_per_minute']]}", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
