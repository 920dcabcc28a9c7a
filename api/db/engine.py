"""Engine and sessions: SQLite (WAL, foreign keys) or PostgreSQL; migrations at start-up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_MMAP_BYTES = 1 << 32  # address space only; SQLite maps at most the file's size


class Database:
    """One engine and its session factory."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url
        self.engine = make_engine(settings.database_url, echo=settings.sql_echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock()
        self._lock_path = _sqlite_lock_path(settings.database_url)
        self._lock_file: IO[str] | None = None

    @contextmanager
    def serial_writes(self) -> Iterator[None]:
        """Around a short write and its commit: on SQLite, one writer at a time per file.

        SQLite lets one connection write at a time; the others retry with sleeps of 1, 2, 5,
        10 … ms (its busy handler), which under many small writes (the audit entry of every
        history query) costs more than the writes. A thread lock and an exclusive ``flock`` on
        a file beside the database (shared by the worker processes) queue them instead. Other
        writers (uploads, reviews) do not take it and still meet the busy timeout. PostgreSQL:
        nothing to do.
        """
        if self._lock_path is None:
            yield
            return
        with self._write_lock:
            if self._lock_file is None:
                self._lock_file = self._lock_path.open("a")
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        upgrade(self.engine)

    def analyze(self) -> None:
        """Refresh PostgreSQL's planner statistics (after a bulk load or a full relink).

        Without them (autovacuum off, or not yet run) the planner does not use the
        ``(rule, value)`` index of ``record_keys`` and each neighbour lookup of incremental
        linking scans (seen: 41 ms instead of 2.7 ms per 500 keys; a 50k-row batch 54 s).
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()

    def dispose(self) -> None:
        """Close every pooled connection (and the SQLite write-lock file)."""
        self.engine.dispose()
        with self._write_lock:
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None


def _sqlite_lock_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or fcntl is None:
        return None
    database = parsed.database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.writelock")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    parsed = make_url(url)
    # hide_parameters: values (names, ID numbers) never appear in the text of a database error
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # cached_statements: sqlite3 keeps this many prepared statements per connection (128 by
        # default); IN lists of many lengths (up to 32k placeholders each) made them a heap
        # that grew with every job on each pooled connection
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": 30,
            "cached_statements": 32,
        }
        if database and database != ":memory:":
            # Up to anyio's 40 worker threads share the pool: connections beyond it would be
            # opened and closed per request, each with a cold page cache.
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 32
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs["pool_pre_ping"] = True
    kwargs["pool_size"] = 10
    kwargs["max_overflow"] = 20
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Reads through the OS page cache (shared by every connection and worker process) instead
    # of copying pages into each connection's own small cache.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped inside ``api/db/``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
