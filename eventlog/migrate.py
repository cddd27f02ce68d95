"""Schema migrations of the log (Alembic, configured in code: no alembic.ini).

The rule for opening a log to write: an empty database (a new SQLite file, a PostgreSQL database or
schema without daytape's tables) is created at the head revision on the spot; a log at an older
revision is refused with `SchemaBehind`, whose message prints `daytape db upgrade --log URL`, so a
shared log is never migrated behind its users' backs; a log at an unknown (newer) revision is
refused with `SchemaAhead`.

Opening a log only reads revisions: the one in Alembic's version table and those of the migration
scripts (eventlog.revisions), both read without importing Alembic (which costs more start-up than the rest of a read
command); Alembic itself is loaded only to migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from eventlog.engine import WRITE_TRANSACTION, connecting, make_engine, normalize_url, sqlite_path
from eventlog.errors import LogUnavailable
from eventlog.revisions import check_revision, head_revision, script_location
from eventlog.revisions import known_revisions as known_revisions

if TYPE_CHECKING:
    from alembic.config import Config

#: Alembic's version table (its default name, which env.py keeps).
VERSION_TABLE = "alembic_version"

#: The tables whose presence means "this database holds a daytape log".
LOG_TABLES = frozenset({"runs", "events", VERSION_TABLE})
#: The PostgreSQL advisory lock key that serializes migrations of a log (any fixed number; this is b"daytape\0").
UPGRADE_LOCK = 0x6461797461706500


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", script_location())
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _current(connection: Connection) -> str | None:
    """The revision in the version table (None when there is no table or no row), as Alembic reads it."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    heads = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(heads) > 1:
        raise RuntimeError(f"the log's {VERSION_TABLE} table holds {len(heads)} revisions: {', '.join(heads)}")
    return heads[0] if heads else None


def current_revision(url: str) -> str | None:
    """The revision the log at `url` is at (None for an empty database or a missing SQLite file)."""
    parsed = normalize_url(url)
    path = sqlite_path(parsed) if parsed.drivername.startswith("sqlite") else None
    if path is not None and not path.exists():
        return None
    _refuse_folder(url, path)
    engine = make_engine(url, read_only=True)
    try:
        with connecting(url), engine.connect() as connection:
            return _current(connection)
    finally:
        engine.dispose()


def _refuse_folder(url: str, path: Path | None) -> None:
    if path is not None and path.is_dir():
        raise LogUnavailable(f"cannot open the event log {url}: {path} is a folder, not a SQLite file")


def is_empty(connection: Connection) -> bool:
    return not (LOG_TABLES & set(inspect(connection).get_table_names()))


def upgrade_engine(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply the migrations up to `revision`; return the revisions before and after."""
    from alembic import command

    with engine.connect() as connection:
        before = _current(connection)

    with engine.connect().execution_options(**WRITE_TRANSACTION) as connection, connection.begin():
        _lock_migrations(connection)
        command.upgrade(alembic_config(connection), revision)
    with engine.connect() as connection:
        after = _current(connection)
    return before, after


def _lock_migrations(connection: Connection) -> None:
    """Inside a write transaction: wait for any other process migrating this log. SQLite's BEGIN IMMEDIATE
    already holds the database's one write lock; PostgreSQL takes a transaction-level advisory lock."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})")


def _create_if_empty(engine: Engine) -> tuple[str | None, bool]:
    """Make an empty database a log at the head revision, deciding under the migration lock; return the
    (revision, empty) found there. Processes that open a new log at once take turns: the first makes it,
    the others find it made (from outside its transaction, a log being made can look half made)."""
    from alembic import command

    with engine.connect().execution_options(**WRITE_TRANSACTION) as connection, connection.begin():
        _lock_migrations(connection)
        current = _current(connection)
        if current is None and is_empty(connection):
            command.upgrade(alembic_config(connection), "head")
            return head_revision(), False
        return current, False


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """`daytape db upgrade`: bring the log at `url` to `revision` (the head by default)."""
    parsed = normalize_url(url)
    path = sqlite_path(parsed) if parsed.drivername.startswith("sqlite") else None
    _refuse_folder(url, path)
    if path is not None and not path.parent.is_dir():
        raise LogUnavailable(f"cannot create the event log {url}: no folder {path.parent} (create it first)")
    engine = make_engine(url)
    try:
        with connecting(url):
            return upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def check_schema(engine: Engine, url: str, *, create: bool) -> None:
    """Make sure the log at `url` is at the head revision (creating an empty one when `create`)."""
    head = head_revision()
    with engine.connect() as connection:
        current = _current(connection)
        empty = current is None and is_empty(connection)
    if current != head and create:
        current, empty = _create_if_empty(engine)
    check_revision(url, current, empty)
