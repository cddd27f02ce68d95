"""The append-only event store: one interface over SQLite and PostgreSQL.

Writes:
- `create_run` / `finish_run` keep the `runs` rows; `finish_run` seals a run that ended (`eventlog.seal`).
- `append(run_id, date, events, expected_seq=None)` adds a batch to a (run, date) stream in ONE
  transaction: it reads the stream's head (last seq and hash) inside the transaction, numbers the
  batch from there, chains the hashes and inserts the rows (multi-row INSERTs that bind the
  columns a batch shares once per statement on SQLite; COPY for large batches on PostgreSQL).
  With `expected_seq` it is optimistic: the writer says which seq it last saw, and if the stream
  moved on (another writer appended) the append fails with `StreamConflict`; when two
  writers race past that check, the unique (run_id, session_date, seq) constraint rejects the
  second one, which also becomes `StreamConflict`. Writers on different streams never touch the
  same rows.

The hot path talks to the DB-API cursor directly (SQLAlchemy's Core insert costs more per row than
the rest of an append put together); everything else goes through SQLAlchemy. Times are recorded
by the database clock (`recorded_at`, `started_at`), never read from the wall clock here.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from eventlog import faults
from eventlog.engine import (
    WRITE_TRANSACTION,
    connecting,
    display_url,
    make_engine,
    normalize_url,
    sqlite_path,
    writable,
)
from eventlog.errors import LogNotFound, LogUnavailable, LogWriteFailed, StreamConflict, UnknownRun
from eventlog.hashing import genesis_hash, payload_bytes
from eventlog.manifest import RunManifest
from eventlog.migrate import check_schema
from eventlog.schema import SESSION_STATUS_BY_KIND, events, runs, sqlite_time
from eventlog.seal import StreamHead, seal_digest
from specs.events import EventBase

if TYPE_CHECKING:
    from eventlog.sink import RunSink

_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
_POSTGRES_NOW = "now()"

RUN_STATUSES = ("running", "completed", "failed", "aborted", "interrupted")
#: The statuses of a run that ended: `finish_run` seals these (a running or interrupted run is open).
SEALED_STATUSES = ("completed", "failed", "aborted")

#: Columns every row of one append shares.
_BATCH_COLUMNS = ("run_id", "session_date", "recorded_at")
#: Columns that change row by row, in the order `_rows` lays them out.
_ROW_COLUMNS = (
    "seq",
    "kind",
    "schema_version",
    "symbol",
    "request_id",
    "sim_time",
    "payload_json",
    "prev_hash",
    "hash",
)
_INSERT_COLUMNS = _BATCH_COLUMNS + _ROW_COLUMNS
#: Row columns that may be NULL. The sqlite3 module sends every None parameter through its adapter
#: lookup (failed attribute lookups that build and drop an AttributeError: about half of what binding
#: the rest of the row costs), so SQLite rows carry `_SQLITE_NULL` for a missing value and the
#: INSERT turns it back into NULL with NULLIF: SQLite never finds an integer equal to a text
#: value, and these columns hold text, so no real value becomes NULL.
_NULLABLE_COLUMNS = ("symbol", "request_id", "sim_time")
_SQLITE_NULL = 0
#: Rows per INSERT statement: a batch is cut into these sizes, largest first (256 x 12 binds stays
#: under every SQLite build's variable limit and PostgreSQL's 65,535).
_CHUNKS = (256, 64, 16, 4, 1)
#: PostgreSQL batches from this many rows are written with COPY (psycopg re-parses long INSERTs).
_COPY_FROM = 128


class EventStore:
    """A log at one URL. Open it with `open_store(url)`; close it (or use `with`) when done."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer: Connection | None = None
        self._raw: Any = None
        self._write_lock = threading.Lock()
        self._sqlite = self.dialect == "sqlite"
        self._null = _SQLITE_NULL if self._sqlite else None
        now = _SQLITE_NOW if self._sqlite else _POSTGRES_NOW
        self._head_sql = self._sql(
            f"SELECT (SELECT COUNT(*) FROM runs WHERE run_id = ?), e.seq, e.hash, {now} "
            "FROM (SELECT 1 AS one) AS d LEFT JOIN "
            "(SELECT seq, hash FROM events WHERE run_id = ? AND session_date = ? ORDER BY seq DESC LIMIT 1) AS e "
            "ON 1 = 1"
        )
        insert_statement = _sqlite_insert_statement if self._sqlite else _insert_statement
        self._insert_sql = {size: self._sql(insert_statement(size)) for size in _CHUNKS}
        self._copy_sql = f"COPY events ({', '.join(_INSERT_COLUMNS)}) FROM STDIN"
        self._session_sql = self._sql(
            "INSERT INTO sessions (run_id, session_date, status, last_seq, end_seq, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, session_date) DO UPDATE SET "
            "status = CASE WHEN excluded.status = 'running' THEN sessions.status ELSE excluded.status END, "
            "last_seq = excluded.last_seq, end_seq = COALESCE(excluded.end_seq, sessions.end_seq), "
            "updated_at = excluded.updated_at"
        )
        self._now_sql = f"SELECT {now}"
        #: What the database raises when it cannot take a write (SQLAlchemy's and the DB-API driver's own).
        driver_error = getattr(engine.dialect.dbapi, "OperationalError", OperationalError)
        self._write_errors: tuple[type[BaseException], ...] = (OperationalError, driver_error)

    # --- plumbing ------------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        """SQL written with `?` placeholders, in the driver's own style."""
        return text if self._sqlite else text.replace("?", "%s")

    def db_date(self, value: dt.date) -> Any:
        """A session date as the driver binds it (ISO text on SQLite)."""
        return value.isoformat() if self._sqlite else value

    def db_time(self, value: dt.datetime | None) -> Any:
        if value is None:
            return None
        return sqlite_time(value) if self._sqlite else value

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a `?`-style query, straight from the DB-API cursor (the read hot path)."""
        with self.engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(self._sql(sql), tuple(params))
                return cursor.fetchall()
            finally:
                cursor.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (`BEGIN IMMEDIATE` on SQLite) on the store's one writing connection.

        Writes through one store object are serialized by a lock and reuse one connection (a pool
        checkout costs about as much as appending ten events); other store objects and processes
        write through their own connections, and the database arbitrates between them.
        """
        with self._write_lock:
            try:
                if self._writer is None or self._writer.invalidated:
                    self._writer = self.engine.connect().execution_options(**WRITE_TRANSACTION)
                with self._writer.begin():
                    yield self._writer
            except BaseException as exc:
                if self._writer is not None and self._writer.invalidated:
                    self._writer.close()
                    self._writer = None
                if isinstance(exc, self._write_errors):
                    raise self._write_failed(exc) from None
                raise

    @contextmanager
    def _append_transaction(self) -> Iterator[Any]:
        """The append hot path's transaction on a DB-API cursor of the store's raw writing connection
        (SQLAlchemy's transaction bookkeeping costs more than a small append)."""
        with self._write_lock:
            if self._raw is None:
                self._raw = self.engine.raw_connection()
            raw = self._raw
            cursor = raw.cursor()
            try:
                if self._sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                raw.commit()
            except BaseException:
                try:
                    raw.rollback()
                except Exception:
                    raw.invalidate()
                    self._raw = None
                raise
            finally:
                cursor.close()

    def _write_failed(self, exc: BaseException) -> LogWriteFailed:
        """One line naming the log and the database's reason."""
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        return LogWriteFailed(f"cannot write to the event log {display_url(self.url)}: {reason}")

    def close(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._raw is not None:
                self._raw.close()
                self._raw = None
        self.engine.dispose()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({self.url!r})"

    # --- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        manifest: RunManifest,
        *,
        run_id: str | None = None,
        started_at: dt.datetime | None = None,
        status: str = "running",
    ) -> str:
        """Record a new run and return its id (a fresh uuid4 hex unless given)."""
        run_id = run_id or uuid.uuid4().hex
        with writable(self.url), self.write() as conn:
            when = started_at if started_at is not None else self._db_now(conn)
            conn.execute(
                insert(runs).values(
                    run_id=run_id,
                    name=manifest.name,
                    config_json=manifest.config_json,
                    config_hash=manifest.config_hash,
                    data_digest=manifest.data_digest,
                    code_version=manifest.code_version,
                    seed=manifest.seed,
                    started_at=when,
                    status=status,
                )
            )
        return run_id

    def finish_run(self, run_id: str, status: str, *, finished_at: dt.datetime | None = None) -> str | None:
        """Set a run's status and when it finished; return its seal.

        A run that ended (completed, failed, aborted) is sealed in the same transaction, over the
        streams as they stand; setting it running or interrupted again (a resume) clears the seal.
        """
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
        with writable(self.url), self.write() as conn:
            when = finished_at if finished_at is not None else self._db_now(conn)
            done = None if status == "running" else when
            seal = self._seal(conn, run_id) if status in SEALED_STATUSES else None
            result = conn.execute(
                update(runs).where(runs.c.run_id == run_id).values(status=status, finished_at=done, seal=seal)
            )
            if result.rowcount == 0:
                raise UnknownRun(run_id, f" in {self.url}")
        return seal

    def _seal(self, conn: Connection, run_id: str) -> str | None:
        """The run's seal over its streams as they are in this transaction (None for an unknown run)."""
        manifest = conn.execute(
            select(runs.c.config_hash, runs.c.data_digest, runs.c.code_version, runs.c.seed).where(
                runs.c.run_id == run_id
            )
        ).first()
        if manifest is None:
            return None
        return seal_digest(
            config_hash=manifest.config_hash,
            data_digest=manifest.data_digest,
            code_version=manifest.code_version,
            seed=manifest.seed,
            heads=stream_heads(conn, run_id),
        )

    def _db_now(self, conn: Connection) -> dt.datetime:
        value = conn.exec_driver_sql(self._now_sql).scalar_one()
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        return value

    # --- streams -------------------------------------------------------------------------------

    def head(self, run_id: str, session_date: dt.date) -> tuple[int, str]:
        """The stream's last seq and hash: (0, genesis) for a stream not yet written."""
        rows = self.fetch(
            "SELECT seq, hash FROM events WHERE run_id = ? AND session_date = ? ORDER BY seq DESC LIMIT 1",
            (run_id, self.db_date(session_date)),
        )
        if not rows:
            return 0, genesis_hash(session_date)
        return int(rows[0][0]), rows[0][1]

    def append(
        self,
        run_id: str,
        session_date: dt.date,
        events: Sequence[EventBase],
        *,
        expected_seq: int | None = None,
    ) -> list[int]:
        """Append a batch to the (run, date) stream atomically; return the seqs given to it.

        `expected_seq` is the last seq the writer knows of (0 for a new stream); if the stream is
        elsewhere the append fails with StreamConflict and writes nothing.
        """
        if not events:
            return []
        db_date = self.db_date(session_date)
        prepared, status, end_offset = self._prepare(events)
        try:
            return self._append(run_id, session_date, db_date, prepared, status, end_offset, expected_seq)
        except self._write_errors as exc:
            raise self._write_failed(exc) from None

    def _append(
        self,
        run_id: str,
        session_date: dt.date,
        db_date: Any,
        prepared: list[tuple[Any, ...]],
        status: str,
        end_offset: int | None,
        expected_seq: int | None,
    ) -> list[int]:
        with self._append_transaction() as cursor:
            run_count, head_seq, head_hash, now = self._read_head(cursor, run_id, db_date)
            if not run_count:
                raise UnknownRun(run_id, f" in {self.url}: create the run before appending")
            head_seq = head_seq or 0
            prev_hash = head_hash if head_seq and head_hash else genesis_hash(session_date)
            if expected_seq is not None and expected_seq != head_seq:
                raise StreamConflict(
                    run_id,
                    session_date,
                    expected_seq + 1,
                    f"the writer expected to append after seq {expected_seq} but the stream is at seq {head_seq}",
                )
            rows = _rows(run_id, db_date, head_seq, prev_hash, now, prepared)
            try:
                self._insert(cursor, rows)
            except Exception as exc:
                if _is_unique_violation(exc):
                    raise StreamConflict(
                        run_id, session_date, head_seq + 1, "another writer appended to this stream first"
                    ) from None
                raise
            last = head_seq + len(prepared)
            end_seq = head_seq + end_offset if end_offset is not None else None
            cursor.execute(self._session_sql, (run_id, db_date, status, last, end_seq, now))
            if faults.KILL_AT is not None:
                faults.append_point("before")
        if faults.KILL_AT is not None:
            faults.append_point("after")
        return list(range(head_seq + 1, last + 1))

    def _read_head(self, cursor: Any, run_id: str, db_date: Any) -> tuple[int, int | None, str | None, Any]:
        """Inside the write transaction: (run exists, last seq, last hash, the database's now)."""
        cursor.execute(self._head_sql, (run_id, run_id, db_date))
        return cursor.fetchone()  # type: ignore[no-any-return]

    def _insert(self, cursor: Any, values: list[Any]) -> None:
        """Insert a batch laid out by `_rows`: the `_BATCH_COLUMNS` values, then each row's
        `_ROW_COLUMNS`. Multi-row INSERTs of fixed sizes, so the statements stay in the driver's
        cache: on SQLite the shared values are bound once per statement (binding is most of what
        an INSERT costs the driver); on PostgreSQL a large batch goes through COPY instead."""
        shared, values = tuple(values[: len(_BATCH_COLUMNS)]), values[len(_BATCH_COLUMNS) :]
        width = len(_ROW_COLUMNS)
        total = len(values) // width
        if self._sqlite:
            start = 0
            for size in _CHUNKS:
                while total - start >= size:
                    cursor.execute(self._insert_sql[size], (*shared, *values[start * width : (start + size) * width]))
                    start += size
            return
        rows = [(*shared, *row) for row in zip(*[iter(values)] * width, strict=True)]
        if total >= _COPY_FROM:
            with cursor.copy(self._copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        start = 0
        for size in _CHUNKS[1:]:
            while total - start >= size:
                cursor.execute(self._insert_sql[size], [value for row in rows[start : start + size] for value in row])
                start += size

    def _prepare(self, events: Sequence[EventBase]) -> tuple[list[tuple[Any, ...]], str, int | None]:
        """Envelope columns (a missing value as the dialect's `_null`) and canonical payload text of
        each event, computed before the write lock is taken; and the stream status the batch leaves
        behind with the 1-based offset of its SessionEnded, if any."""
        null = self._null
        times: dict[dt.datetime, Any] = {None: null}  # type: ignore[dict-item]
        db_time = self.db_time
        encode = payload_bytes
        status_by_kind = SESSION_STATUS_BY_KIND
        status, end_offset = "running", None
        prepared: list[tuple[Any, ...]] = []
        append = prepared.append
        for e in events:
            fields = e.__dict__
            kind = fields["kind"]
            if kind in status_by_kind:
                status = status_by_kind[kind]
                if kind == "SessionEnded":
                    end_offset = len(prepared) + 1
            t = fields["sim_time"]
            stored_time = times.get(t)
            if stored_time is None and t is not None:
                stored_time = times[t] = db_time(t)
            symbol, request_id = fields["symbol"], fields["request_id"]
            append(
                (
                    kind,
                    fields["schema_version"],
                    null if symbol is None else symbol,
                    null if request_id is None else request_id,
                    stored_time,
                    encode(e).decode(),
                )
            )
        return prepared, status, end_offset

    def delete_stream(self, run_id: str, session_date: dt.date) -> int:
        """Drop a (run, date) stream and its sessions row; return how many events it had.

        The one deletion in an append-only log: `daytape run --resume` discards the partial stream
        of the day a killed run was in, then runs that day again from its start.
        """
        db_date = self.db_date(session_date)
        with writable(self.url), self.write() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                where = " WHERE run_id = ? AND session_date = ?"
                cursor.execute(self._sql("DELETE FROM events" + where), (run_id, db_date))
                deleted = cursor.rowcount
                cursor.execute(self._sql("DELETE FROM sessions" + where), (run_id, db_date))
            finally:
                cursor.close()
        return int(deleted)

    def sink(self, run_id: str, *, resume: bool = False) -> RunSink:
        """The statemachine EventSink that appends this run's batches (see eventlog.sink.RunSink)."""
        from eventlog.sink import RunSink

        return RunSink(self, run_id, resume=resume)


def stream_heads(conn: Connection, run_id: str) -> list[StreamHead]:
    """(date, last seq, its hash) of each of the run's streams, in date order."""
    last = (
        select(events.c.session_date, func.max(events.c.seq).label("last_seq"))
        .where(events.c.run_id == run_id)
        .group_by(events.c.session_date)
        .subquery()
    )
    query = (
        select(events.c.session_date, events.c.seq, events.c.hash)
        .join(last, (events.c.session_date == last.c.session_date) & (events.c.seq == last.c.last_seq))
        .where(events.c.run_id == run_id)
        .order_by(events.c.session_date)
    )
    return [(row.session_date, int(row.seq), row.hash) for row in conn.execute(query)]


def _rows(run_id: str, db_date: Any, head_seq: int, prev: str, now: Any, prepared: list[tuple[Any, ...]]) -> list[Any]:
    """The batch's insert values, flat: the `_BATCH_COLUMNS` values once, then each row's `_ROW_COLUMNS`,
    numbered after the head, each hash chained to the one before."""
    values: list[Any] = [run_id, db_date, now]
    extend = values.extend
    seq = head_seq
    for kind, version, symbol, request_id, sim_time, text in prepared:
        seq += 1
        digest = sha256((prev + text).encode()).hexdigest()
        extend((seq, kind, version, symbol, request_id, sim_time, text, prev, digest))
        prev = digest
    return values


def _insert_statement(rows: int) -> str:
    placeholders = "(" + ", ".join("?" * len(_INSERT_COLUMNS)) + ")"
    return f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) VALUES " + ", ".join([placeholders] * rows)


def _sqlite_insert_statement(rows: int) -> str:
    """`rows` rows whose `_BATCH_COLUMNS` are the statement's first three parameters, bound once.

    SQLite names the columns of a VALUES list column1, column2, ... and yields its rows in order,
    so the ids follow the seqs as they do with a plain multi-row INSERT. A `_NULLABLE_COLUMNS`
    value arrives as `_SQLITE_NULL` when it is missing.
    """
    placeholders = "(" + ", ".join("?" * len(_ROW_COLUMNS)) + ")"
    columns = ", ".join(
        f"NULLIF(column{i}, {_SQLITE_NULL})" if name in _NULLABLE_COLUMNS else f"column{i}"
        for i, name in enumerate(_ROW_COLUMNS, start=1)
    )
    shared = ", ".join("?" * len(_BATCH_COLUMNS))
    return (
        f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) SELECT {shared}, {columns} "
        f"FROM (VALUES {', '.join([placeholders] * rows)})"
    )


def _is_unique_violation(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate == "23505"
    return type(exc).__name__ == "IntegrityError" and "UNIQUE" in str(exc)


def open_store(url: str, *, create: bool = True, read_only: bool = False) -> EventStore:
    """Open the log at `url` (sqlite:///PATH, postgresql+psycopg://..., postgresql://...).

    With `create` (writing) a missing SQLite file or an empty database becomes a new log at the
    head schema revision; without it a missing log is `LogNotFound`. A new SQLite file is made only
    in a folder that exists. `read_only` (reading) opens a SQLite log without writing to it, so a
    log in a read-only folder can be read. A log whose schema is behind is refused with
    `SchemaBehind` either way; a log that cannot be reached or is not a log is `LogUnavailable`.
    """
    parsed = normalize_url(url)
    read_only = read_only and not create
    if parsed.drivername.startswith("sqlite"):
        path = sqlite_path(parsed)
        if path is not None and path.is_dir():
            raise LogUnavailable(f"cannot open the event log {url}: {path} is a folder, not a SQLite file")
        if path is not None and not path.exists():
            if not create:
                raise LogNotFound(f"no event log at {url} (no file {path})")
            if not path.parent.is_dir():
                raise LogUnavailable(f"cannot create the event log {url}: no folder {path.parent} (create it first)")
    with connecting(url):
        engine = make_engine(url, read_only=read_only)
        try:
            check_schema(engine, url, create=create)
        except BaseException:
            engine.dispose()
            raise
    return EventStore(url, engine)
