"""Log URLs and engines: which backend a URL names, the engine for it, and the database's refusals
turned into the log's errors.

The engines' settings are each backend's own (`eventlog.sqlite`, `eventlog.postgres`); `make_engine`
picks the backend's from the URL, for the store and for the migrations alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from eventlog.errors import LogUnavailable, UnsupportedLogURL

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


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for the log at `url`; `read_only` opens a SQLite file so that nothing is written."""
    parsed = normalize_url(url)
    if parsed.drivername.startswith("sqlite"):
        from eventlog.sqlite import make_sqlite_engine

        return make_sqlite_engine(parsed, read_only=read_only)
    from eventlog.postgres import make_postgres_engine

    return make_postgres_engine(parsed)


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
