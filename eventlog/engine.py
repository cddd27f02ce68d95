"""Engines for the two backends: SQLite (WAL, one writer at a time) and PostgreSQL (psycopg 3).

SQLite: WAL journal with `synchronous=NORMAL` (a commit is durable against a process crash and
costs no fsync; only a power loss can drop the last transactions), a busy timeout so writers queue
instead of failing, 8 KiB pages for a new log (an event row is about 600 bytes: half the WAL frames
and page writes of the default 4 KiB, appends about 5% faster; an existing log keeps its page
size), and transactions begun by us: `BEGIN IMMEDIATE` for appends (the write lock is
taken before the stream's head is read, so the head cannot move under the writer) and a plain
`BEGIN` for everything else.

PostgreSQL: psycopg 3, with `synchronous_commit=off` for the log's sessions (the same durability
as SQLite's NORMAL: a daytape crash loses nothing committed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from eventlog.errors import UnsupportedLogURL

SQLITE_BUSY_TIMEOUT_MS = 60_000
#: Page size of a new SQLite log (it cannot change once the file has its first table).
SQLITE_PAGE_SIZE = 8192
#: Execution option that makes a SQLite transaction start with `BEGIN IMMEDIATE`.
WRITE_TRANSACTION = {"daytape_write": True}


def normalize_url(url: str) -> URL:
    """Parse a log URL; `postgresql://` and `postgres://` mean psycopg 3."""
    text = url.strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise UnsupportedLogURL(
            f"cannot read log URL {url!r}: use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None
    if parsed.drivername in ("postgresql", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed
    raise UnsupportedLogURL(
        f"unsupported log URL scheme {parsed.drivername!r} in {url!r}: use sqlite:/// or postgresql://"
    )


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-16000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("daytape_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    parsed = normalize_url(url)
    if parsed.drivername.startswith("sqlite"):
        kwargs: dict[str, Any] = {}
        if sqlite_path(parsed) is None:
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "connect", _postgres_connect)
    return engine


def _postgres_connect(dbapi_connection: Any, _record: Any) -> None:
    """Commits of this session do not wait for the WAL flush (`synchronous_commit=off`): the same
    promise as SQLite's WAL with synchronous=NORMAL, durable when daytape dies, not when the
    server's machine loses power; without it every request's append waits for an fsync."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


def display_url(url: str) -> str:
    """The URL as the user should type it again (password hidden)."""
    return normalize_url(url).render_as_string(hide_password=True)
