"""The migrations through Alembic's own entry points: from a URL (Alembic's command line) and offline, as a
SQL script. The oracle is the SQLite file itself (its tables and recorded revision) and the script's text."""

from __future__ import annotations

import sqlite3

from alembic import command

from eventlog.migrate import alembic_config, head_revision


def test_an_upgrade_from_a_url_builds_the_log_tables_at_the_head_revision(tmp_path):
    path = tmp_path / "log.db"
    command.upgrade(alembic_config(url=f"sqlite:///{path}"), "head")
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        [(revision,)] = db.execute("SELECT version_num FROM alembic_version").fetchall()
        columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
    assert {"events", "runs", "sessions", "alembic_version"} <= tables
    assert revision == head_revision()
    assert {"run_key", "session_date", "seq", "kind", "payload", "hash", "recorded_at"} <= columns
    assert "prev_hash" not in columns


def test_offline_the_schema_revisions_are_a_postgresql_script(capsys):
    """0001-0003 change the schema and backfill with SQL alone; 0004 computes each ended run's seal from its
    rows, which needs the live database, so an offline script stops before it."""
    command.upgrade(alembic_config(url="postgresql+psycopg://daytape@localhost/log"), "0003", sql=True)
    script = capsys.readouterr().out
    assert "CREATE TABLE events" in script
    assert "CREATE TABLE sessions" in script
    assert "INSERT INTO sessions" in script  # 0002's backfill of the sessions of older logs
    assert "ALTER TABLE runs ALTER COLUMN code_version TYPE TEXT" in script  # 0003: code versions of any length
    assert "UPDATE alembic_version SET version_num='0003'" in script
