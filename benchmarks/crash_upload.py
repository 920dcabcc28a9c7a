"""Crash safety of uploads: ``kill -9`` of the real service mid-batch, and database restarts.

For each backend, a never-crashed run of three provincial uploads gives the reference store.
Then every scenario starts ``vaxlink serve`` on a fresh database, uploads the same files and
crashes once:

- **fault points** (``api/faults.py``, env ``VAXLINK_FAULT_POINT``): SIGKILL of the server at
  each named stage — staged, parsed, normalised, claimed, stored, scored, histories built,
  persisted, before COMMIT, after COMMIT — in the first, second or third batch;
- **timed kills**: ``kill -9`` from outside at a random moment (seeded) in the reference's
  upload time; the stage the kill landed in is read from the server log (every stage logs
  itself in these runs, ``name@*=log``);
- **full relink**: SIGKILL while ``POST /v1/relink`` rebuilds every history;
- **database restarts** (PostgreSQL, a private cluster made with ``initdb`` in a temp dir —
  never the shared server): the batch stalls at a stage and the cluster restarts under it
  (``pg_ctl restart -m fast`` or ``-m immediate``, a crash of the database).

After the crash the server restarts; the checks of ``tests/reliability/harness.py`` run:
nothing half-applied, the cut-off batch done or failed and uploadable again, every file again
a duplicate, and persons, histories, review pairs and dose rows equal to the reference.

Run: ``nice python -m benchmarks.crash_upload --out benchmarks/results/crash-upload.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api.faults import POINTS
from tests.api.factories import make_synthetic
from tests.reliability import harness

UPLOAD_POINTS = [p for p in POINTS if not p.startswith("relink.")]
LOG_EVERY_STAGE = ",".join(f"{p}@*=log" for p in POINTS)
STALL_POINTS = ("batch.stored", "link.scored", "link.histories", "link.persisted",
                "batch.committing")  # fmt: skip


@contextmanager
def fresh_database(backend: str, work: Path, cluster: harness.PrivateCluster | None = None
                   ) -> Iterator[str]:  # fmt: skip
    """An empty database: a SQLite file, a new database on the shared server or on a cluster."""
    if backend == "sqlite":
        path = work / f"vaxlink-{time.monotonic_ns()}.db"
        yield f"sqlite:///{path}"
        return
    if cluster is None:
        with harness.shared_pg_database("vaxlink_crash") as url:
            yield url
        return
    name = f"crash_{time.monotonic_ns()}"
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres",
                         dbname="postgres", autocommit=True) as admin:  # fmt: skip
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/{name}"
    finally:
        with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres",
                             dbname="postgres", autocommit=True) as admin:  # fmt: skip
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stage_of_kill(log: str) -> str:
    """The last stage the server logged before it died (timed kills)."""
    hits = re.findall(r"fault point ([a-z.]+) reached|POST /v1/batches (\d{3})", log)
    if not hits:
        return "receive (first request)"
    stage, status = hits[-1]
    return stage if stage else "receive (between batches)"


def scenario_list(seed: int, n_timed: int, span: float) -> list[dict[str, Any]]:
    """Fault-point kills at every stage (in batch 1, 2 or 3), timed kills, a relink kill."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i, point in enumerate(UPLOAD_POINTS):
        nth = 1 + i % 3
        out.append({"kind": "fault", "fault": f"{point}@{nth}"})
    for _ in range(n_timed):
        out.append({"kind": "timed", "kill_after": round(rng.uniform(0.05, span), 3)})
    out.append({"kind": "relink", "fault": "relink.histories"})
    return out


def run_scenario(backend: str, scenario: dict[str, Any], files: list[tuple[str, bytes]],
                 reference: dict[str, Any], work: Path) -> dict[str, Any]:  # fmt: skip
    """One crash on a fresh database and what the checks found."""
    folder = Path(tempfile.mkdtemp(dir=work))
    with fresh_database(backend, folder) as url:
        server = harness.LiveServer(url, folder)
        tokens = harness.create_keys(url)
        if scenario["kind"] == "relink":
            return relink_scenario(server, tokens, files, scenario, reference)
        if scenario["kind"] == "timed":
            outcome = harness.crash_run(server, tokens, files, fault=LOG_EVERY_STAGE,
                                        kill_after=scenario["kill_after"])  # fmt: skip
            first_log = (folder / "server-1.log").read_text(errors="replace")
            stage = stage_of_kill(first_log)
        else:
            outcome = harness.crash_run(server, tokens, files, fault=scenario["fault"])
            stage = scenario["fault"].split("@")[0]
        return report(scenario, stage, outcome, reference)


def report(scenario: dict[str, Any], stage: str, outcome: harness.CrashOutcome,
           reference: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    differences = harness.differences(outcome.state, reference)
    return {
        **scenario, "stage": stage, "crashed_in_upload": outcome.crashed_in,
        "interrupted_batches": len(outcome.interrupted),
        "reupload": None if outcome.reupload is None else
        {"status": outcome.reupload["status"], "duplicate": outcome.reupload["duplicate"]},
        "problems": outcome.problems, "differences": differences,
        "rows_lost": reference["dose_rows"] - outcome.state["dose_rows"],
        "survived": not outcome.problems and not differences, "seconds": outcome.seconds,
    }  # fmt: skip


def relink_scenario(server: harness.LiveServer, tokens: dict[str, str],
                    files: list[tuple[str, bytes]], scenario: dict[str, Any],
                    reference: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Upload everything, kill -9 during a full relink, restart: the store is as before the
    relink, and a relink afterwards succeeds."""
    started = time.monotonic()
    server.start(fault=scenario["fault"])
    problems = []
    for who, content in files:
        if server.upload(tokens[who], content).status_code != 200:
            problems.append("upload failed")
    before = harness.store_state(server.url)
    try:
        httpx.post(f"{server.base}/v1/relink", headers={"Authorization": f"Bearer {tokens['admin']}"},
                   timeout=300)  # fmt: skip
        problems.append("the relink was not cut off")
    except httpx.HTTPError:
        pass
    if not server.died():
        problems.append("the server did not die")
    server.start()
    after = harness.store_state(server.url)
    if after != before:
        problems.append("a killed relink changed the store")
    problems += harness.half_applied(server.url)
    relinked = httpx.post(f"{server.base}/v1/relink", timeout=300,
                          headers={"Authorization": f"Bearer {tokens['admin']}"})  # fmt: skip
    if relinked.status_code != 200:
        problems.append(f"relink after restart: {relinked.status_code}")
    server.stop()
    differences = harness.differences(before, reference)
    return {**scenario, "stage": "relink.histories", "problems": problems,
            "differences": differences, "rows_lost": reference["dose_rows"] - after["dose_rows"],
            "survived": not problems and not differences,
            "seconds": round(time.monotonic() - started, 2)}  # fmt: skip


def db_restart_scenarios(files: list[tuple[str, bytes]], reference: dict[str, Any], work: Path
                         ) -> list[dict[str, Any]]:  # fmt: skip
    """The batch stalls at a stage while the private cluster restarts (fast and immediate)."""
    results = []
    try:
        with harness.private_postgres() as cluster:
            for i, point in enumerate(STALL_POINTS):
                for mode in ("fast", "immediate"):
                    nth = 1 + i % 3
                    folder = Path(tempfile.mkdtemp(dir=work))
                    with fresh_database("postgresql", folder, cluster) as url:
                        server = harness.LiveServer(url, folder)
                        outcome = harness.crash_run(
                            server, harness.create_keys(url), files,
                            fault=f"{point}@{nth}=sleep:3",
                            restart_db=lambda m=mode: cluster.pg_ctl("restart", mode=m),
                            restart_on=f"fault point {point}: stalling",
                        )  # fmt: skip
                    scenario = {"kind": "db-restart", "mode": mode, "fault": f"{point}@{nth}"}
                    results.append(report(scenario, point, outcome, reference))
                    print(f"  db-restart {mode} {point}@{nth}: survived="
                          f"{results[-1]['survived']}", flush=True)  # fmt: skip
    except harness.Unavailable as exc:
        print(f"database restarts skipped: {exc}")
    return results


def reference_state(backend: str, files: list[tuple[str, bytes]], work: Path
                    ) -> tuple[dict[str, Any], float]:  # fmt: skip
    """The never-crashed store and how long its uploads took."""
    folder = Path(tempfile.mkdtemp(dir=work))
    with fresh_database(backend, folder) as url:
        server = harness.LiveServer(url, folder)
        tokens = harness.create_keys(url)
        server.start()
        started = time.monotonic()
        for who, content in files:
            response = server.upload(tokens[who], content)
            assert response.status_code == 200, response.text
        span = time.monotonic() - started
        state = harness.store_state(url)
        server.stop()
    return state, span


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "injected": len(results),
        "survived": sum(r["survived"] for r in results),
        "rows_lost": sum(max(0, r["rows_lost"]) for r in results),
        "stages": sorted({r["stage"] for r in results}),
        "failed": [r for r in results if not r["survived"]],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=3000, help="synthetic persons")
    parser.add_argument("--timed-kills", type=int, default=12, help="random kills per backend")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--no-db-restarts", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    synthetic = make_synthetic(n_persons=args.persons, seed=args.seed)
    files = [(f"up{p}", synthetic.csv(p)) for p in ("11", "31", "44")]
    out: dict[str, Any] = {"persons": args.persons, "dose_rows": len(synthetic.doses),
                           "seed": args.seed, "backends": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vaxlink-crash-") as tmp:
        work = Path(tmp)
        for backend in args.backends.split(","):
            reference, span = reference_state(backend, files, work)
            print(f"{backend}: reference {reference['dose_rows']} dose rows, "
                  f"{len(reference['histories'])} persons, uploads {span:.1f} s", flush=True)  # fmt: skip
            results = []
            for scenario in scenario_list(args.seed, args.timed_kills, span):
                results.append(run_scenario(backend, scenario, files, reference, work))
                r = results[-1]
                print(f"  {r['kind']} {r.get('fault', r.get('kill_after'))} stage={r['stage']} "
                      f"survived={r['survived']} {r['problems'] or ''}{r['differences'] or ''}",
                      flush=True)  # fmt: skip
            out["backends"][backend] = {"reference_upload_s": round(span, 2),
                                        **summarise(results), "runs": results}  # fmt: skip
            if backend == "postgresql" and not args.no_db_restarts:
                restarts = db_restart_scenarios(files, reference, work)
                out["backends"]["postgresql-restart"] = {**summarise(restarts), "runs": restarts}
    for name, b in out["backends"].items():
        print(f"{name}: {b['survived']}/{b['injected']} survived, rows lost {b['rows_lost']}")
    if args.out:
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return out


if __name__ == "__main__":
    main()
