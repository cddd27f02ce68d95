"""The log's tables (SQLAlchemy Core), with every constraint named by one convention.

- `runs`: one row per run: its config, the config's hash, a digest of the data it read, the code
  version and seed, when it started and finished, its status, and its seal once it ended
  (`eventlog.seal`).
- `events`: one stream per (run, session date), `seq` contiguous from 1, keyed by (run_key, session_date,
  seq): the run's small integer key (`runs.run_key`), not its 32-character id. The envelope (`kind` as its
  number in `eventlog.kinds`, `schema_version`, `symbol`, `request_id`, `sim_time`) is copied out of the
  payload into columns so readers filter without parsing it; `payload` is the canonical payload as
  `eventlog.codec` stores it, `hash` the chain's sha256 as 32 bytes. A row's prev_hash is not stored:
  it is the hash of the row before (the genesis hash for seq 1), which every reader derives. The key is
  the one index and, on SQLite, the table itself (WITHOUT ROWID); it serves every read (a stream, a seq
  range, a run's dates): each further index costs appends about a third of their speed, and the filters
  on symbol, kind or request id run within a run's or a day's rows.
- `sessions`: one row per stream, kept in the same transaction as the appends: its status (running,
  ended, failed, aborted), last seq and the seq of its SessionEnded. Resume and `daytape runs` read
  it; the events stay the truth, and the audit checks one against the other.

Times are UTC. On SQLite the run's and the sessions' times are stored as fixed-width text
`YYYY-MM-DD HH:MM:SS.ffffff`, which sorts as time does, and an event's times as integer microseconds
since 1970 (`UTCMicros`; `recorded_at` in milliseconds, `UTCMillis`, the precision of SQLite's
clock), its session date as days since 1970 (`DayNumber`); on PostgreSQL every time is
a `timestamptz` and every date a `date`.
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
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
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


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
_MICROSECOND = dt.timedelta(microseconds=1)


def micros(value: dt.datetime) -> int:
    """An instant as integer microseconds since 1970 (UTC; a naive time is taken to be UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=value)


def millis(value: dt.datetime) -> int:
    """An instant as integer milliseconds since 1970 (UTC; a naive time is taken to be UTC)."""
    return micros(value) // 1000


def day_number(value: dt.date) -> int:
    return value.toordinal() - EPOCH_DAY


def from_day_number(value: int) -> dt.date:
    return dt.date.fromordinal(value + EPOCH_DAY)


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


class UTCMicros(TypeDecorator[dt.datetime]):
    """An event's UTC instant: integer microseconds since 1970 on SQLite (8 bytes where text took 26),
    `timestamptz` on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return micros(value)
        return to_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return from_micros(value)
        return to_utc(value)


class UTCMillis(UTCMicros):
    """When a row was written, by the database's clock: integer milliseconds since 1970 on SQLite (its
    clock's precision; 6 bytes), `timestamptz` on PostgreSQL."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return millis(value)
        return to_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if isinstance(value, int):
            return from_micros(value * 1000)
        return super().process_result_value(value, dialect)


class DayNumber(TypeDecorator[dt.date]):
    """A session date: days since 1970 on SQLite (2 bytes where text took 10), `date` on PostgreSQL."""

    impl = Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Integer())
        return dialect.type_descriptor(Date())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return day_number(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.date | None:
        if isinstance(value, int):
            return from_day_number(value)
        return value


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
    #: The run's number in this log: the events' key (`create_run` gives the next one).
    Column("run_key", Integer, nullable=False, unique=True),
    Index(None, "started_at"),
)

events = Table(
    "events",
    metadata,
    Column("run_key", Integer, ForeignKey("runs.run_key", ondelete="CASCADE"), primary_key=True),
    Column("session_date", DayNumber, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", SmallInteger, nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("symbol", String(32), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("sim_time", UTCMicros, nullable=True),
    Column("recorded_at", UTCMillis, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    sqlite_with_rowid=False,
)

sessions = Table(
    "sessions",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("session_date", DayNumber, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("end_seq", Integer, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)
