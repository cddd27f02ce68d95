"""The PostgreSQL backend: one log for many workers (psycopg 3).

The engine commits without waiting for the WAL flush (`synchronous_commit=off` for the log's
sessions): the same durability as SQLite's WAL with synchronous=NORMAL, a daytape crash loses
nothing committed. The store binds dates and times as themselves (`date`, `timestamptz`) and writes a
large batch with COPY (psycopg re-parses long INSERTs), a small one as multi-row INSERTs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine

from eventlog.sqlstore import BATCH_COLUMNS, CHUNKS, INSERT_COLUMNS, ROW_COLUMNS, SQLEventStore

#: Batches from this many rows are written with COPY.
COPY_FROM = 128
#: The transaction-level advisory lock that serializes the choice of run keys (b"runkeys\0").
RUN_KEY_LOCK = 0x72756E6B65797300


class PostgresEventStore(SQLEventStore):
    """The log in a PostgreSQL database (the schema its `search_path` names)."""

    NOW_SQL = "now()"

    def __init__(self, url: str, engine: Engine) -> None:
        super().__init__(url, engine)
        self._insert_sql = {size: _insert_statement(size) for size in CHUNKS}
        self._copy_sql = f"COPY events ({', '.join(INSERT_COLUMNS)}) FROM STDIN"

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def _lock_run_keys(self, conn: Connection) -> None:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({RUN_KEY_LOCK})")

    def _insert(self, cursor: Any, values: list[Any]) -> None:
        shared, values = tuple(values[: len(BATCH_COLUMNS)]), values[len(BATCH_COLUMNS) :]
        width = len(ROW_COLUMNS)
        rows = [(*shared, *row) for row in zip(*[iter(values)] * width, strict=True)]
        if len(rows) >= COPY_FROM:
            with cursor.copy(self._copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        start = 0
        for size in CHUNKS[1:]:
            while len(rows) - start >= size:
                cursor.execute(self._insert_sql[size], [value for row in rows[start : start + size] for value in row])
                start += size


def _insert_statement(rows: int) -> str:
    placeholders = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"
    return f"INSERT INTO events ({', '.join(INSERT_COLUMNS)}) VALUES " + ", ".join([placeholders] * rows)


def _connect(dbapi_connection: Any, _record: Any) -> None:
    """Commits of this session do not wait for the WAL flush (`synchronous_commit=off`): the same
    promise as SQLite's WAL with synchronous=NORMAL, durable when daytape dies, not when the
    server's machine loses power; without it every request's append waits for an fsync."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


def make_postgres_engine(parsed: URL) -> Engine:
    """An engine for the PostgreSQL log at `parsed`."""
    engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "connect", _connect)
    return engine
