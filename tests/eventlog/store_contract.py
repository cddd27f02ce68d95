"""The contracts, written once: `StoreContract` for every EventStore backend, `SinkContract` for every
statemachine EventSink. A backend's test class subclasses them and says how to make one
(`make_store()` / `make_sink()`); tests/eventlog/test_store_backends.py holds those classes.

The oracles are independent of the store: the events the test wrote (tests/eventlog/streams.py), the
hash chain recomputed here with hashlib, and `eventlog.chain.check_chain` on the rows read back.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from hashlib import sha256

import pytest

from eventlog.chain import check_chain
from eventlog.errors import StreamConflict, UnknownRun
from eventlog.hashing import canonical_json
from eventlog.manifest import RunManifest
from eventlog.store import EventFilter, EventStore
from specs import events as ev
from statemachine.sink import EventSink
from tests.eventlog.conftest import write_run
from tests.eventlog.streams import DayPlan, flatten, small_run

DAY1, DAY2 = dt.date(2013, 10, 9), dt.date(2013, 10, 10)


def _genesis(day: dt.date) -> str:
    return sha256(day.isoformat().encode()).hexdigest()


class StoreContract:
    """What every EventStore promises."""

    def make_store(self) -> EventStore:
        """A store on a new, empty log."""
        raise NotImplementedError

    def open_again(self, store: EventStore) -> EventStore:
        """A second store object on the same log as `store` (another writer)."""
        raise NotImplementedError

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        with self.make_store() as opened:
            yield opened

    @pytest.fixture
    def written(self, store: EventStore) -> tuple[EventStore, str]:
        return store, write_run(store, "contract", finish=False)

    # --- appending and reading ---------------------------------------------------------------------

    def test_append_numbers_each_stream_from_one_and_chains_the_hashes(self, written):
        store, run_id = written
        for day, batches in small_run().items():
            flat = flatten(batches)
            rows, last_seq = store.chain_rows(run_id, day)
            assert last_seq == len(flat) and [row[0] for row in rows] == list(range(1, len(flat) + 1))
            prev = _genesis(day)
            for (_seq, kind, payload, prev_hash, digest), event in zip(rows, flat, strict=True):
                assert (kind, payload, prev_hash) == (event.kind, canonical_json(event), prev)
                assert digest == sha256((prev + payload).encode()).hexdigest()
                prev = digest
            assert store.head(run_id, day) == (len(flat), prev)
            assert check_chain(day, rows, last_seq).bad is None

    def test_events_read_back_with_their_envelope_and_filters(self, written):
        store, run_id = written
        stored = store.events(run_id, EventFilter(session_date=DAY2))
        assert [row.event() for row in stored] == flatten(small_run()[DAY2])
        tsla = store.events(run_id, EventFilter(session_date=DAY2, symbol="TSLA"))
        assert tsla and {r.symbol for r in tsla} == {"TSLA"}
        assert [r.kind for r in tsla][:2] == ["RequestReceived", "RequestPlanned"]
        first_request = tsla[0].request_id
        assert {r.request_id for r in store.events(run_id, EventFilter(request_id=first_request))} == {first_request}
        created = store.events(run_id, EventFilter(kinds=("SymbolCreated",)))
        assert len(created) == 3 * 4 and all(r.kind == "SymbolCreated" for r in created)
        window = store.events(run_id, EventFilter(session_date=DAY2, seq_from=5, seq_to=9))
        assert [r.seq for r in window] == [5, 6, 7, 8, 9]
        sim = tsla[0].sim_time
        assert sim is not None and sim.tzinfo is not None
        timed = store.events(run_id, EventFilter(session_date=DAY2, time_from=sim, time_to=sim))
        assert timed and all(r.sim_time == sim for r in timed)
        assert all(r.recorded_at.tzinfo is not None for r in tsla)

    def test_stream_reads_agree_with_the_events(self, written):
        store, run_id = written
        flat = flatten(small_run()[DAY2])
        payloads = store.stream_payloads(run_id, DAY2)
        assert [tuple(row) for row in payloads] == [
            (i, canonical_json(e).encode()) for i, e in enumerate(flat, start=1)
        ]
        assert [row[0] for row in store.stream_payloads(run_id, DAY2, until_seq=4)] == [1, 2, 3, 4]
        audit_rows = store.stream_rows(run_id, DAY2)
        chain, _ = store.chain_rows(run_id, DAY2)
        assert [tuple(row[:5]) for row in audit_rows] == [tuple(row) for row in chain]
        for row, event in zip(audit_rows, flat, strict=True):
            assert tuple(row[5:8]) == (event.schema_version, event.symbol, event.request_id)
            assert row[8] == event.sim_time
        assert store.session_end_seq(run_id, DAY2) == [e.kind for e in flat].index("SessionEnded") + 1

    def test_missing_and_zero_like_envelope_values_read_back_as_written(self, store):
        """A missing value is NULL, and text that looks like a backend's stand-in for one is that text."""
        events = [
            ev.SessionFailed(reason="a", symbol="0", request_id=""),
            ev.SessionFailed(reason="b", symbol=None, request_id="0"),
            ev.SessionFailed(reason="c", symbol="", sim_time=dt.datetime(2020, 1, 2, 15, tzinfo=dt.UTC)),
            ev.SessionFailed(reason="d", symbol="e", sim_time=dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
        ]
        run_id = store.create_run(RunManifest(name="nulls"))
        day = dt.date(2020, 1, 2)
        store.append(run_id, day, events * 7)  # seven copies: the multi-row statements and the single-row one
        rows = store.stream_rows(run_id, day)
        assert [(r[6], r[7], r[8]) for r in rows] == [(e.symbol, e.request_id, e.sim_time) for e in events * 7]

    def test_runs_and_streams_listing(self, store):
        run_id = write_run(store, "contract", finish=False)
        [run] = store.list_runs()
        assert run.run_id == run_id and run.name == "contract" and run.status == "running" and run.sessions == 3
        assert run.seal is None, "a running run is not sealed"
        seal = store.finish_run(run_id, "completed")
        finished = store.run(run_id)
        assert finished is not None and finished.status == "completed" and finished.finished_at is not None
        assert finished.seal == seal and seal is not None and len(seal) == 64
        assert finished.config_hash and finished.config_json.startswith("{")
        infos = store.streams(run_id)
        assert [s.session_date for s in infos] == list(small_run())
        for info, batches in zip(infos, small_run().values(), strict=True):
            flat = flatten(batches)
            assert info.status == "ended" and info.last_seq == info.events == len(flat)
            assert info.end_seq == [e.kind for e in flat].index("SessionEnded") + 1
            recorded = store.recorded_sessions(run_id)[info.session_date]
            assert recorded == (info.status, info.last_seq, info.end_seq)
        assert store.finish_run(run_id, "running") is None and store.run(run_id).seal is None

    def test_finish_run_refuses_an_unknown_status_and_an_unknown_run(self, store):
        run_id = store.create_run(RunManifest(name="statuses"))
        with pytest.raises(ValueError, match="run status must be one of"):
            store.finish_run(run_id, "done")
        with pytest.raises(UnknownRun):
            store.finish_run("nope", "completed")

    def test_run_ids_match_exactly_or_by_prefix(self, store):
        first = store.create_run(RunManifest(name="a"), run_id="abc")
        store.create_run(RunManifest(name="b"), run_id="abcd")
        store.create_run(RunManifest(name="c"), run_id="a_x%")
        assert store.match_run_ids(first, 6) == ["abc"], "an exact id wins over the ids it prefixes"
        assert sorted(store.match_run_ids("ab", 6)) == ["abc", "abcd"]
        assert store.match_run_ids("a_", 6) == ["a_x%"], "LIKE's wildcards are matched as themselves"
        assert store.match_run_ids("zz", 6) == [] and store.run("zz") is None

    def test_appending_to_a_run_that_was_not_created_is_unknown_run(self, store):
        with pytest.raises(UnknownRun):
            store.append("nope", DAY2, [ev.TeardownStarted(session_date=DAY2)])

    def test_delete_stream_discards_one_day_for_a_resume(self, written):
        store, run_id = written
        expected = len(flatten(small_run()[DAY2]))
        assert store.delete_stream(run_id, DAY2) == expected
        assert [s.session_date for s in store.streams(run_id)] == [DAY1, dt.date(2013, 10, 11)]
        assert store.head(run_id, DAY2) == (0, _genesis(DAY2))
        assert store.chain_rows(run_id, DAY2) == ([], None)
        sink = store.sink(run_id)
        for batch in small_run()[DAY2]:
            sink.append(DAY2, batch)
        assert [s.status for s in store.streams(run_id)] == ["ended"] * 3

    # --- optimistic concurrency --------------------------------------------------------------------

    def test_second_writer_on_the_same_stream_gets_stream_conflict(self, store):
        with self.open_again(store) as second:
            run_id = store.create_run(RunManifest(name="race"))
            batches = small_run(1)[DAY1]
            assert store.append(run_id, DAY1, batches[0], expected_seq=0) == [1]
            with pytest.raises(StreamConflict) as caught:
                second.append(run_id, DAY1, batches[0], expected_seq=0)
            message = str(caught.value)
            assert run_id in message and "2013-10-09" in message and "seq 1" in message
            assert store.head(run_id, DAY1)[0] == 1

    def test_threads_racing_on_one_stream_leave_one_winner(self, store):
        with self.open_again(store) as other:
            run_id = store.create_run(RunManifest(name="race"))
            barrier = threading.Barrier(2)
            outcomes: list[str] = []

            def write(writer: EventStore) -> None:
                barrier.wait()
                try:
                    writer.append(run_id, DAY1, [ev.TeardownStarted(session_date=DAY1)], expected_seq=0)
                    outcomes.append("ok")
                except StreamConflict:
                    outcomes.append("conflict")

            threads = [threading.Thread(target=write, args=(s,)) for s in (store, other)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(outcomes) == ["conflict", "ok"]
            assert [row[0] for row in store.stream_payloads(run_id, DAY1)] == [1]

    def test_runs_created_at_once_each_get_a_run_of_their_own(self, store):
        """Each run's events are keyed by a run key the store chooses; writers creating runs at once (each
        through its own connection) must not choose the same one."""
        with self.open_again(store) as second, self.open_again(store) as third:
            barrier = threading.Barrier(3)
            created: list[str] = []
            errors: list[BaseException] = []

            def create(writer: EventStore) -> None:
                barrier.wait()
                try:
                    for _ in range(3):
                        run_id = writer.create_run(RunManifest(name="at once"))
                        writer.append(run_id, DAY1, [ev.SessionFailed(reason=run_id)])
                        created.append(run_id)
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=create, args=(s,)) for s in (store, second, third)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert errors == [] and len(set(created)) == 9
        for run_id in created:
            [row] = store.events(run_id)
            assert row.run_id == run_id and row.event().reason == run_id  # type: ignore[attr-defined]

    def test_concurrent_writers_on_different_streams_both_succeed(self, store):
        with self.open_again(store) as other:
            run_id = store.create_run(RunManifest(name="two workers"))
            days = small_run(2)
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def write(writer: EventStore, day: dt.date) -> None:
                sink = writer.sink(run_id)
                barrier.wait()
                try:
                    for batch in days[day]:
                        sink.append(day, batch)
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=write, args=(s, d)) for s, d in zip((store, other), days, strict=True)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            for day, batches in days.items():
                rows, last_seq = store.chain_rows(run_id, day)
                assert last_seq == len(flatten(batches)) and check_chain(day, rows, last_seq).bad is None

    # --- the run sink ------------------------------------------------------------------------------

    def test_a_second_sink_on_the_same_day_collides_unless_resuming(self, store):
        run_id = store.create_run(RunManifest(name="sink"))
        batches = small_run(1)[DAY1]
        first = store.sink(run_id)
        first.append(DAY1, batches[0])
        with pytest.raises(StreamConflict, match="expected to append after seq 0 but the stream is at seq 1"):
            store.sink(run_id).append(DAY1, batches[0])
        resumed = store.sink(run_id, resume=True)
        assert resumed.last_seq(DAY1) == 1
        assert resumed.append(DAY1, batches[1]) == [2]
        with pytest.raises(StreamConflict):
            first.append(DAY1, batches[2])

    def test_streams_that_diverge_read_back_each_as_written(self, store):
        """Two runs whose streams differ by one day's plan keep their own events (nothing is shared by
        content between runs)."""
        a = write_run(store, "a", finish=False)
        b = store.create_run(RunManifest(name="b"))
        sink = store.sink(b)
        for day, batches in small_run(3, DayPlan(extra={"AIG": 1})).items():
            for batch in batches:
                sink.append(day, batch)
        assert [r.event() for r in store.events(a, EventFilter(session_date=DAY2))] == flatten(small_run()[DAY2])
        changed = flatten(small_run(3, DayPlan(extra={"AIG": 1}))[DAY2])
        assert [r.event() for r in store.events(b, EventFilter(session_date=DAY2))] == changed


class SinkContract:
    """What every statemachine EventSink promises: each day's stream numbered from 1, a batch's seqs
    contiguous, an empty batch a no-op, and one sink safe to share between threads."""

    def make_sink(self) -> EventSink:
        raise NotImplementedError

    def test_batches_are_numbered_per_day_from_one(self):
        sink = self.make_sink()
        batches = small_run(2)
        assert sink.append(DAY1, batches[DAY1][0]) == [1]
        assert sink.append(DAY2, batches[DAY2][0]) == [1]
        assert sink.append(DAY1, batches[DAY1][1]) == [2]
        third = batches[DAY1][2]
        assert sink.append(DAY1, third) == list(range(3, 3 + len(third)))
        assert sink.append(DAY1, []) == []

    def test_threads_sharing_a_sink_get_contiguous_seqs(self):
        sink = self.make_sink()
        barrier = threading.Barrier(4)
        given: list[int] = []
        lock = threading.Lock()

        def write() -> None:
            barrier.wait()
            for i in range(25):
                seqs = sink.append(DAY1, [ev.RequestCompleted(symbol="SPY", request_id=f"r{i}", steps=1)] * 2)
                assert seqs[1] == seqs[0] + 1
                with lock:
                    given.extend(seqs)

        threads = [threading.Thread(target=write) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(given) == list(range(1, 201))
