"""The log's tables (SQLAlchemy Core), with every constraint named by one convention.

- `runs`: one row per run: its config, the config's hash, a digest of the data it read, the code
  version and seed, when it started and finished, its status, and its seal once it ended
  (`eventlog.seal`).
- `events`: one stream per (run, session date), `seq` contiguous from 1; the envelope (`kind`,
  `schema_version`, `symbol`, `request_id`, `sim_time`) is copied out of the payload into columns so
  readers filter without parsing JSON; `prev_hash`/`hash` chain the stream. Its one index is the
  unique (run_id, session_date, seq), which serves every read (a stream, a seq range, a run's
  dates): each further index costs appends about a third of their speed, and the filters on
  symbol, kind or request id run within a run's or a day's rows.
- `sessions`: one row per stream, kept in the same transaction as the appends: its status (running,
  ended, failed, aborted), last seq and the seq of its SessionEnded. Resume and `daytape runs` read
  it; the events stay the truth, and the audit checks one against the other.

Times are UTC. On SQLite they are stored as fixed-width text `YYYY-MM-DD HH:MM:SS.ffffff`, which
sorts as time does; on PostgreSQL as `timestamptz`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def to_utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def sqlite_time(value: dt.datetime) -> str:
    return to_utc(value).strftime(SQLITE_TIME_FORMAT)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A UTC instant: `timestamptz` on PostgreSQL, sortable fixed-width text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return sqlite_time(value)
        return to_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        return to_utc(value)


runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("config_json", Text, nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("data_digest", String(64), nullable=True),
    Column("code_version", Text, nullable=False),
    Column("seed", BigInteger, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("seal", String(64), nullable=True),
    Column("data_scope", Text, nullable=True),
    Index(None, "started_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("session_date", Date, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("symbol", String(32), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("sim_time", UTCDateTime, nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("run_id", "session_date", "seq"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("session_date", Date, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("end_seq", Integer, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)
