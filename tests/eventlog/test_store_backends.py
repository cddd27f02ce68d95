"""Each backend held to the contracts of tests/eventlog/store_contract.py: the SQLite file store and the
PostgreSQL store to `StoreContract` (and the SQL append's own promises), the in-memory sink and the
run sink on each backend to `SinkContract`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventlog.errors import StreamConflict
from eventlog.manifest import RunManifest
from eventlog.store import EventStore, open_store
from specs import events as ev
from statemachine.sink import EventSink, InMemorySink
from tests.eventlog.conftest import _pg_schema_url
from tests.eventlog.store_contract import DAY1, SinkContract, StoreContract
from tests.eventlog.streams import flatten, small_run


class SQLStoreContract(StoreContract):
    """The SQL backends: the contract, and how their one-transaction append behaves under a race and a
    failure halfway."""

    url: str

    def make_store(self) -> EventStore:
        return open_store(self.url)

    def open_again(self, store: EventStore) -> EventStore:
        return open_store(store.url)

    def test_a_writer_racing_past_the_head_check_hits_the_unique_constraint(self, store):
        """The second writer read the head before the first committed; the unique (run_id,
        session_date, seq) constraint rejects its rows."""
        with self.open_again(store) as stale:
            run_id = store.create_run(RunManifest(name="race"))
            store.append(run_id, DAY1, [ev.TeardownStarted(session_date=DAY1)])
            real_head = stale._read_head

            def head_before_the_first_commit(cursor, run, db_date):
                exists, _seq, _hash, now = real_head(cursor, run, db_date)
                return exists, 0, None, now

            stale._read_head = head_before_the_first_commit
            with pytest.raises(StreamConflict, match=r"seq 1: another writer appended to this stream first"):
                stale.append(run_id, DAY1, [ev.TeardownStarted(session_date=DAY1)])
            assert store.head(run_id, DAY1)[0] == 1
            assert store.chain_rows(run_id, DAY1)[1] == 1

    def test_an_append_that_fails_midway_writes_nothing(self, store):
        """One transaction per append: a failure after the first INSERT chunk leaves the stream as it was."""
        run_id = store.create_run(RunManifest(name="atomic"))
        events = flatten(small_run(1)[DAY1])
        store.append(run_id, DAY1, events[:1])
        real_insert = store._insert

        def insert_then_fail(cursor, values):
            real_insert(cursor, values[: 3 + 256 * 9])
            raise RuntimeError("the process died here")

        store._insert = insert_then_fail
        many = [ev.RequestCompleted(symbol="SPY", request_id=f"r{i}", steps=1) for i in range(300)]
        with pytest.raises(RuntimeError, match="died"):
            store.append(run_id, DAY1, many)
        del store._insert
        assert store.head(run_id, DAY1)[0] == 1
        assert [s.last_seq for s in store.streams(run_id)] == [1]
        assert store.append(run_id, DAY1, events[1:2]) == [2]


class TestSQLiteFileStore(SQLStoreContract):
    @pytest.fixture(autouse=True)
    def _log_file(self, tmp_path) -> None:
        self.url = f"sqlite:///{tmp_path / 'log.db'}"


@pytest.mark.postgres
class TestPostgresStore(SQLStoreContract):
    @pytest.fixture(autouse=True)
    def _schema(self) -> Iterator[None]:
        for url in _pg_schema_url():
            self.url = url
            yield


class TestInMemorySink(SinkContract):
    def make_sink(self) -> EventSink:
        return InMemorySink()


class _RunSinkContract(SinkContract):
    url: str

    @pytest.fixture(autouse=True)
    def _store(self, _log: None) -> Iterator[None]:
        with open_store(self.url) as store:
            self.store = store
            yield

    def make_sink(self) -> EventSink:
        return self.store.sink(self.store.create_run(RunManifest(name="sink")))


class TestSQLiteRunSink(_RunSinkContract):
    @pytest.fixture
    def _log(self, tmp_path) -> None:
        self.url = f"sqlite:///{tmp_path / 'log.db'}"


@pytest.mark.postgres
class TestPostgresRunSink(_RunSinkContract):
    @pytest.fixture
    def _log(self) -> Iterator[None]:
        for url in _pg_schema_url():
            self.url = url
            yield
