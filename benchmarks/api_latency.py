"""Latency and throughput of the merge API with N synthetic persons stored.

1. **Load**: ``vaxlink synth`` data (cached in ``benchmarks/data``) is stored through the
   upload path (``api.services.uploads.ingest_batch``, one batch per province, ``link=False``) and then
   linked by one full relink (``link_scope(full=True)``, the code of ``vaxlink relink``).
   Part of the largest province is held back for step 4.
2. **Service**: ``vaxlink serve`` (uvicorn) in a subprocess on 127.0.0.1, a free port.
3. **Queries**: ``POST /v1/histories/query`` with identities (ID + name) read from the loaded
   CSVs — single client (p50/p99) and ``--clients`` concurrent clients (throughput, bounded by
   a request count and a time limit); ``GET /v1/persons/{id}`` single client.
4. **Daily batch**: a ``--batch-rows`` CSV of the held-back registrations, new doses of stored
   registrations and new persons, uploaded with ``POST /v1/batches`` and linked incrementally.

Run as ``python -m benchmarks.api_latency --persons 100000 --backend sqlite --out r.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import make_url

from api.auth import Principal, Role
from api.config import Settings
from api.db import models as m
from api.db import repository as repo
from api.db.engine import Database
from api.services.linking import link_scope
from api.services.uploads import ingest_batch, stage_stream
from benchmarks.run import ensure_synthetic
from matcher.synthetic import SyntheticConfig, generate
from matcher.synthetic_export import write_csv

ROOT = Path(__file__).resolve().parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGETS = {"p99_ms_single": 25.0, "qps_concurrent": 400.0, "batch_s": 30.0}
COLUMNS = [
    "source", "person_ref", "id_type", "id_number", "name", "sex", "birth_date", "phone",
    "dose_date", "vaccine", "lot_number", "dose_seq", "site",
]  # fmt: skip


# --- data ------------------------------------------------------------------------------------
@dataclass
class Prepared:
    """Files to load, the daily batch, identities and counts."""

    load_files: list[Path]
    batch_file: Path
    batch_province: str
    batch_parts: dict[str, int]
    identities: list[dict[str, str]]
    persons: int
    registrations: int
    dose_rows: int


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def prepare(
    data_dir: Path, work: Path, *, batch_rows: int, seed: int, n_identities: int
) -> Prepared:
    """Split the largest province into a loaded part and a held-back part; build the batch."""
    rng = random.Random(seed)
    files = sorted(p for p in data_dir.glob("[0-9][0-9].csv"))
    sizes = {p: p.stat().st_size for p in files}
    big = max(files, key=lambda p: sizes[p])
    province = big.stem
    frame = _read_csv(big)
    refs = frame["person_ref"].drop_duplicates().tolist()
    rng.shuffle(refs)
    rows_per_ref = frame.groupby("person_ref", sort=False).size()
    # Hold back whole registrations: at most half the province, at most half the batch.
    held: set[str] = set()
    held_rows = 0
    cap = min(batch_rows // 2, len(frame) // 2)
    for ref in refs:
        if held_rows >= cap:
            break
        held.add(ref)
        held_rows += int(rows_per_ref[ref])
    is_held = frame["person_ref"].isin(held)
    loaded_part, held_part = frame[~is_held], frame[is_held]
    load_dir = work / "load"
    shutil.rmtree(load_dir, ignore_errors=True)
    load_dir.mkdir(parents=True)
    write_csv(loaded_part, load_dir / big.name)
    load_files = [load_dir / big.name if p == big else p for p in files]

    # New doses of stored registrations: the last row again, later, with the next dose number.
    room = batch_rows - len(held_part)
    last = loaded_part.drop_duplicates("person_ref", keep="last")
    last = last.sample(n=min(room // 2, len(last)), random_state=seed)
    dates = pd.to_datetime(last["dose_date"], format="mixed", errors="coerce")
    last = last[dates.notna()].copy()
    last["dose_date"] = (dates[dates.notna()] + pd.Timedelta(days=150)).dt.strftime("%Y-%m-%d")
    seq = pd.to_numeric(last["dose_seq"], errors="coerce")
    last["dose_seq"] = (seq + 1).map(lambda v: "" if pd.isna(v) else str(int(v)))
    last["lot_number"] = [f"BENCH{i:07d}" for i in range(len(last))]

    # New persons (another seed, one province), relabelled to the batch's province.
    room = batch_rows - len(held_part) - len(last)
    fresh = pd.DataFrame(columns=COLUMNS)
    if room > 0:
        data = generate(
            SyntheticConfig(persons=room * 6 // 10 + 50, provinces=1, seed=seed + 7919,
                            legacy_exports=False)
        )  # fmt: skip
        fresh = data.doses[COLUMNS].astype(str).replace({"<NA>": "", "nan": "", "None": ""})
        fresh = fresh.iloc[:room].copy()
        fresh["source"] = province
        fresh["person_ref"] = "NEW" + fresh["person_ref"]
    batch = pd.concat([held_part, last[COLUMNS], fresh[COLUMNS]], ignore_index=True)
    batch_file = work / f"batch-{province}.csv"
    write_csv(batch, batch_file)

    # Identities of loaded registrations (one per registration, with an ID number).
    pool: list[dict[str, str]] = []
    total_rows = 0
    registrations = 0
    for path in load_files:
        part = _read_export_identities(path)
        total_rows += part.attrs["rows"]
        registrations += part.attrs["registrations"]
        pool.extend(part.to_dict("records"))
    rng.shuffle(pool)
    marker = json.loads((data_dir / ".complete.json").read_text())
    return Prepared(
        load_files=load_files, batch_file=batch_file, batch_province=province,
        batch_parts={"held_back_registration_rows": len(held_part), "new_doses_of_stored": len(last),
                     "new_person_rows": len(fresh)},
        identities=pool[:n_identities], persons=int(marker["persons"]),
        registrations=registrations, dose_rows=total_rows,
    )  # fmt: skip


def _read_export_identities(path: Path) -> pd.DataFrame:
    """(id_type, id_number, name) per registration with an ID (GBK files via matcher.ingest)."""
    from matcher.ingest import read_export

    frame = read_export(path).frame
    rows, registrations = len(frame), frame[["source", "person_ref"]].drop_duplicates().shape[0]
    ident = frame.drop_duplicates(["source", "person_ref"])[["id_type", "id_number", "name"]]
    ident = ident.astype(object).fillna("").astype(str)
    ident = ident[(ident["id_number"].str.len() > 0) & (ident["name"].str.len() > 0)]
    ident = ident[ident["id_number"].str.len() <= 40]
    ident["id_type"] = ident["id_type"].where(ident["id_type"].str.len() > 0, "resident_id")
    ident.attrs.update(rows=rows, registrations=registrations)
    return ident


# --- database --------------------------------------------------------------------------------
def create_database(backend: str, work: Path, pg_url: str) -> tuple[str, Any]:
    """A fresh database URL and a cleanup callable."""
    if backend == "sqlite":
        path = work / "vaxlink.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: None
    import psycopg

    url = make_url(pg_url)
    conninfo = {"host": url.host or "127.0.0.1", "port": url.port or 5432,
                "user": url.username or "postgres", "dbname": url.database or "postgres",
                "autocommit": True}  # fmt: skip
    if url.password:
        conninfo["password"] = url.password
    name = f"vaxlink_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**conninfo) as admin:  # type: ignore[arg-type]
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(**conninfo) as admin:  # type: ignore[arg-type]
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


def load(
    settings: Settings, prepared: Prepared
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Store every province through the upload path, then one full relink.

    Returns the timings, API keys (aggregator, one uploader per province) and a sample of
    stored person ids.
    """
    database = Database(settings)
    database.migrate()
    provinces = [p.stem for p in prepared.load_files]
    principals: dict[str, Principal] = {}
    tokens: dict[str, str] = {}
    with database.transaction() as session:
        for who, role, province in [("aggregator", Role.AGGREGATOR, None)] + [
            (f"up{p}", Role.UPLOADER, p) for p in provinces
        ]:
            key = repo.create_key(session=session, role=role, province=province, label=who)
            assert key.token is not None
            tokens[who] = key.token
            principals[who] = Principal(key.key_id, role, province, who)
    started = time.perf_counter()
    rejected = 0
    for path in prepared.load_files:
        with path.open("rb") as stream:
            staged = stage_stream(stream, filename=path.name, province=path.stem, settings=settings)
        try:
            result = ingest_batch(database, settings, principals[f"up{path.stem}"], staged,
                                  link=False)  # fmt: skip
        finally:
            staged.cleanup()
        rejected += result.counts.rows_rejected
    stored = time.perf_counter()
    today = pd.Timestamp.today().normalize()
    with database.transaction() as session:
        stats = link_scope(session, set(), settings.matching, today=today, full=True,
                           retrain=True)  # fmt: skip
        repo.add_audit(session=session, actor=None, action="relink",
                       detail={"retrain": True, "via": "benchmark"})  # fmt: skip
    database.analyze()  # as `vaxlink relink` does (PostgreSQL planner statistics)
    linked = time.perf_counter()
    with database.transaction() as session:
        person_ids = list(session.scalars(select(m.Person.person_id)))
    database.dispose()
    random.Random(1).shuffle(person_ids)
    total = linked - started
    return (
        {
            "store_s": round(stored - started, 2),
            "link_s": round(linked - stored, 2),
            "total_s": round(total, 2),
            "rows_rejected": rejected,
            "persons_linked": stats.persons,
            "records_linked": stats.records,
            "review_pairs": stats.review_pairs,
            "persons_per_s": round(prepared.persons / total, 1),
            "dose_rows_per_s": round(prepared.dose_rows / total, 1),
        },
        tokens,
        person_ids[:5000],
    )


# --- service ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_server(url: str, work: Path, workers: int) -> Server:
    """``vaxlink serve`` on a free loopback port; waits for /healthz."""
    port = free_port()
    env = {**os.environ, "VAXLINK_DATABASE_URL": url, "VAXLINK_UPLOAD_DIR": str(work),
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    log = (work / "server.log").open("wb")
    cmd = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)  # fmt: skip
    server = Server(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {work / 'server.log'}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("server did not become healthy in 120 s")


# --- load generation -------------------------------------------------------------------------
def _loadavg() -> list[float]:
    """1/5/15-minute load averages (the other processes the service shares the cores with)."""
    return [round(x, 2) for x in os.getloadavg()]


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def _summary(latencies: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies]
    return {"p50_ms": _pct(ms, 50), "p90_ms": _pct(ms, 90), "p99_ms": _pct(ms, 99),
            "max_ms": round(max(ms), 2) if ms else float("nan"),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan")}  # fmt: skip


def _query_body(identity: dict[str, str]) -> bytes:
    return json.dumps({"identities": [identity], "purpose": "benchmark"}).encode("utf-8")


class KeepAliveClient:
    """One HTTP/1.1 keep-alive connection (``http.client``), as one client of the load.

    Cheaper on CPU than an ``httpx.Client`` (about a third of its per-request cost here), which
    matters because the load generator shares the two cores with the service: every request is
    still a real request over loopback TCP, with the whole answer read before the next one.
    """

    def __init__(self, base: str, token: str, timeout: float = 30.0) -> None:
        url = httpx.URL(base)
        self.host, self.port, self.timeout = url.host, url.port or 80, timeout
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Status and body of one request (reconnects once if the server closed the socket)."""
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self.connection.request(method, path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def single_client(base: str, token: str, identities: list[dict[str, str]], n: int,
                  warmup: int) -> dict[str, Any]:  # fmt: skip
    """Sequential history queries: latency percentiles and the share found."""
    latencies: list[float] = []
    found = errors = 0
    client = KeepAliveClient(base, token)
    try:
        for i in range(warmup + n):
            body = _query_body(identities[i % len(identities)])
            t0 = time.perf_counter()
            status, content = client.request("POST", "/v1/histories/query", body)
            elapsed = time.perf_counter() - t0
            if i < warmup:
                continue
            if status != 200:
                errors += 1
                continue
            latencies.append(elapsed)
            found += bool(json.loads(content)["results"][0]["found"])
    finally:
        client.close()
    return {"requests": n, "errors": errors, "found_share": round(found / max(1, n), 4),
            **_summary(latencies)}  # fmt: skip


def concurrent_clients(base: str, token: str, identities: list[dict[str, str]], *,
                       clients: int, n: int, max_seconds: float) -> dict[str, Any]:  # fmt: skip
    """``clients`` threads, each with its own keep-alive connection, sharing ``n`` requests.

    Closed loop: a client sends its next request only when the previous answer is read, so
    at most ``clients`` requests are in flight.
    """
    counter = iter(range(n))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    bodies = [_query_body(identities[i % len(identities)]) for i in range(n)]
    deadline = time.perf_counter() + max_seconds

    def worker(_: int) -> None:
        local: list[float] = []
        bad = 0
        client = KeepAliveClient(base, token)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                t0 = time.perf_counter()
                status, _content = client.request("POST", "/v1/histories/query", bodies[i])
                if status == 200:
                    local.append(time.perf_counter() - t0)
                else:
                    bad += 1
        finally:
            client.close()
        with lock:
            latencies.extend(local)
            errors[0] += bad

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - started
    done = len(latencies)
    return {"clients": clients, "requests": done, "errors": errors[0],
            "seconds": round(wall, 2), "qps": round(done / wall, 1),
            "stopped_by_time_limit": done + errors[0] < n, **_summary(latencies)}  # fmt: skip


def person_reads(base: str, token: str, person_ids: list[str], n: int) -> dict[str, Any]:
    """Sequential ``GET /v1/persons/{id}``."""
    latencies: list[float] = []
    errors = 0
    client = KeepAliveClient(base, token)
    try:
        for i in range(min(n, 20)):  # warm-up
            client.request("GET", f"/v1/persons/{person_ids[i % len(person_ids)]}")
        for i in range(n):
            t0 = time.perf_counter()
            status, _content = client.request(
                "GET", f"/v1/persons/{person_ids[i % len(person_ids)]}"
            )
            if status == 200:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1
    finally:
        client.close()
    return {"requests": n, "errors": errors, **_summary(latencies)}


def upload_batch(base: str, token: str, path: Path) -> dict[str, Any]:
    """``POST /v1/batches`` of the daily batch; wall time as the client sees it."""
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    with path.open("rb") as f:
        response = httpx.post(f"{base}/v1/batches", headers=headers, timeout=1800,
                              files={"file": (path.name, f, "text/csv")})  # fmt: skip
    wall = time.perf_counter() - t0
    body = response.json()
    if response.status_code != 200:
        raise RuntimeError(f"batch upload failed: {response.status_code} {body}")
    return {"seconds": round(wall, 2), "status": body["status"], "counts": body["counts"]}


# --- main ------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--out", type=Path, default=None, help="JSON report (also printed)")
    parser.add_argument("--provinces", type=int, default=31)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--single-requests", type=int, default=2000)
    parser.add_argument("--concurrent-requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="time limit of the concurrent phase")  # fmt: skip
    parser.add_argument("--person-requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--pg-url", default=os.environ.get("VAXLINK_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "results" / "runs")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the whole benchmark once; return (and write) the report."""
    args = parse_args(argv)
    work = args.work_dir / f"api-latency-{args.backend}-n{args.persons}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    synth = ensure_synthetic(args.persons, args.provinces, args.seed, args.data_dir)
    prepared = prepare(Path(synth["dir"]), work, batch_rows=args.batch_rows, seed=args.seed,
                       n_identities=args.single_requests + 100 + args.concurrent_requests)  # fmt: skip
    url, drop = create_database(args.backend, work, args.pg_url)
    report: dict[str, Any] = {
        "benchmark": "api_latency",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "backend": args.backend,
        "persons": prepared.persons,
        "registrations_loaded": prepared.registrations,
        "dose_rows_loaded": prepared.dose_rows,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "server_workers": args.workers,
        "targets": TARGETS,
    }  # fmt: skip
    server: Server | None = None
    try:
        settings = Settings(database_url=url, upload_dir=work)
        report["load"], tokens, person_ids = load(settings, prepared)
        print(f"load: {report['load']}", flush=True)
        server = start_server(url, work, args.workers)
        agg = tokens["aggregator"]
        # Distinct identities per phase (no repeats unless the store is smaller than asked).
        single_ids = prepared.identities[: args.single_requests + 100]
        phase_load = _loadavg()
        report["query_single"] = single_client(
            server.base, agg, single_ids, args.single_requests, warmup=100
        )
        report["query_single"]["loadavg_before"] = phase_load
        print(f"query_single: {report['query_single']}", flush=True)
        phase_load = _loadavg()
        report["query_concurrent"] = concurrent_clients(
            server.base, agg, prepared.identities[len(single_ids) :] or prepared.identities,
            clients=args.clients,
            n=args.concurrent_requests, max_seconds=args.max_seconds,
        )  # fmt: skip
        report["query_concurrent"]["loadavg_before"] = phase_load
        print(f"query_concurrent: {report['query_concurrent']}", flush=True)
        report["person_get"] = person_reads(server.base, agg, person_ids, args.person_requests)
        print(f"person_get: {report['person_get']}", flush=True)
        phase_load = _loadavg()
        batch = upload_batch(server.base, tokens[f"up{prepared.batch_province}"],
                             prepared.batch_file)  # fmt: skip
        batch_rows = sum(prepared.batch_parts.values())
        report["batch"] = {"province": prepared.batch_province, "rows": batch_rows,
                           **prepared.batch_parts, **batch, "loadavg_before": phase_load}  # fmt: skip
        print(f"batch: {report['batch']}", flush=True)
        report["targets_met"] = {
            "p99_ms_single": report["query_single"]["p99_ms"] < TARGETS["p99_ms_single"],
            "qps_concurrent": report["query_concurrent"]["qps"] >= TARGETS["qps_concurrent"],
            "batch_s": batch["seconds"] < TARGETS["batch_s"],
        }
    finally:
        if server is not None:
            server.stop()
        if not args.keep_db:
            drop()
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return report


if __name__ == "__main__":
    main()
