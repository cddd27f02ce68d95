"""Backends for the event-log suite: a real SQLite file always, the real PostgreSQL when it answers.

Each PostgreSQL test gets its own schema (dropped afterwards), selected through the connection's
`search_path`, so tests never see each other's rows. The server is found at $DAYTAPE_TEST_PG_URL,
by default postgresql+psycopg://postgres@127.0.0.1:5432/test (trust auth).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache

import pytest

from eventlog.manifest import RunManifest
from eventlog.store import EventStore, open_store
from tests.eventlog.streams import small_run

PG_URL = os.environ.get("DAYTAPE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@cache
def postgres_unavailable() -> str | None:
    """None when the server answers, else why not (the skip reason)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL at {PG_URL} does not answer: {str(exc).strip().splitlines()[0]}"
    return None


def _pg_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards; skips when the server does not answer."""
    import psycopg

    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"daytape_test_{uuid.uuid4().hex[:12]}"
    conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def log_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of a fresh, empty log on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'log.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_schema_url()


@pytest.fixture
def store(log_url: str) -> Iterator[EventStore]:
    with open_store(log_url) as opened:
        yield opened


def write_run(
    store: EventStore, name: str = "test run", days: int = 3, run_id: str | None = None, *, finish: bool = True
) -> str:
    """A run with the default test streams, appended batch by batch through the run's sink; with
    `finish`, then marked completed (and so sealed), as the runner ends a run whose days all ended."""
    run_id = store.create_run(RunManifest(name=name, config_json='{"symbols": ["SPY", "AIG", "BAC"]}'), run_id=run_id)
    sink = store.sink(run_id)
    for session_date, batches in small_run(days).items():
        for batch in batches:
            sink.append(session_date, batch)
    if finish:
        store.finish_run(run_id, "completed")
    return run_id


@pytest.fixture
def written(store: EventStore) -> tuple[EventStore, str]:
    """A store holding one three-day run; returns (store, run_id)."""
    return store, write_run(store)
