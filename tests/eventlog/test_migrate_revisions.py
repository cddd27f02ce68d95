"""Opening a log reads its revision and the scripts' revisions without Alembic (start-up); Alembic's own
reading is the oracle."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from daytape.cli import main
from eventlog import migrate
from eventlog.audit import audit_run
from eventlog.engine import make_engine
from eventlog.errors import LogNotFound, SchemaBehind
from eventlog.manifest import RunManifest
from eventlog.reading import get_run, list_runs
from eventlog.store import open_store
from tests.eventlog.conftest import write_run


def test_the_head_and_the_known_revisions_are_alembics():
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.head_revision() == scripts.get_current_head()
    assert migrate.known_revisions() == {script.revision for script in scripts.walk_revisions()}


@pytest.mark.parametrize("revision", [None, "0001", "0002", "head"])
def test_the_current_revision_is_what_alembic_reads(log_url, revision):
    engine = make_engine(log_url)
    try:
        if revision is not None:
            migrate.upgrade_engine(engine, revision)
        with engine.connect() as connection:
            expected = MigrationContext.configure(connection).get_current_revision()
        assert (expected is None) == (revision is None)
        assert migrate.current_revision(log_url) == expected
    finally:
        engine.dispose()


def test_a_new_log_is_created_at_the_head_revision(log_url):
    with open_store(log_url):
        pass
    assert migrate.current_revision(log_url) == migrate.head_revision()


def test_reading_an_empty_database_is_log_not_found(log_url):
    with pytest.raises(LogNotFound, match="no event log"):
        open_store(log_url, create=False)


def test_a_log_whose_schema_is_behind_is_refused_until_upgraded(log_url):
    engine = make_engine(log_url)
    migrate.upgrade_engine(engine, "0001")
    engine.dispose()
    with pytest.raises(SchemaBehind) as caught:
        open_store(log_url)
    assert f"run: daytape db upgrade --log {log_url}" in str(caught.value)
    assert "revision 0001" in str(caught.value)
    assert main(["db", "upgrade", "--log", log_url]) == 0
    assert migrate.current_revision(log_url) == migrate.head_revision()
    with open_store(log_url) as opened:
        assert list_runs(opened) == []


def test_revision_0003_keeps_the_runs_and_stores_a_code_version_of_any_length(log_url):
    """0002 held the code version in 64 characters; 0003 makes it text, keeping what is there, and
    going back cuts longer ones to what 0002 can hold."""
    from alembic import command

    from eventlog.schema import runs

    old = {
        "run_id": "r0002",
        "name": "written at 0002",
        "config_json": "{}",
        "config_hash": "0" * 64,
        "data_digest": None,
        "code_version": "daytape 0.1.0 (python 3.11.7)",
        "seed": 7,
        "started_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        "finished_at": None,
        "status": "completed",
    }
    engine = make_engine(log_url)
    migrate.upgrade_engine(engine, "0002")
    with engine.begin() as conn:
        conn.execute(runs.insert(), [old])
    assert migrate.upgrade_engine(engine, "0003") == ("0002", "0003")
    migrate.upgrade_engine(engine, "head")
    long_version = "daytape 0.1.0 src 0123456789ab; python 3.11.7; " + "; ".join(f"lib{i} 1.0" for i in range(40))
    with open_store(log_url) as store:
        [kept] = list_runs(store)
        assert (kept.run_id, kept.code_version, kept.seed) == ("r0002", old["code_version"], 7)
        new_id = store.create_run(RunManifest(name="long", code_version=long_version))
        assert get_run(store, new_id).code_version == long_version
    with engine.connect() as connection, connection.begin():
        command.downgrade(migrate.alembic_config(connection), "0002")
    with engine.connect() as connection:
        versions = dict(connection.execute(text("SELECT run_id, code_version FROM runs")).all())
    engine.dispose()
    assert versions == {"r0002": old["code_version"], new_id: long_version[:64]}


def test_revision_0004_seals_the_runs_that_had_ended_and_going_back_drops_the_seals(log_url):
    """0004 adds `runs.seal`: an upgrade seals the runs that had ended, over their streams as they
    stand (so an older log audits as before), and leaves a running run unsealed."""
    from alembic import command
    from sqlalchemy import inspect

    from tests.eventlog.tamper import reference_seal

    engine = make_engine(log_url)
    migrate.upgrade_engine(engine, "head")
    with open_store(log_url) as store:
        ended, running = write_run(store, "ended"), write_run(store, "running", days=2, finish=False)
    with engine.connect() as connection, connection.begin():
        command.downgrade(migrate.alembic_config(connection), "0003")
    with engine.connect() as connection:
        assert "seal" not in {column["name"] for column in inspect(connection).get_columns("runs")}
        statuses = dict(connection.execute(text("SELECT run_id, status FROM runs")).all())
    assert statuses == {ended: "completed", running: "running"}
    assert migrate.upgrade_engine(engine, "0004") == ("0003", "0004")
    migrate.upgrade_engine(engine, "head")
    engine.dispose()
    with open_store(log_url) as store:
        assert get_run(store, ended).seal == reference_seal(store, ended)
        assert get_run(store, running).seal is None
        assert audit_run(store, ended).ok
        assert audit_run(store, running, allow_open=True).ok and not audit_run(store, running).ok


def test_revision_0005_adds_the_data_scope_and_older_runs_read_as_whole_store_digests(log_url):
    """0005 adds `runs.data_scope`: runs recorded before it have none, which reads as a digest over the
    whole store; going back drops the column and keeps the runs."""
    from alembic import command
    from sqlalchemy import inspect

    engine = make_engine(log_url)
    migrate.upgrade_engine(engine, "head")
    with open_store(log_url) as store:
        run_id = write_run(store, "ended")
    with engine.connect() as connection, connection.begin():
        command.downgrade(migrate.alembic_config(connection), "0004")
    with engine.connect() as connection:
        assert "data_scope" not in {column["name"] for column in inspect(connection).get_columns("runs")}
    assert migrate.upgrade_engine(engine, "head") == ("0004", "0006")
    engine.dispose()
    with open_store(log_url) as store:
        info = get_run(store, run_id)
        assert info.data_scope is None
        assert info.summary()["data_scope"] == {"scope": "store", "files": None}
        assert audit_run(store, run_id).ok


def test_revision_0006_compacts_the_rows_and_every_chain_and_seal_stays(log_url):
    """0006 rebuilds the events table compactly. Going back writes the old layout, whose chain the oracle
    checks with hashlib on the stored text (each prev_hash the row before's hash); coming forward again, a
    run written in the old layout reads back as the same events, audits clean and keeps its seal."""
    import hashlib

    from alembic import command
    from sqlalchemy import inspect, select

    from eventlog.reading import read_events
    from tests.eventlog import old_layout
    from tests.eventlog.streams import flatten, small_run

    engine = make_engine(log_url)
    migrate.upgrade_engine(engine, "head")
    with open_store(log_url) as store:
        ended, running = write_run(store, "ended"), write_run(store, "running", days=2, finish=False)
        before = {run: read_events(store, run) for run in (ended, running)}
        seal = get_run(store, ended).seal
    with engine.connect() as connection, connection.begin():
        command.downgrade(migrate.alembic_config(connection), "0005")
    with engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("events")}
        old = old_layout.events
        rows = connection.execute(
            select(old).where(old.c.run_id == ended).order_by(old.c.session_date, old.c.seq)
        ).all()
    assert {"run_id", "payload_json", "prev_hash", "hash"} <= columns and "run_key" not in columns
    written = [e for batches in small_run(3).values() for e in flatten(batches)]
    assert [row.kind for row in rows] == [e.kind for e in written]
    running_hash = None
    for row in rows:
        if row.seq == 1:
            running_hash = hashlib.sha256(row.session_date.isoformat().encode()).hexdigest()
        assert row.prev_hash == running_hash
        running_hash = hashlib.sha256((row.prev_hash + row.payload_json).encode()).hexdigest()
        assert row.hash == running_hash
    assert migrate.upgrade_engine(engine, "head") == ("0005", "0006")
    engine.dispose()
    with open_store(log_url) as store:
        assert {run: read_events(store, run) for run in (ended, running)} == before
        assert get_run(store, ended).seal == seal
        assert audit_run(store, ended).ok
        assert audit_run(store, running, allow_open=True).ok
        third = write_run(store, "after the upgrade")
        assert audit_run(store, third).ok and get_run(store, third).seal == seal
