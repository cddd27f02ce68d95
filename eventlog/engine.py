"""Engines for the two backends: SQLite (WAL, one writer at a time) and PostgreSQL (psycopg 3).

SQLite: WAL journal with `synchronous=NORMAL` (a commit is durable against a process crash and
costs no fsync; only a power loss can drop the last transactions), a busy timeout so writers queue
instead of failing, 8 KiB pages for a new log (an event row is about 600 bytes: half the WAL frames
and page writes of the default 4 KiB, appends about 5% faster; an existing log keeps its page
size), and transactions begun by us: `BEGIN IMMEDIATE` for appends (the write lock is
taken before the stream's head is read, so the head cannot move under the writer) and a plain
`BEGIN` for everything else.

A log opened to read only (`runs`, `audit`, `replay`, ...) is opened with SQLite's `mode=ro`, and never
writes (no journal-mode or page-size pragmas), so a log in a read-only folder or on a read-only mount
can be read. SQLite cannot open a WAL-mode file read-only when it cannot create the `-shm` file beside
it; when no `-wal` file holds uncheckpointed pages, the main file is the whole log and it is opened
`immutable=1` instead.

PostgreSQL: psycopg 3, with `synchronous_commit=off` for the log's sessions (the same durability
as SQLite's NORMAL: a daytape crash loses nothing committed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from eventlog.errors import LogUnavailable, UnsupportedLogURL

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


def _sqlite_read_only_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-16000")
    cursor.close()


def _file_uri(path: Path, parameter: str) -> str:
    return f"file:{quote(str(path.resolve()))}?{parameter}"


def read_only_uri(path: Path) -> str:
    """The `file:` URI that opens the SQLite log at `path` read-only (see the module's docstring)."""
    uri = _file_uri(path, "mode=ro")
    try:
        probe = sqlite3.connect(uri, uri=True)
        try:
            probe.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return uri
        finally:
            probe.close()
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc):
            return uri
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise LogUnavailable(
                f"cannot read the event log {path}: it cannot be opened read-only here and its write-ahead "
                f"file {wal} holds events not yet in the main file; open it once where the folder is writable"
            ) from None
        return _file_uri(path, "immutable=1")
    except sqlite3.DatabaseError:
        return uri


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("daytape_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for the log at `url`; `read_only` opens a SQLite file so that nothing is written."""
    parsed = normalize_url(url)
    if parsed.drivername.startswith("sqlite"):
        kwargs: dict[str, Any] = {}
        path = sqlite_path(parsed)
        if path is None:
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        elif read_only:
            uri = read_only_uri(path)
            parsed = parsed.set(database=uri, query={"uri": "true"})
        engine = create_engine(parsed, **kwargs)
        connect = _sqlite_read_only_connect if read_only and path is not None else _sqlite_connect
        event.listen(engine, "connect", connect)
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


@contextmanager
def connecting(url: str) -> Iterator[None]:
    """Turn a driver's failure to reach the log (no server, no database, not a SQLite file) into
    `LogUnavailable` with the driver's first line."""
    try:
        yield
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig or exc).split("\n", 1)[0].split())
        raise LogUnavailable(f"cannot open the event log {display_url(url)}: {reason}") from None


#: SQLite's primary result code for a write to a database opened (or only openable) read-only.
_SQLITE_READONLY = 8
#: PostgreSQL: a read-only transaction (a standby, default_transaction_read_only), no privilege to write.
_POSTGRES_READ_ONLY_STATES = ("25006", "42501")


@contextmanager
def writable(url: str) -> Iterator[None]:
    """Turn a write refused because the log is read-only (a read-only file or mount, a PostgreSQL
    standby or a role without the privilege) into `LogUnavailable`; other failures pass through."""
    try:
        yield
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlite_errorcode", None)
        sqlite_read_only = code is not None and code & 0xFF == _SQLITE_READONLY
        if not sqlite_read_only and getattr(exc.orig, "sqlstate", None) not in _POSTGRES_READ_ONLY_STATES:
            raise
        reason = " ".join(str(exc.orig).split("\n", 1)[0].split())
        raise LogUnavailable(f"cannot write to the event log {display_url(url)}: {reason}") from None


def display_url(url: str) -> str:
    """The URL as the user should type it again (password hidden)."""
    return normalize_url(url).render_as_string(hide_password=True)
