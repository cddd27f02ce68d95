"""A SQLite log read with the standard library's sqlite3 alone: the read path of `daytape runs`.

SQLAlchemy's import costs several times a bare interpreter's start, more than listing a log's runs
takes, so a command that only reads a SQLite file opens it here: read-only (`mode=ro`, or `immutable=1`
where the folder cannot take SQLite's `-shm` file; see `eventlog.sqlite`), its schema revision checked
as `eventlog.migrate` checks it (the scripts' revisions from `eventlog.revisions`, without Alembic), and
read with the queries `eventlog.sqlstore` runs, written out, giving the same records (`RunInfo`) and
the same one-line errors. Writing, PostgreSQL and migrations stay with SQLAlchemy; a URL this module
does not read as a plain SQLite file (`sqlite:///PATH`, no query, no escapes) goes there too.
tests/eventlog/test_sqlite_reader.py compares both paths record for record on the same logs.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from eventlog.errors import LogNotFound, LogUnavailable
from eventlog.revisions import check_revision
from eventlog.store import RunInfo

_PLAIN_SQLITE_URL = re.compile(r"^sqlite(?:\+pysqlite)?:///(?P<path>[^?#%]+)$")
#: The `runs` columns kept as UTC times (`eventlog.schema.UTCDateTime`, stored as text in SQLite).
TIME_COLUMNS = frozenset({"started_at", "finished_at"})
#: The tables whose presence means "this database holds a daytape log" (`eventlog.migrate.LOG_TABLES`).
LOG_TABLES = frozenset({"runs", "events", "alembic_version"})

LIST_RUNS = (
    "SELECT runs.*, coalesce(counts.n, 0) AS n FROM runs LEFT OUTER JOIN "
    "(SELECT sessions.run_id AS run_id, count(*) AS n FROM sessions GROUP BY sessions.run_id) AS counts "
    "ON counts.run_id = runs.run_id ORDER BY runs.started_at, runs.run_id"
)
ONE_RUN = "SELECT * FROM runs WHERE run_id = ?"
RUN_SESSIONS = "SELECT count(*) FROM sessions WHERE run_id = ?"
EXACT_ID = "SELECT run_id FROM runs WHERE run_id = ?"
IDS_LIKE = "SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\' LIMIT ?"


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL; None for any other URL (read through SQLAlchemy)."""
    found = _PLAIN_SQLITE_URL.match(url.strip())
    return None if found is None or found["path"] == ":memory:" else Path(found["path"])


def _file_uri(path: Path, parameter: str) -> str:
    return f"file:{quote(str(path.resolve()))}?{parameter}"


def read_only_uri(path: Path) -> str:
    """The `file:` URI that opens the SQLite log at `path` read-only (see `eventlog.sqlite`'s docstring)."""
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


def _time(value: Any) -> Any:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


class SQLiteReader:
    """The runs of a SQLite log, read as `SQLiteEventStore` reads them (`list_runs`, `run`, `match_run_ids`)."""

    def __init__(self, url: str, connection: sqlite3.Connection) -> None:
        self.url = url
        self._connection = connection

    @classmethod
    def open(cls, url: str, path: Path) -> Self:
        """The log in the file `path` (of `url`), its schema checked; the errors `open_store` raises."""
        if path.is_dir():
            raise LogUnavailable(f"cannot open the event log {url}: {path} is a folder, not a SQLite file")
        if not path.exists():
            raise LogNotFound(f"no event log at {url} (no file {path})")
        try:
            connection = sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise _unavailable(url, exc) from None
        try:
            _check_schema(connection, url)
        except BaseException:
            connection.close()
            raise
        return cls(url, connection)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self._connection.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise _unavailable(self.url, exc) from None

    def list_runs(self) -> list[RunInfo]:
        return [_run_info(row, sessions=int(row["n"])) for row in self._rows(LIST_RUNS)]

    def run(self, run_id: str) -> RunInfo | None:
        rows = self._rows(ONE_RUN, (run_id,))
        if not rows:
            return None
        return _run_info(rows[0], sessions=int(self._rows(RUN_SESSIONS, (run_id,))[0][0]))

    def match_run_ids(self, text: str, limit: int) -> list[str]:
        if self._rows(EXACT_ID, (text,)):
            return [text]
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [row[0] for row in self._rows(IDS_LIKE, (escaped + "%", limit))]


def _run_info(row: sqlite3.Row, **given: Any) -> RunInfo:
    """A `RunInfo` from a row's columns of the same names (as `eventlog.sqlstore` makes it), times as UTC."""
    columns = {name: _time(row[name]) if name in TIME_COLUMNS else row[name] for name in row.keys()}  # noqa: SIM118
    return RunInfo(**{name: columns[name] for name in RunInfo.__dataclass_fields__ if name not in given}, **given)


def _unavailable(url: str, exc: sqlite3.Error) -> LogUnavailable:
    """`eventlog.engine.connecting`'s message: the driver's first line."""
    reason = " ".join(str(exc).split("\n", 1)[0].split())
    return LogUnavailable(f"cannot open the event log {url.strip()}: {reason}")


def _check_schema(connection: sqlite3.Connection, url: str) -> None:
    """`eventlog.migrate.check_schema` without creating: the log must be at the head revision."""
    connection.row_factory = sqlite3.Row
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        current = None
        if "alembic_version" in tables:
            heads = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
            if len(heads) > 1:
                raise RuntimeError(f"the log's alembic_version table holds {len(heads)} revisions: {', '.join(heads)}")
            current = heads[0] if heads else None
    except sqlite3.Error as exc:
        raise _unavailable(url, exc) from None
    check_revision(url, current, current is None and not LOG_TABLES & tables)
