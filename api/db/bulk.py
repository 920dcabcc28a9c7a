"""Bulk reads and writes inside the session's transaction, past the ORM: ``COPY`` on
PostgreSQL, ``executemany`` on the raw SQLite connection.

The ORM's bulk paths build a dict and run SQLAlchemy's per-row bookkeeping for every row; at
a million persons (several million rows of doses, blocking keys and histories) that was most
of a full relink. These helpers take rows as tuples in column order and hand them to the
driver in one call per statement. They run on the session's own connection, so they commit
or roll back with the rest of the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

Row = Sequence[Any]
_SQLITE_MAX_VARIABLES = 32_000  # SQLite ≥ 3.32 allows 32,766 bound values per statement


def _connection(session: Session | Connection) -> Connection:
    return session.connection() if isinstance(session, Session) else session


def _driver(session: Session | Connection) -> Any:
    """The DBAPI connection of the session's transaction (sqlite3 or psycopg)."""
    return _connection(session).connection.driver_connection


def is_postgresql(session: Session | Connection) -> bool:
    """True on PostgreSQL."""
    return _connection(session).dialect.name == "postgresql"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def insert_rows(
    session: Session | Connection, table: Table, columns: Sequence[str], rows: Iterable[Row]
) -> int:
    """Insert tuples (values in ``columns`` order); returns the number of rows."""
    cols = ", ".join(_quote(c) for c in columns)
    driver = _driver(session)
    n = 0
    if is_postgresql(session):
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {_quote(table.name)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        return n
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {_quote(table.name)} ({cols}) VALUES ({marks})"
    cursor = driver.cursor()
    try:
        for chunk in _chunked(rows, 50_000):
            cursor.executemany(sql, chunk)
            n += len(chunk)
    finally:
        cursor.close()
    return n


def update_rows(
    session: Session | Connection,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Iterable[Row],
) -> None:
    """``UPDATE table SET columns WHERE key = …`` for tuples ``(key, *columns)``.

    PostgreSQL: ``COPY`` into a temporary table, then one ``UPDATE … FROM``. SQLite:
    ``executemany`` of the keyed UPDATE (a B-tree seek per row, no statement parsing).
    """
    driver = _driver(session)
    if is_postgresql(session):
        temp = f"_bulk_{uuid.uuid4().hex[:12]}"
        names = [key, *columns]
        with driver.cursor() as cursor:
            cols = ", ".join(_quote(c) for c in names)
            cursor.execute(
                f"CREATE TEMPORARY TABLE {temp} AS SELECT {cols} FROM {_quote(table.name)} "
                "WITH NO DATA"
            )
            with cursor.copy(f"COPY {temp} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # statistics, so a few thousand rows join through the key's index, not a scan
            cursor.execute(f"ANALYZE {temp}")
            sets = ", ".join(f"{_quote(c)} = t.{_quote(c)}" for c in columns)
            cursor.execute(
                f"UPDATE {_quote(table.name)} AS x SET {sets} FROM {temp} AS t "
                f"WHERE x.{_quote(key)} = t.{_quote(key)}"
            )
            cursor.execute(f"DROP TABLE {temp}")
        return
    sets = ", ".join(f"{_quote(c)} = ?" for c in columns)
    sql = f"UPDATE {_quote(table.name)} SET {sets} WHERE {_quote(key)} = ?"
    cursor = driver.cursor()
    try:
        for chunk in _chunked(rows, 50_000):
            cursor.executemany(sql, [(*row[1:], row[0]) for row in chunk])
    finally:
        cursor.close()


def select_frame(
    session: Session | Connection, sql: str, columns: Sequence[str], params: Sequence[Any] = ()
) -> pd.DataFrame:
    """Rows of a plain SELECT (``?`` placeholders; ``%s`` on PostgreSQL) as an object frame."""
    driver = _driver(session)
    if is_postgresql(session):
        sql = sql.replace("?", "%s")
    cursor = driver.cursor()
    try:
        cursor.execute(sql, tuple(params))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.DataFrame.from_records(rows, columns=list(columns), coerce_float=False)


def select_in(
    session: Session | Connection,
    sql: str,
    values: Sequence[Any],
    *,
    params: Sequence[Any] = (),
    fetch: bool = True,
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` whose ``IN ({in})`` is a list of ``values``, in as few statements as the
    backend allows (``?`` placeholders for ``params``, which come first). ``fetch=False`` for
    a DELETE or UPDATE.

    PostgreSQL gets ``= ANY(%s)`` with the whole list as one array parameter: one statement,
    and no parsing or planning of thousands of placeholders (~4× faster on 60k ids).
    """
    if not len(values):
        return []
    driver = _driver(session)
    cursor = driver.cursor()
    try:
        if is_postgresql(session):
            text = sql.replace("?", "%s").replace("IN ({in})", "= ANY(%s)")
            cursor.execute(text, (*params, list(values)))
            return list(cursor.fetchall()) if fetch else []
        size = max_in_list(session, columns=1) - len(params)
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(values), size):
            part = _padded(list(values[start : start + size]), size)
            cursor.execute(sql.replace("{in}", ", ".join("?" * len(part))), (*params, *part))
            if fetch:
                out.extend(cursor.fetchall())
        return out
    finally:
        cursor.close()


def _padded(part: list[Any], most: int) -> list[Any]:
    """An IN list padded (with its last value again) to a power of two, at most ``most``.

    sqlite3 keeps every prepared statement of a connection in its cache; a list of every
    length gave each a new statement of up to 32k placeholders, kept by each pooled connection
    (the service's heap grew ~30 MB a minute under a mixed load). Padded, a query has at most
    ~15 shapes. Repeating a value changes no result of ``IN``.
    """
    width = 16
    while width < len(part):
        width *= 2
    width = min(width, most)
    return part + [part[-1]] * (width - len(part)) if len(part) < width else part


@contextmanager
def large_cache(session: Session | Connection, mebibytes: int = 1024) -> Iterator[None]:
    """SQLite: a larger page cache on this connection for a bulk job (index updates of a
    million-row store thrash the default 2 MB), restored afterwards. PostgreSQL: nothing."""
    if is_postgresql(session):
        yield
        return
    driver = _driver(session)
    before = driver.execute("PRAGMA cache_size").fetchone()[0]
    driver.execute(f"PRAGMA cache_size = {-1024 * int(mebibytes)}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {int(before)}")


def max_in_list(session: Session | Connection, columns: int = 1) -> int:
    """How many values one ``IN (…)`` list may carry on this backend."""
    return 10_000 if is_postgresql(session) else _SQLITE_MAX_VARIABLES // max(1, columns)


def _chunked(rows: Iterable[Row], size: int) -> Iterable[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
