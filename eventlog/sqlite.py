"""The SQLite backend: a log in one file, the default.

The engine: WAL journal with `synchronous=NORMAL` (a commit is durable against a process crash and
costs no fsync; only a power loss can drop the last transactions), a busy timeout so writers queue
instead of failing, 8 KiB pages for a new log (an event row is about 600 bytes: half the WAL frames
and page writes of the default 4 KiB, appends about 5% faster; an existing log keeps its page size),
and transactions begun by us: `BEGIN IMMEDIATE` for appends (the write lock is taken before the
stream's head is read, so the head cannot move under the writer) and a plain `BEGIN` for everything
else.

A log opened to read only (`runs`, `audit`, `replay`, ...) is opened with SQLite's `mode=ro`, and never
writes (no journal-mode or page-size pragmas), so a log in a read-only folder or on a read-only mount
can be read. SQLite cannot open a WAL-mode file read-only when it cannot create the `-shm` file beside
it; when no `-wal` file holds uncheckpointed pages, the main file is the whole log and it is opened
`immutable=1` instead.

The store: dates are ISO text and times fixed-width UTC text (`eventlog.schema`); a batch goes in as
multi-row INSERTs of fixed sizes that bind the columns every row shares once per statement.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from eventlog.engine import normalize_url, sqlite_path
from eventlog.errors import LogNotFound, LogUnavailable
from eventlog.schema import day_number, from_micros, micros, millis
from eventlog.sqlite_reader import read_only_uri
from eventlog.sqlstore import BATCH_COLUMNS, CHUNKS, INSERT_COLUMNS, ROW_COLUMNS, SQLEventStore

SQLITE_BUSY_TIMEOUT_MS = 60_000
#: Page size of a new SQLite log (it cannot change once the file has its first table).
SQLITE_PAGE_SIZE = 8192

#: Row columns that may be NULL. The sqlite3 module sends every None parameter through its adapter
#: lookup (failed attribute lookups that build and drop an AttributeError: about half of what binding
#: the rest of the row costs), so SQLite rows carry a stand-in for a missing value and the INSERT turns
#: it back into NULL with NULLIF: `SQLITE_NULL` (an integer) for the text columns, `SQLITE_NULL_TIME`
#: (a text) for the integer time. SQLite never finds an integer equal to a text value, so no real value
#: becomes NULL.
NULLABLE_COLUMNS = {"symbol": "0", "request_id": "0", "sim_time": "''"}
SQLITE_NULL = 0
SQLITE_NULL_TIME = ""


class SQLiteEventStore(SQLEventStore):
    """The log in a SQLite file (or in memory, for `sqlite://`)."""

    NOW_SQL = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    NULL = SQLITE_NULL
    NULL_TIME = SQLITE_NULL_TIME

    def __init__(self, url: str, engine: Engine) -> None:
        super().__init__(url, engine)
        self._insert_sql = {size: _insert_statement(size) for size in CHUNKS}

    @classmethod
    def open(cls, url: str, *, create: bool, read_only: bool = False) -> Self:
        path = sqlite_path(normalize_url(url))
        if path is not None and path.is_dir():
            raise LogUnavailable(f"cannot open the event log {url}: {path} is a folder, not a SQLite file")
        if path is not None and not path.exists():
            if not create:
                raise LogNotFound(f"no event log at {url} (no file {path})")
            if not path.parent.is_dir():
                raise LogUnavailable(f"cannot create the event log {url}: no folder {path.parent} (create it first)")
        return super().open(url, create=create, read_only=read_only)

    def db_date(self, value: dt.date) -> Any:
        return day_number(value)

    def db_time(self, value: dt.datetime) -> Any:
        return micros(value)

    def db_recorded(self, now: Any) -> Any:
        return millis(dt.datetime.fromisoformat(now))

    def _read_time(self, value: Any) -> dt.datetime | str | None:
        if isinstance(value, int):
            return from_micros(value)
        return value if value is None else str(value)

    def _begin(self, cursor: Any) -> None:
        cursor.execute("BEGIN IMMEDIATE")

    def _insert(self, cursor: Any, values: list[Any]) -> None:
        """Multi-row INSERTs of fixed sizes, so the statements stay in the driver's cache; the shared
        values are bound once per statement (binding is most of what an INSERT costs the driver)."""
        shared, values = tuple(values[: len(BATCH_COLUMNS)]), values[len(BATCH_COLUMNS) :]
        width = len(ROW_COLUMNS)
        total = len(values) // width
        start = 0
        for size in CHUNKS:
            while total - start >= size:
                cursor.execute(self._insert_sql[size], (*shared, *values[start * width : (start + size) * width]))
                start += size


def _insert_statement(rows: int) -> str:
    """`rows` rows whose `BATCH_COLUMNS` are the statement's first three parameters, bound once.

    SQLite names the columns of a VALUES list column1, column2, ... and yields its rows in order,
    so the rows go in in seq order as they do with a plain multi-row INSERT. A missing
    `NULLABLE_COLUMNS` value arrives as its stand-in.
    """
    placeholders = "(" + ", ".join("?" * len(ROW_COLUMNS)) + ")"
    columns = ", ".join(
        f"NULLIF(column{i}, {NULLABLE_COLUMNS[name]})" if name in NULLABLE_COLUMNS else f"column{i}"
        for i, name in enumerate(ROW_COLUMNS, start=1)
    )
    shared = ", ".join("?" * len(BATCH_COLUMNS))
    return (
        f"INSERT INTO events ({', '.join(INSERT_COLUMNS)}) SELECT {shared}, {columns} "
        f"FROM (VALUES {', '.join([placeholders] * rows)})"
    )


# --- the engine -------------------------------------------------------------------------------------


def _connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-16000")
    cursor.close()


def _read_only_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-16000")
    cursor.close()


def _begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("daytape_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sqlite_engine(parsed: URL, *, read_only: bool = False) -> Engine:
    """An engine for the SQLite log at `parsed`; `read_only` opens the file so that nothing is written."""
    kwargs: dict[str, Any] = {}
    path = sqlite_path(parsed)
    if path is None:
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif read_only:
        parsed = parsed.set(database=read_only_uri(path), query={"uri": "true"})
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _read_only_connect if read_only and path is not None else _connect)
    event.listen(engine, "begin", _begin)
    return engine
