"""Backend settings: SQLite in WAL with synchronous=NORMAL and a busy timeout, nothing created on
read; PostgreSQL commits without waiting for the WAL flush (the same durability promise)."""

from __future__ import annotations

import pytest

from eventlog.engine import normalize_url
from eventlog.errors import LogNotFound, UnsupportedLogURL
from eventlog.sqlite import SQLITE_PAGE_SIZE
from eventlog.store import open_store


def test_wal_and_synchronous_normal(sqlite_url):
    with open_store(sqlite_url) as store:
        assert store.fetch("PRAGMA journal_mode") == [("wal",)]
        assert store.fetch("PRAGMA synchronous") == [(1,)]
        assert store.fetch("PRAGMA busy_timeout")[0][0] >= 1000
        assert store.fetch("PRAGMA page_size") == [(SQLITE_PAGE_SIZE,)]


@pytest.mark.postgres
def test_postgres_sessions_commit_without_waiting_for_the_flush(pg_url):
    with open_store(pg_url) as store:
        assert store.fetch("SHOW synchronous_commit") == [("off",)]


def test_reading_a_missing_file_creates_nothing(tmp_path):
    target = tmp_path / "absent.db"
    with pytest.raises(LogNotFound, match="no event log at"):
        open_store(f"sqlite:///{target}", create=False)
    assert not target.exists()


def test_url_forms():
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").database == "x.db"
    with pytest.raises(UnsupportedLogURL, match="mysql"):
        normalize_url("mysql://u@h/db")
