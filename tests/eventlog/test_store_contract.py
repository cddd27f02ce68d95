"""The store contract, written once and run against both backends (the `log_url` fixture):
a real SQLite file always, the real PostgreSQL server when it answers."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import text

from daytape.cli import main
from eventlog import migrate
from eventlog.audit import audit_run
from eventlog.engine import make_engine
from eventlog.errors import LogNotFound, SchemaBehind, StreamConflict, UnknownRun
from eventlog.hashing import event_hash, genesis_hash
from eventlog.manifest import RunManifest
from eventlog.reading import get_run, list_runs, read_events, resolve_run_id, streams
from eventlog.replay import replay_day, session_end_seq
from eventlog.store import EventStore, open_store
from specs import events as ev
from statemachine.export import state_json
from statemachine.state import SessionState
from tests.eventlog.conftest import write_run
from tests.eventlog.streams import DayPlan, flatten, small_run

DAY2 = dt.date(2013, 10, 10)


def _execute(store: EventStore, sql: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _row(store: EventStore, run_id: str, day: dt.date, kind: str) -> tuple[int, str]:
    rows = read_events(store, run_id, session_date=day, kinds=[kind])
    return rows[0].seq, rows[0].payload_json


# --- appending and reading ---------------------------------------------------------------------


def test_append_numbers_each_stream_from_one_and_chains_hashes(written):
    store, run_id = written
    for day, batches in small_run().items():
        rows = read_events(store, run_id, session_date=day)
        assert [r.seq for r in rows] == list(range(1, len(flatten(batches)) + 1))
        prev = genesis_hash(day)
        for row in rows:
            assert row.prev_hash == prev
            assert row.hash == event_hash(prev, row.payload_json)
            prev = row.hash
        assert [r.event() for r in rows] == flatten(batches)


def test_envelope_columns_and_filters(written):
    store, run_id = written
    tsla = read_events(store, run_id, session_date=DAY2, symbol="TSLA")
    assert tsla and {r.symbol for r in tsla} == {"TSLA"}
    assert [r.kind for r in tsla][:2] == ["RequestReceived", "RequestPlanned"]
    first_request = tsla[0].request_id
    assert {r.request_id for r in read_events(store, run_id, request_id=first_request)} == {first_request}
    created = read_events(store, run_id, kinds=["SymbolCreated"])
    assert len(created) == 3 * 4 and all(r.kind == "SymbolCreated" for r in created)
    window = read_events(store, run_id, session_date=DAY2, seq_from=5, seq_to=9)
    assert [r.seq for r in window] == [5, 6, 7, 8, 9]
    sim = tsla[0].sim_time
    assert sim is not None and sim.tzinfo is not None
    timed = read_events(store, run_id, session_date=DAY2, time_from=sim, time_to=sim)
    assert timed and all(r.sim_time == sim for r in timed)
    assert all(r.recorded_at.tzinfo is not None for r in tsla)


def test_runs_and_streams_listing(store):
    run_id = write_run(store, finish=False)
    [run] = list_runs(store)
    assert run.run_id == run_id and run.name == "test run" and run.status == "running" and run.sessions == 3
    contract = {"run_id", "name", "status", "started_at", "finished_at", "sessions"}
    assert set(run.summary()) == contract | {"config_hash", "data_digest", "code_version", "seed", "seal"}
    assert run.seal is None, "a running run is not sealed"
    seal = store.finish_run(run_id, "completed")
    finished = get_run(store, run_id[:8])
    assert finished.status == "completed" and finished.finished_at is not None
    assert finished.seal == seal and len(seal) == 64
    assert finished.config_hash and finished.config_json.startswith("{")
    infos = streams(store, run_id)
    assert [s.session_date for s in infos] == list(small_run())
    for info, (day, batches) in zip(infos, small_run().items(), strict=True):
        flat = flatten(batches)
        assert info.status == "ended"
        assert info.last_seq == info.events == len(flat)
        assert info.end_seq == [e.kind for e in flat].index("SessionEnded") + 1
        assert session_end_seq(store, run_id, day) == info.end_seq


def test_run_id_prefix_and_unknown_run(written):
    store, run_id = written
    assert resolve_run_id(store, run_id[:6]) == run_id
    with pytest.raises(UnknownRun, match="unknown run id 'nope'"):
        resolve_run_id(store, "nope")
    with pytest.raises(UnknownRun):
        store.append("nope", DAY2, [ev.TeardownStarted(session_date=DAY2)])


# --- optimistic concurrency --------------------------------------------------------------------


def test_second_writer_on_the_same_stream_gets_stream_conflict(log_url):
    with open_store(log_url) as first, open_store(log_url) as second:
        run_id = first.create_run(RunManifest(name="race"))
        batches = small_run(1)[dt.date(2013, 10, 9)]
        day = dt.date(2013, 10, 9)
        assert first.append(run_id, day, batches[0], expected_seq=0) == [1]
        with pytest.raises(StreamConflict) as caught:
            second.append(run_id, day, batches[0], expected_seq=0)
        message = str(caught.value)
        assert run_id in message and "2013-10-09" in message and "seq 1" in message
        assert first.head(run_id, day)[0] == 1


def test_a_writer_racing_past_the_head_check_hits_the_unique_constraint(log_url):
    """Simulate the race: the second writer read the head before the first committed; the unique
    (run_id, session_date, seq) constraint rejects its rows."""
    with open_store(log_url) as first, open_store(log_url) as stale:
        run_id = first.create_run(RunManifest(name="race"))
        day = dt.date(2013, 10, 9)
        first.append(run_id, day, [ev.TeardownStarted(session_date=day)])
        real_head = stale._read_head

        def head_before_the_first_commit(cursor, run, db_date):
            exists, _seq, _hash, now = real_head(cursor, run, db_date)
            return exists, 0, None, now

        stale._read_head = head_before_the_first_commit
        with pytest.raises(StreamConflict, match=r"seq 1: another writer appended to this stream first"):
            stale.append(run_id, day, [ev.TeardownStarted(session_date=day)])
        assert first.head(run_id, day)[0] == 1
        assert audit_run(first, run_id, allow_open=True).ok


def test_threads_racing_on_one_stream_leave_one_winner(log_url):
    with open_store(log_url) as a, open_store(log_url) as b:
        run_id = a.create_run(RunManifest(name="race"))
        day = dt.date(2013, 10, 9)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def write(store: EventStore) -> None:
            barrier.wait()
            try:
                store.append(run_id, day, [ev.TeardownStarted(session_date=day)], expected_seq=0)
                outcomes.append("ok")
            except StreamConflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=write, args=(s,)) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict", "ok"]
        assert [r.seq for r in read_events(a, run_id, session_date=day)] == [1]


def test_concurrent_writers_on_different_streams_both_succeed(log_url):
    with open_store(log_url) as a, open_store(log_url) as b:
        run_id = a.create_run(RunManifest(name="two workers"))
        days = small_run(2)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def write(store: EventStore, day: dt.date) -> None:
            sink = store.sink(run_id)
            barrier.wait()
            try:
                for batch in days[day]:
                    sink.append(day, batch)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(s, d)) for s, d in zip((a, b), days, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert audit_run(a, run_id, allow_open=True).ok
        assert [s.events for s in streams(a, run_id)] == [len(flatten(b)) for b in days.values()]


# --- replay ------------------------------------------------------------------------------------


def test_replaying_every_prefix_equals_the_live_state(written):
    store, run_id = written
    for day, batches in small_run().items():
        live = SessionState()
        for seq, event in enumerate(flatten(batches), start=1):
            live.apply(event)
            replayed = replay_day(store, run_id, day, until_seq=seq)
            assert replayed == live, f"{day} seq {seq}"
            assert state_json(replayed, run_id) == state_json(live, run_id)


def test_default_replay_is_the_state_at_session_end(written):
    store, run_id = written
    batches = small_run()[DAY2]
    flat = flatten(batches)
    end = [e.kind for e in flat].index("SessionEnded") + 1
    live = SessionState().apply_all(flat[:end])
    replayed = replay_day(store, run_id, DAY2)
    assert replayed == live and replayed.state == "ended" and "TSLA" in replayed.symbols
    after_teardown = replay_day(store, run_id, DAY2, until_seq=len(flat))
    assert after_teardown.state == "tearing_down" and after_teardown.symbols == {}


# --- the audit finds an edited, deleted or reordered row -------------------------------------


def _audit_cli(log_url: str, run_id: str, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["audit", run_id, "--log", log_url, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


def test_audit_is_clean_on_a_written_log(written, log_url, capsys):
    store, run_id = written
    report = audit_run(store, run_id)
    assert report.ok and report.streams == 3 and report.events == sum(len(flatten(b)) for b in small_run().values())
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 0 and document["ok"] is True and document["first_bad"] is None


def test_audit_reports_an_edited_payload(written, log_url, capsys):
    store, run_id = written
    seq, payload = _row(store, run_id, DAY2, "HistoricalLoaded")
    edited = json.dumps({**json.loads(payload), "rows": 1}, sort_keys=True, separators=(",", ":"))
    _execute(
        store,
        "UPDATE events SET payload_json = :p WHERE run_id = :r AND session_date = :d AND seq = :s",
        p=edited,
        r=run_id,
        d=store.db_date(DAY2),
        s=seq,
    )
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.session_date, bad.seq, bad.kind) == (DAY2, seq, "HistoricalLoaded")
    assert "hash does not match" in bad.why
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 1
    assert document["first_bad"] == {"stream": "2013-10-10", "seq": seq, "kind": "HistoricalLoaded", "why": bad.why}


def test_audit_reports_a_deleted_row(written, log_url, capsys):
    store, run_id = written
    seq, _ = _row(store, run_id, DAY2, "IndicatorRegistered")
    _execute(
        store,
        "DELETE FROM events WHERE run_id = :r AND session_date = :d AND seq = :s",
        r=run_id,
        d=store.db_date(DAY2),
        s=seq,
    )
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.session_date, bad.seq) == (DAY2, seq)
    assert "missing" in bad.why
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 1 and document["first_bad"]["seq"] == seq and document["first_bad"]["stream"] == "2013-10-10"


def test_audit_reports_two_swapped_rows(written, log_url, capsys):
    store, run_id = written
    seq, _ = _row(store, run_id, DAY2, "IntervalAdded")
    where = "run_id = :r AND session_date = :d AND seq = :s"
    common = {"r": run_id, "d": store.db_date(DAY2)}
    _execute(store, f"UPDATE events SET seq = -1 WHERE {where}", s=seq, **common)
    _execute(store, f"UPDATE events SET seq = :n WHERE {where}", n=seq, s=seq + 1, **common)
    _execute(store, f"UPDATE events SET seq = :n WHERE {where}", n=seq + 1, s=-1, **common)
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.session_date, bad.seq) == (DAY2, seq)
    assert "prev_hash" in bad.why
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 1 and document["first_bad"]["seq"] == seq


def test_audit_reports_an_illegal_transition_with_a_valid_chain(store):
    """A chain rehashed by hand still has to obey the lifecycle tables."""
    run_id = store.create_run(RunManifest(name="illegal"))
    day = dt.date(2013, 10, 9)
    store.append(run_id, day, [ev.TeardownStarted(session_date=day), ev.StreamingStarted()])
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.seq, bad.kind) == (2, "StreamingStarted")
    assert "cannot StreamingStarted from state tearing_down" in bad.why


def test_audit_reports_a_column_that_disagrees_with_its_payload(written):
    store, run_id = written
    seq, _ = _row(store, run_id, DAY2, "SymbolCreated")
    _execute(
        store,
        "UPDATE events SET symbol = 'XXX' WHERE run_id = :r AND session_date = :d AND seq = :s",
        r=run_id,
        d=store.db_date(DAY2),
        s=seq,
    )
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and bad.seq == seq and "column symbol 'XXX'" in bad.why


# --- diff --------------------------------------------------------------------------------------


def test_diff_of_two_runs_with_the_same_events_is_empty(store):
    from eventlog.diff import diff_runs

    a, b = write_run(store, "a"), write_run(store, "b")
    report = diff_runs(store, a, b)
    assert report.same and report.streams == 3


def test_diff_names_the_first_divergent_event(store):
    from eventlog.diff import diff_runs

    a = write_run(store, "a")
    b = store.create_run(RunManifest(name="b"))
    sink = store.sink(b)
    for day, batches in small_run().items():
        plan = DayPlan(extra={"AIG": 1}) if day == DAY2 else DayPlan()
        for batch in small_run(3, plan)[day] if day == DAY2 else batches:
            sink.append(day, batch)
    report = diff_runs(store, a, b)
    first = report.first
    assert first is not None and first.session_date == DAY2
    streamed = [r for r in read_events(store, a, session_date=DAY2, kinds=["SymbolStreamed"]) if r.symbol == "AIG"]
    assert first.seq == streamed[0].seq and "SymbolStreamed" in first.why
    assert first.a["payload"]["symbol"] == "AIG" and first.a != first.b


def test_diff_names_a_date_present_in_one_run_only(store):
    from eventlog.diff import diff_runs

    a, b = write_run(store, "a", days=3), write_run(store, "b", days=2)
    first = diff_runs(store, a, b).first
    assert first is not None and first.session_date == dt.date(2013, 10, 11) and first.seq is None
    assert "only in run A" in first.why


# --- the schema ------------------------------------------------------------------------------


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
    assert migrate.upgrade_engine(engine, "head") == ("0003", "0004")
    engine.dispose()
    with open_store(log_url) as store:
        assert get_run(store, ended).seal == reference_seal(store, ended)
        assert get_run(store, running).seal is None
        assert audit_run(store, ended).ok
        assert audit_run(store, running, allow_open=True).ok and not audit_run(store, running).ok


# --- the run sink ------------------------------------------------------------------------------


def test_run_sink_is_a_statemachine_event_sink(store):
    from statemachine.sink import EventSink

    run_id = store.create_run(RunManifest(name="sink"))
    sink: EventSink = store.sink(run_id)
    day = dt.date(2013, 10, 9)
    batches = small_run(1)[day]
    assert sink.append(day, batches[0]) == [1]
    assert sink.append(day, batches[1]) == [2]
    assert sink.append(day, []) == []


def test_a_second_sink_on_the_same_day_collides_unless_resuming(store):
    run_id = store.create_run(RunManifest(name="sink"))
    day = dt.date(2013, 10, 9)
    batches = small_run(1)[day]
    first = store.sink(run_id)
    first.append(day, batches[0])
    with pytest.raises(StreamConflict, match="expected to append after seq 0 but the stream is at seq 1"):
        store.sink(run_id).append(day, batches[0])
    resumed = store.sink(run_id, resume=True)
    assert resumed.last_seq(day) == 1
    assert resumed.append(day, batches[1]) == [2]
    with pytest.raises(StreamConflict):
        first.append(day, batches[2])


def test_delete_stream_discards_one_day_for_a_resume(written):
    store, run_id = written
    expected = len(flatten(small_run()[DAY2]))
    assert store.delete_stream(run_id, DAY2) == expected
    assert [s.session_date for s in streams(store, run_id)] == [dt.date(2013, 10, 9), dt.date(2013, 10, 11)]
    assert store.head(run_id, DAY2) == (0, genesis_hash(DAY2))
    sink = store.sink(run_id)
    for batch in small_run()[DAY2]:
        sink.append(DAY2, batch)
    assert audit_run(store, run_id).ok
    assert [s.status for s in streams(store, run_id)] == ["ended"] * 3


def test_an_append_that_fails_midway_writes_nothing(store):
    """One transaction per append: a failure after the first INSERT chunk leaves the stream as it was."""
    run_id = store.create_run(RunManifest(name="atomic"))
    day = dt.date(2013, 10, 9)
    events = flatten(small_run(1)[day])
    store.append(run_id, day, events[:1])
    real_insert = store._insert

    def insert_then_fail(cursor, values):
        real_insert(cursor, values[: 256 * 12])
        raise RuntimeError("the process died here")

    store._insert = insert_then_fail
    many = [ev.RequestCompleted(symbol="SPY", request_id=f"r{i}", steps=1) for i in range(300)]
    with pytest.raises(RuntimeError, match="died"):
        store.append(run_id, day, many)
    del store._insert
    assert store.head(run_id, day)[0] == 1
    assert [s.last_seq for s in streams(store, run_id)] == [1]
    assert store.append(run_id, day, events[1:2]) == [2]
