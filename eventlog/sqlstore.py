"""What the SQL backends share: the tables of `eventlog.schema` through SQLAlchemy 2, and the append.

An append is ONE transaction: it reads the run's key and the stream's head (last seq and hash) inside
the transaction, numbers the batch from there, chains the hashes and inserts the rows; the primary key
(run_key, session_date, seq) turns a writer that raced past the `expected_seq` check into
`StreamConflict`. Rows are stored compactly (`eventlog.schema`): the readers here give them back as
the log's records always read, each with its `prev_hash` (the hash of the row before), its hashes in
hex, its kind by name and its payload as the canonical text. How the rows go in, how a missing value or
a time is bound and how the transaction begins is each backend's own (`eventlog.sqlite`,
`eventlog.postgres`).

The hot paths (the append, the stream reads of replay and audit) talk to the DB-API cursor directly
(SQLAlchemy's Core costs more per row than the rest of an append put together); everything else goes
through SQLAlchemy Core. Times are recorded by the database clock (`recorded_at`, `started_at`),
never read from the wall clock here.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from hashlib import sha256
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import OperationalError

from eventlog import codec, faults
from eventlog.chain import ChainRow
from eventlog.engine import WRITE_TRANSACTION, connecting, display_url, make_engine, writable
from eventlog.errors import LogWriteFailed, StreamConflict, UnknownRun
from eventlog.hashing import genesis_hash, payload_bytes
from eventlog.kinds import KIND_CODES, kind_code, kind_name
from eventlog.manifest import RunManifest
from eventlog.migrate import check_schema
from eventlog.schema import events, runs, sessions
from eventlog.seal import StreamHead, seal_digest
from eventlog.store import (
    RUN_STATUSES,
    SEALED_STATUSES,
    SESSION_STATUS_BY_KIND,
    AuditRow,
    EventFilter,
    EventStore,
    RunInfo,
    StoredEvent,
    StreamInfo,
)
from specs.events import EventBase

#: Columns every row of one append shares.
BATCH_COLUMNS = ("run_key", "session_date", "recorded_at")
#: Columns that change row by row, in the order `_rows` lays them out.
ROW_COLUMNS = (
    "seq",
    "kind",
    "schema_version",
    "symbol",
    "request_id",
    "sim_time",
    "payload",
    "hash",
)
INSERT_COLUMNS = BATCH_COLUMNS + ROW_COLUMNS
#: Rows per INSERT statement: a batch is cut into these sizes, largest first (256 x 12 binds stays
#: under every SQLite build's variable limit and PostgreSQL's 65,535).
CHUNKS = (256, 64, 16, 4, 1)

_R = TypeVar("_R", RunInfo, StoredEvent)

#: The run's key from its id, inside a query.
_RUN_KEY = "(SELECT run_key FROM runs WHERE run_id = ?)"
_STREAM = f" FROM events WHERE run_key = {_RUN_KEY} AND session_date = ?"
_SESSION_ENDED = KIND_CODES["SessionEnded"]


class SQLEventStore(EventStore):
    """The SQL store; a backend sets the class attributes and the hooks below."""

    #: The database's clock as SQL.
    NOW_SQL: ClassVar[str]
    #: What a missing envelope value is bound as (`symbol`, `request_id`; `sim_time`).
    NULL: ClassVar[Any] = None
    NULL_TIME: ClassVar[Any] = None

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer: Connection | None = None
        self._raw: Any = None
        self._write_lock = threading.Lock()
        self._head_sql = self._sql(
            f"SELECT {_RUN_KEY}, e.seq, e.hash, {self.NOW_SQL} "
            "FROM (SELECT 1 AS one) AS d LEFT JOIN "
            f"(SELECT seq, hash{_STREAM} ORDER BY seq DESC LIMIT 1) AS e "
            "ON 1 = 1"
        )
        self._session_sql = self._sql(
            "INSERT INTO sessions (run_id, session_date, status, last_seq, end_seq, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, session_date) DO UPDATE SET "
            "status = CASE WHEN excluded.status = 'running' THEN sessions.status ELSE excluded.status END, "
            "last_seq = excluded.last_seq, end_seq = COALESCE(excluded.end_seq, sessions.end_seq), "
            "updated_at = excluded.updated_at"
        )
        #: What the database raises when it cannot take a write (SQLAlchemy's and the DB-API driver's own).
        driver_error = getattr(engine.dialect.dbapi, "OperationalError", OperationalError)
        self._write_errors: tuple[type[BaseException], ...] = (OperationalError, driver_error)

    @classmethod
    def open(cls, url: str, *, create: bool, read_only: bool = False) -> Self:
        """The store at `url`, its schema checked (and created at the head revision with `create`)."""
        with connecting(url):
            engine = make_engine(url, read_only=read_only)
            try:
                check_schema(engine, url, create=create)
            except BaseException:
                engine.dispose()
                raise
        return cls(url, engine)

    # --- a backend's hooks ---------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        """SQL written with `?` placeholders, in the driver's own style."""
        return text

    def db_date(self, value: dt.date) -> Any:
        """A session date as the driver binds it."""
        return value

    def db_time(self, value: dt.datetime) -> Any:
        """An event's time as the driver binds it."""
        return value

    def db_recorded(self, now: Any) -> Any:
        """The database's now (as `NOW_SQL` gives it) as an event's `recorded_at` column takes it."""
        return now

    def _read_time(self, value: Any) -> dt.datetime | str | None:
        """A time column as the driver returns it, as a time (text that is no time stays text)."""
        return value

    def _begin(self, cursor: Any) -> None:
        """Begin the append's transaction on its cursor, if the driver does not."""

    @abstractmethod
    def _insert(self, cursor: Any, values: list[Any]) -> None:
        """Insert a batch laid out by `_rows`: the `BATCH_COLUMNS` values, then each row's `ROW_COLUMNS`."""

    # --- plumbing ------------------------------------------------------------------------------

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
                self._begin(cursor)
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

    # --- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        manifest: RunManifest,
        *,
        run_id: str | None = None,
        started_at: dt.datetime | None = None,
        status: str = "running",
    ) -> str:
        run_id = run_id or uuid.uuid4().hex
        with writable(self.url), self.write() as conn:
            when = started_at if started_at is not None else self._db_now(conn)
            key = self._next_run_key(conn)
            # the manifest's fields are the run's columns of the same names
            conn.execute(
                insert(runs).values(run_id=run_id, run_key=key, started_at=when, status=status, **manifest.model_dump())
            )
        return run_id

    def _next_run_key(self, conn: Connection) -> int:
        """Inside the write transaction: the next run's key (one past the largest), with the backend's lock
        that keeps two processes creating runs at once from taking the same one."""
        self._lock_run_keys(conn)
        return int(conn.execute(select(func.coalesce(func.max(runs.c.run_key), 0) + 1)).scalar_one())

    def _lock_run_keys(self, conn: Connection) -> None:
        """Serialize the choice of run keys (SQLite's write transaction already holds the file's one write lock)."""

    def finish_run(self, run_id: str, status: str, *, finished_at: dt.datetime | None = None) -> str | None:
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
        value = conn.exec_driver_sql(f"SELECT {self.NOW_SQL}").scalar_one()
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        return value

    def list_runs(self) -> list[RunInfo]:
        """Counted from `sessions`, which the appends keep in the same transactions, so listing never
        scans the events."""
        counts = select(sessions.c.run_id, func.count().label("n")).group_by(sessions.c.run_id).subquery()
        query = (
            select(runs, func.coalesce(counts.c.n, 0).label("n"))
            .select_from(runs.outerjoin(counts, counts.c.run_id == runs.c.run_id))
            .order_by(runs.c.started_at, runs.c.run_id)
        )
        with self.engine.connect() as conn:
            return [_record(RunInfo, row, sessions=int(row.n)) for row in conn.execute(query)]

    def run(self, run_id: str) -> RunInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.run_id == run_id)).first()
            if row is None:
                return None
            count = conn.execute(select(func.count()).where(sessions.c.run_id == run_id)).scalar_one()
        return _record(RunInfo, row, sessions=int(count))

    def match_run_ids(self, text: str, limit: int) -> list[str]:
        with self.engine.connect() as conn:
            exact = conn.execute(select(runs.c.run_id).where(runs.c.run_id == text)).first()
            if exact is not None:
                return [exact.run_id]
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = select(runs.c.run_id).where(runs.c.run_id.like(escaped + "%", escape="\\")).limit(limit)
            return [row.run_id for row in conn.execute(query)]

    # --- appending -----------------------------------------------------------------------------

    def head(self, run_id: str, session_date: dt.date) -> tuple[int, str]:
        rows = self.fetch(
            "SELECT seq, hash" + _STREAM + " ORDER BY seq DESC LIMIT 1", (run_id, self.db_date(session_date))
        )
        if not rows:
            return 0, genesis_hash(session_date)
        return int(rows[0][0]), _hex(rows[0][1])

    def append(
        self,
        run_id: str,
        session_date: dt.date,
        events: Sequence[EventBase],
        *,
        expected_seq: int | None = None,
    ) -> list[int]:
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
            run_key, head_seq, head_hash, now = self._read_head(cursor, run_id, db_date)
            if run_key is None:
                raise UnknownRun(run_id, f" in {self.url}: create the run before appending")
            head_seq = head_seq or 0
            prev_hash = _hex(head_hash) if head_seq and head_hash else genesis_hash(session_date)
            if expected_seq is not None and expected_seq != head_seq:
                raise StreamConflict(
                    run_id,
                    session_date,
                    expected_seq + 1,
                    f"the writer expected to append after seq {expected_seq} but the stream is at seq {head_seq}",
                )
            rows = _rows(run_key, db_date, head_seq, prev_hash, self.db_recorded(now), prepared)
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

    def _read_head(self, cursor: Any, run_id: str, db_date: Any) -> tuple[int | None, int | None, bytes | None, Any]:
        """Inside the write transaction: (the run's key or None, last seq, last hash, the database's now)."""
        cursor.execute(self._head_sql, (run_id, run_id, db_date))
        return cursor.fetchone()

    def _prepare(self, events: Sequence[EventBase]) -> tuple[list[tuple[Any, ...]], str, int | None]:
        """Envelope columns (a missing value as the backend's `NULL`), the canonical payload and its
        stored form of each event, computed before the write lock is taken; and the stream status the
        batch leaves behind with the 1-based offset of its SessionEnded, if any."""
        null = self.NULL
        times: dict[dt.datetime | None, Any] = {None: self.NULL_TIME}
        db_time = self.db_time
        encode = payload_bytes
        compress = codec.compressor()
        codes = KIND_CODES
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
            canonical = encode(e)
            append(
                (
                    codes[kind] if kind in codes else kind_code(kind),
                    fields["schema_version"],
                    null if symbol is None else symbol,
                    null if request_id is None else request_id,
                    stored_time,
                    canonical,
                    compress(canonical),
                )
            )
        return prepared, status, end_offset

    def delete_stream(self, run_id: str, session_date: dt.date) -> int:
        """The one deletion in an append-only log: `daytape run --resume` discards the partial stream
        of the day a killed run was in, then runs that day again from its start."""
        db_date = self.db_date(session_date)
        with writable(self.url), self.write() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(self._sql("DELETE" + _STREAM), (run_id, db_date))
                deleted = cursor.rowcount
                cursor.execute(
                    self._sql("DELETE FROM sessions WHERE run_id = ? AND session_date = ?"), (run_id, db_date)
                )
            finally:
                cursor.close()
        return int(deleted)

    # --- reading streams -----------------------------------------------------------------------

    def streams(self, run_id: str) -> list[StreamInfo]:
        counted = (
            select(events.c.session_date, func.count().label("n"), func.max(events.c.seq).label("last_seq"))
            .where(events.c.run_key == _run_key(run_id))
            .group_by(events.c.session_date)
            .subquery()
        )
        query = (
            select(counted, sessions.c.status, sessions.c.end_seq)
            .select_from(
                counted.outerjoin(
                    sessions, (sessions.c.run_id == run_id) & (sessions.c.session_date == counted.c.session_date)
                )
            )
            .order_by(counted.c.session_date)
        )
        with self.engine.connect() as conn:
            return [
                StreamInfo(
                    session_date=row.session_date,
                    events=int(row.n),
                    last_seq=int(row.last_seq),
                    status=row.status or "running",
                    end_seq=row.end_seq,
                )
                for row in conn.execute(query)
            ]

    def recorded_sessions(self, run_id: str) -> dict[dt.date, tuple[str, int, int | None]]:
        query = select(sessions.c.session_date, sessions.c.status, sessions.c.last_seq, sessions.c.end_seq).where(
            sessions.c.run_id == run_id
        )
        with self.engine.connect() as conn:
            return {row.session_date: (row.status, int(row.last_seq), row.end_seq) for row in conn.execute(query)}

    def events(self, run_id: str, where: EventFilter = EventFilter()) -> list[StoredEvent]:
        column = events.c
        # each row's prev_hash is the hash of the row before it in its stream, whatever the filters keep
        stream = select(
            column.session_date,
            column.seq,
            column.kind,
            column.schema_version,
            column.symbol,
            column.request_id,
            column.sim_time,
            column.recorded_at,
            column.payload,
            column.hash,
            func.lag(column.hash).over(partition_by=column.session_date, order_by=column.seq).label("prev"),
        ).where(column.run_key == _run_key(run_id))
        if where.session_date is not None:
            stream = stream.where(column.session_date == where.session_date)
        rows = stream.subquery()
        kinds = None if where.kinds is None else [KIND_CODES.get(kind, -1) for kind in where.kinds]
        bounds = [
            (kinds, rows.c.kind.in_),
            (where.symbol, rows.c.symbol.__eq__),
            (where.request_id, rows.c.request_id.__eq__),
            (where.seq_from, rows.c.seq.__ge__),
            (where.seq_to, rows.c.seq.__le__),
            (where.time_from, rows.c.sim_time.__ge__),
            (where.time_to, rows.c.sim_time.__le__),
        ]
        query = select(rows)
        for value, condition in bounds:
            if value is not None:
                query = query.where(condition(value))
        query = query.order_by(rows.c.session_date, rows.c.seq)
        with self.engine.connect() as conn:
            return [_stored_event(run_id, row) for row in conn.execute(query)]

    def stream_payloads(
        self, run_id: str, session_date: dt.date, until_seq: int | None = None
    ) -> Sequence[tuple[int, bytes]]:
        unpack = codec.unpack
        return [
            (seq, unpack(payload)) for seq, payload in self._stream("seq, payload", run_id, session_date, until_seq)
        ]

    def stream_rows(self, run_id: str, session_date: dt.date) -> Sequence[AuditRow]:
        columns = "seq, kind, payload, hash, schema_version, symbol, request_id, sim_time"
        read_time = self._read_time
        rows = self._stream(columns, run_id, session_date)
        chained = _chained(session_date, [row[:4] for row in rows])
        return [(*chain, *row[4:7], read_time(row[7])) for chain, row in zip(chained, rows, strict=True)]

    def chain_rows(self, run_id: str, session_date: dt.date) -> tuple[list[ChainRow], int | None]:
        recorded = self.fetch(
            "SELECT last_seq FROM sessions WHERE run_id = ? AND session_date = ?", (run_id, self.db_date(session_date))
        )
        last_seq = int(recorded[0][0]) if recorded else None
        rows = self._stream("seq, kind, payload, hash", run_id, session_date, last_seq)
        return _chained(session_date, rows), last_seq

    def session_end_seq(self, run_id: str, session_date: dt.date) -> int | None:
        sql = "SELECT MIN(seq)" + _STREAM + f" AND kind = {_SESSION_ENDED}"
        rows = self.fetch(sql, (run_id, self.db_date(session_date)))
        return rows[0][0] if rows and rows[0][0] is not None else None

    def _stream(self, columns: str, run_id: str, session_date: dt.date, until_seq: int | None = None) -> list[Any]:
        """`columns` of one stream's rows in seq order, up to `until_seq`."""
        sql = f"SELECT {columns}" + _STREAM
        params: list[Any] = [run_id, self.db_date(session_date)]
        if until_seq is not None:
            sql += " AND seq <= ?"
            params.append(until_seq)
        return self.fetch(sql + " ORDER BY seq", params)


def _run_key(run_id: str) -> Any:
    """The run's key, as a scalar subquery of a Core query."""
    return select(runs.c.run_key).where(runs.c.run_id == run_id).scalar_subquery()


def _hex(stored: bytes) -> str:
    """A stored hash as the chain writes it: hex (bytes that are no 32-byte hash, as text, so they never match)."""
    stored = bytes(stored)
    return stored.hex() if len(stored) == 32 else stored.decode(errors="replace")


def _chained(session_date: dt.date, rows: Sequence[Sequence[Any]]) -> list[ChainRow]:
    """(seq, kind, payload, hash) rows of a stream in seq order as the chain reads them: (seq, kind name,
    canonical payload text, prev_hash, hash), each prev_hash the hash of the row before (the genesis
    hash for the first)."""
    prev = genesis_hash(session_date)
    unpack = codec.unpack
    out: list[ChainRow] = []
    append = out.append
    for seq, kind, payload, stored in rows:
        digest = _hex(stored)
        append((seq, kind_name(kind), unpack(payload).decode(), prev, digest))
        prev = digest
    return out


def _stored_event(run_id: str, row: Row[Any]) -> StoredEvent:
    day = row.session_date
    return StoredEvent(
        run_id=run_id,
        session_date=day,
        seq=row.seq,
        kind=kind_name(row.kind),
        schema_version=row.schema_version,
        symbol=row.symbol,
        request_id=row.request_id,
        sim_time=row.sim_time,
        recorded_at=row.recorded_at,
        payload_json=codec.unpack(row.payload).decode(),
        prev_hash=genesis_hash(day) if row.prev is None else _hex(row.prev),
        hash=_hex(row.hash),
    )


def stream_heads(conn: Connection, run_id: str) -> list[StreamHead]:
    """(date, last seq, its hash) of each of the run's streams, in date order."""
    key = _run_key(run_id)
    last = (
        select(events.c.session_date, func.max(events.c.seq).label("last_seq"))
        .where(events.c.run_key == key)
        .group_by(events.c.session_date)
        .subquery()
    )
    query = (
        select(events.c.session_date, events.c.seq, events.c.hash)
        .join(last, (events.c.session_date == last.c.session_date) & (events.c.seq == last.c.last_seq))
        .where(events.c.run_key == key)
        .order_by(events.c.session_date)
    )
    return [(row.session_date, int(row.seq), _hex(row.hash)) for row in conn.execute(query)]


def _record(cls: type[_R], row: Row[Any], **given: Any) -> _R:
    """A record dataclass from a row's columns of the same names (and the fields `given`)."""
    columns = row._mapping
    return cls(**{f.name: columns[f.name] for f in fields(cls) if f.name not in given}, **given)


def _rows(run_key: int, db_date: Any, head_seq: int, prev: str, now: Any, prepared: list[tuple[Any, ...]]) -> list[Any]:
    """The batch's insert values, flat: the `BATCH_COLUMNS` values once, then each row's `ROW_COLUMNS`,
    numbered after the head, each hash chained to the one before (over the canonical payload)."""
    values: list[Any] = [run_key, db_date, now]
    extend = values.extend
    seq = head_seq
    for kind, version, symbol, request_id, sim_time, canonical, stored in prepared:
        seq += 1
        chained = sha256(prev.encode() + canonical)
        extend((seq, kind, version, symbol, request_id, sim_time, stored, chained.digest()))
        prev = chained.hexdigest()
    return values


def _is_unique_violation(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate == "23505"
    return type(exc).__name__ == "IntegrityError" and "UNIQUE" in str(exc)
