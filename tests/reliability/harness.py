"""The real service in a subprocess (``vaxlink serve``), a private PostgreSQL cluster, and the
store checks of the crash tests; shared by ``tests/reliability`` and the benchmarks."""

from __future__ import annotations

import atexit
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.auth import Role
from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database

ROOT = Path(__file__).resolve().parents[2]
SHARED_PG_URL = os.environ.get(
    "VAXLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# small training samples, as tests/api/conftest.py FAST (the service reads VAXLINK_MATCHING__…)
FAST_ENV = {"VAXLINK_MATCHING__U_SAMPLE_PAIRS": "10000", "VAXLINK_MATCHING__EM_MAX_PAIRS": "50000"}
KEYS = (
    ("admin", Role.ADMIN, None), ("auditor", Role.AUDITOR, None),
    ("aggregator", Role.AGGREGATOR, None), ("up11", Role.UPLOADER, "11"),
    ("up31", Role.UPLOADER, "31"), ("up44", Role.UPLOADER, "44"),
)  # fmt: skip


class Unavailable(Exception):
    """A resource the test needs is missing here (the test skips with this message)."""


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_keys(url: str) -> dict[str, str]:
    """Migrate the database and create one key per entry of ``KEYS`` (name → token)."""
    database = Database(Settings(database_url=url))
    database.migrate()
    tokens: dict[str, str] = {}
    with database.transaction() as session:
        for who, role, province in KEYS:
            key = repo.create_key(session=session, role=role, province=province, label=who)
            assert key.token is not None
            tokens[who] = key.token
    database.dispose()
    return tokens


@dataclass
class LiveServer:
    """``vaxlink serve`` on a free loopback port; its output goes to ``log_path``."""

    url: str
    work: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    verbose: bool = False  # ``vaxlink -v serve``: DEBUG logging
    fast: bool = True  # the tests' small training samples (FAST_ENV); False: the defaults
    proc: subprocess.Popen[bytes] | None = None
    base: str = ""
    log_path: Path | None = None
    starts: int = 0

    def start(self, *, fault: str | None = None, timeout: float = 60.0) -> None:
        """Start (or restart) the server; ``fault`` sets ``VAXLINK_FAULT_POINT``."""
        port = free_port()
        env = {**os.environ, **(FAST_ENV if self.fast else {}), **self.env,
               "VAXLINK_DATABASE_URL": self.url,
               "VAXLINK_UPLOAD_DIR": str(self.work), "PYTHONUNBUFFERED": "1"}  # fmt: skip
        env.pop("VAXLINK_FAULT_POINT", None)
        if fault:
            env["VAXLINK_FAULT_POINT"] = fault
        self.starts += 1
        self.log_path = self.work / f"server-{self.starts}.log"
        cmd = [sys.executable, "-m", "api.cli", *(["-v"] if self.verbose else []), "serve",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers)]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         cwd=ROOT, start_new_session=True)  # fmt: skip
        atexit.register(self.kill)  # never left running by a test or benchmark that failed
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.output()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server not healthy in {timeout} s: {self.output()}")

    def kill(self) -> None:
        """``kill -9`` the server's process group (no clean-up of any kind)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """A clean stop (SIGTERM), SIGKILL after 20 s."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def died(self, timeout: float = 10.0) -> bool:
        """True once the process has ended (waits up to ``timeout``)."""
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def output(self) -> str:
        """Everything the server wrote so far (all starts)."""
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.work.glob("server-*.log"))
        )

    def upload(self, token: str, content: bytes, filename: str = "export.csv",
               timeout: float = 300.0) -> httpx.Response:  # fmt: skip
        """``POST /v1/batches`` with a CSV file."""
        return httpx.post(
            f"{self.base}/v1/batches", headers={"Authorization": f"Bearer {token}"},
            files={"file": (filename, content, "text/csv")}, timeout=timeout,
        )  # fmt: skip


# --- the store after a crash -----------------------------------------------------------------
def store_state(url: str) -> dict[str, Any]:
    """What must equal a never-crashed run: persons by registration, histories, review pairs,
    the active model's training size; plus the batch statuses."""
    database = Database(Settings(database_url=url, migrate_on_start=False))
    with database.transaction() as session:
        partition = repo.person_partition(session=session)
        persons = dict(session.execute(text("SELECT person_id, history FROM persons")).all())
        reviews = session.execute(
            text(
                "SELECT a.source, a.person_ref, b.source, b.person_ref, r.status FROM review_items r "
                "JOIN person_records a ON a.id = r.record_l JOIN person_records b ON b.id = r.record_r"
            )
        ).all()
        batches = dict(
            session.execute(text("SELECT status, count(*) FROM batches GROUP BY status")).all()
        )
        doses = session.scalar(text("SELECT count(*) FROM dose_rows"))
    database.dispose()
    return {
        "partition": {f"{s}/{r}": p for (s, r), p in sorted(partition.items())},
        "histories": {pid: json.loads(doc) for pid, doc in sorted(persons.items())},
        "reviews": sorted(map(tuple, reviews)),
        "dose_rows": doses,
        "batches": batches,
    }


def half_applied(url: str) -> list[str]:
    """Every way the store could hold part of a batch (empty when it holds none).

    Dose rows, rejects, field issues or records of a batch that is not done; a done batch whose stored dose
    rows differ from its accepted count; a batch still ``processing`` with nobody applying it.
    """
    database = Database(Settings(database_url=url, migrate_on_start=False))
    checks = {
        "dose rows of a batch not done": "SELECT count(*) FROM dose_rows d JOIN batches b "
        "ON b.id = d.batch_id WHERE b.status <> 'done'",
        "rejects of a batch not done": "SELECT count(*) FROM rejected_rows x JOIN batches b "
        "ON b.id = x.batch_id WHERE b.status <> 'done'",
        "field issues of a batch not done": "SELECT count(*) FROM field_issues x JOIN batches b "
        "ON b.id = x.batch_id WHERE b.status <> 'done'",
        "records first seen in a batch not done": "SELECT count(*) FROM person_records p "
        "JOIN batches b ON b.id = p.first_batch_id WHERE b.status <> 'done'",
        "done batches missing dose rows": "SELECT count(*) FROM batches b WHERE b.status = 'done' "
        "AND b.rows_accepted <> (SELECT count(*) FROM dose_rows d WHERE d.batch_id = b.id)",
        "records without a person": "SELECT count(*) FROM person_records WHERE person_id IS NULL",
        "persons without a history": "SELECT count(*) FROM (SELECT DISTINCT person_id FROM "
        "person_records) p LEFT JOIN persons q ON q.person_id = p.person_id "
        "WHERE q.person_id IS NULL",
        "batches left processing": "SELECT count(*) FROM batches WHERE status = 'processing'",
    }
    found = []
    with database.transaction() as session:
        for what, sql in checks.items():
            n = int(session.scalar(text(sql)) or 0)
            if n:
                found.append(f"{what}: {n}")
    database.dispose()
    return found


# --- databases -------------------------------------------------------------------------------
@contextmanager
def shared_pg_database(prefix: str = "vaxlink_rel") -> Iterator[str]:
    """A uniquely named database on the shared server (never stopped), dropped afterwards."""
    url = make_url(SHARED_PG_URL)
    conninfo = {"host": url.host or "127.0.0.1", "port": url.port or 5432,
                "user": url.username or "postgres", "dbname": url.database or "postgres",
                "autocommit": True, "connect_timeout": 3}  # fmt: skip
    if url.password:
        conninfo["password"] = url.password
    try:
        admin = psycopg.connect(**conninfo)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        raise Unavailable(f"PostgreSQL not reachable at {url.host}:{url.port} ({exc})") from exc
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of our own (initdb in a temp dir), free to stop and restart."""

    bindir: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def pg_ctl(self, action: str, *, mode: str = "fast") -> None:
        """``pg_ctl start|stop|restart`` of this cluster (``mode``: fast or immediate)."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        args = ["pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "postgres.log"),
                "-w", "-t", "60"]  # fmt: skip
        if action != "stop":
            args += ["-o", options]
        if action != "start":
            args += ["-m", mode]
        self._run(*args, action)


@contextmanager
def private_postgres() -> Iterator[PrivateCluster]:
    """Start a throw-away PostgreSQL cluster on a free port (as the ``postgres`` OS user when
    running as root); stopped and deleted afterwards. Raises Unavailable without the binaries."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise Unavailable("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl)")
    bindir = Path(found[-1]).parent
    as_postgres = os.geteuid() == 0
    if as_postgres and shutil.which("runuser") is None:
        raise Unavailable("running as root without runuser: cannot start PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="vaxlink-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivateCluster(bindir, root, free_port(), as_postgres)
    try:
        cluster._run("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "postgres",
                     "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        cluster.pg_ctl("start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(f"could not start a private PostgreSQL: {exc.stderr.strip()}") from exc
    try:
        yield cluster
    finally:
        cluster._run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop",
                     check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


# --- one crash scenario ----------------------------------------------------------------------
@dataclass
class CrashOutcome:
    """What happened in one run: where it crashed, what was wrong after, the final store."""

    crashed_in: int | None  # index of the upload whose request the crash cut off
    interrupted: list[dict[str, Any]]  # batches marked failed after the restart
    reupload: dict[str, Any] | None  # the answer to uploading that file again
    problems: list[str]
    state: dict[str, Any]
    seconds: float


def crash_run(
    server: LiveServer, tokens: dict[str, str], files: list[tuple[str, bytes]], *,
    fault: str | None = None, kill_after: float | None = None, restart_db: Any = None,
    restart_on: str | None = None,
) -> CrashOutcome:  # fmt: skip
    """Upload ``files`` (uploader name, CSV) in order on a fresh server; crash it by a fault
    point or ``kill -9`` after ``kill_after`` seconds — or call ``restart_db`` (e.g. restart
    PostgreSQL) once the server's log shows ``restart_on``; restart, check, upload the rest.

    The upload cut off by the crash is uploaded again (it must succeed: done, or the
    duplicate of the batch that had committed)."""
    started = time.monotonic()
    server.start(fault=fault)
    timer: threading.Thread | None = None
    if kill_after is not None:
        timer = threading.Timer(kill_after, server.kill)
        timer.start()
    elif restart_db is not None and restart_on is not None:
        timer = threading.Thread(target=_when_logged, args=(server, restart_on, restart_db))
        timer.start()
    crashed_in: int | None = None
    problems: list[str] = []
    for i, (who, content) in enumerate(files):
        try:
            response = server.upload(tokens[who], content, filename=f"{who}.csv")
        except httpx.HTTPError:
            crashed_in = i
            break
        if response.status_code != 200:
            if restart_db is not None and response.status_code == 503:
                crashed_in = i  # the database went away under the batch: clearly failed
                break
            problems.append(f"upload {i}: {response.status_code} {response.text[:300]}")
    if timer is not None:
        timer.join()
    interrupted: list[dict[str, Any]] = []
    reupload: dict[str, Any] | None = None
    if crashed_in is not None or kill_after is not None:
        if restart_db is None:
            if not server.died():
                problems.append("the server did not die")
                server.kill()
            server.start()
        found = half_applied(server.url)
        if restart_db is not None:  # the same process lives on: its next upload marks the batch
            found = [p for p in found if not p.startswith("batches left processing")]
        problems += [f"after restart: {p}" for p in found]
        interrupted = failed_batches(server.url)
        if crashed_in is not None:
            who, content = files[crashed_in]
            response = server.upload(tokens[who], content, filename=f"{who}.csv")
            reupload = response.json() if response.status_code == 200 else None
            if reupload is None:
                problems.append(f"re-upload: {response.status_code} {response.text[:300]}")
            for who, content in files[crashed_in + 1 :]:
                response = server.upload(tokens[who], content, filename=f"{who}.csv")
                if response.status_code != 200:
                    problems.append(f"later upload: {response.status_code} {response.text[:300]}")
    # idempotency: every file once more is a duplicate of its batch and changes nothing
    before = store_state(server.url)
    for who, content in files:
        response = server.upload(tokens[who], content, filename=f"{who}.csv")
        if response.status_code != 200 or not response.json().get("duplicate"):
            problems.append(f"second upload not a duplicate: {response.status_code}")
    after = store_state(server.url)
    if after != before:
        problems.append("uploading the same files again changed the store")
    problems += half_applied(server.url)
    server.stop()
    return CrashOutcome(crashed_in, interrupted, reupload, problems, after,
                        round(time.monotonic() - started, 2))  # fmt: skip


def _when_logged(server: LiveServer, marker: str, action: Any, timeout: float = 300.0) -> None:
    """Call ``action`` once the server's current log contains ``marker``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log_path is not None and marker in server.log_path.read_text(errors="replace"):
            action()
            return
        time.sleep(0.05)


def failed_batches(url: str) -> list[dict[str, Any]]:
    """Batches marked failed, with their error text."""
    database = Database(Settings(database_url=url, migrate_on_start=False))
    with database.transaction() as session:
        rows = session.execute(text("SELECT id, error FROM batches WHERE status = 'failed'")).all()
    database.dispose()
    return [{"batch_id": i, "error": e} for i, e in rows]


def differences(state: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """Which parts of a final store differ from a never-crashed run's (batch counts aside)."""
    out = []
    for key in ("partition", "histories", "reviews", "dose_rows"):
        if state[key] != reference[key]:
            out.append(key)
    if state["batches"].get("done") != reference["batches"].get("done"):
        out.append(f"done batches {state['batches']} vs {reference['batches']}")
    return out


def reference_store(url: str, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    """The store after uploading ``files`` in order through the upload code in this process
    (no server, never crashed): what a crashed or concurrent run must end up equal to."""
    import io

    from api.auth import Principal
    from api.services.uploads import ingest_batch, stage_stream
    from matcher.settings import MatchSettings

    matching = MatchSettings(u_sample_pairs=int(FAST_ENV["VAXLINK_MATCHING__U_SAMPLE_PAIRS"]),
                             em_max_pairs=int(FAST_ENV["VAXLINK_MATCHING__EM_MAX_PAIRS"]))  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="vaxlink-reference-"))
    settings = Settings(database_url=url, matching=matching, upload_dir=work)
    database = Database(settings)
    database.migrate()
    principals = {}
    with database.transaction() as session:
        for who, role, province in KEYS:
            key = repo.create_key(session=session, role=role, province=province, label=who)
            principals[who] = Principal(key.key_id, role, province, who)
    for who, content in files:
        province = principals[who].province or ""
        staged = stage_stream(io.BytesIO(content), filename=f"{who}.csv", province=province,
                              settings=settings)  # fmt: skip
        try:
            assert ingest_batch(database, settings, principals[who], staged).status == "done"
        finally:
            staged.cleanup()
    database.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return store_state(url)
