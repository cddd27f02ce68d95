"""The sink of a resumed live day: the events the log holds are re-made, checked by hash and not written again;
what comes after them is appended; a re-run that makes another event than the log's stops with one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daytape.liveresume import ResumeDiverged, ResumeSink
from eventlog.manifest import RunManifest
from eventlog.sink import RunSink
from eventlog.store import open_store
from specs import events as ev

DAY = datetime(2013, 10, 9).date()
OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)


def bar(minute: int, close: float) -> ev.BarReceived:
    ts = OPEN + timedelta(minutes=minute)
    return ev.BarReceived(
        symbol="SPY", ts=ts, received_at=ts + timedelta(seconds=61), open=1.0, high=2.0, low=0.5, close=close, volume=10
    )


@pytest.fixture
def written(tmp_path):
    log = open_store(f"sqlite:///{tmp_path / 'log.db'}")
    run_id = log.create_run(RunManifest(name="live"))
    sink = RunSink(log, run_id)
    connected = ev.FeedConnected(at=OPEN, feed="iex", symbols=["SPY"], detail="ws://x")
    sink.append(DAY, [connected])
    sink.append(DAY, [bar(0, 1.5), bar(1, 1.6)])
    yield log, run_id, connected
    log.close()


def seqs(log, run_id):
    return [row.seq for row in log.events(run_id)]


def test_the_recorded_events_are_checked_not_written_and_the_rest_appended(written):
    log, run_id, connected = written
    sink = ResumeSink(log, run_id, DAY)
    assert not sink.caught_up()
    assert sink.append(DAY, [connected]) == [1]
    assert sink.append(DAY, [bar(0, 1.5), bar(1, 1.6)]) == [2, 3]
    assert sink.caught_up() and seqs(log, run_id) == [1, 2, 3]
    assert sink.append(DAY, [bar(2, 1.7)]) == [4]
    assert seqs(log, run_id) == [1, 2, 3, 4]
    assert log.events(run_id)[-1].event() == bar(2, 1.7)


def test_a_batch_running_past_the_recorded_events_appends_its_tail(written):
    log, run_id, connected = written
    sink = ResumeSink(log, run_id, DAY)
    assert sink.append(DAY, [connected, bar(0, 1.5)]) == [1, 2]
    assert sink.append(DAY, [bar(1, 1.6), bar(2, 1.7), bar(3, 1.8)]) == [3, 4, 5]
    assert seqs(log, run_id) == [1, 2, 3, 4, 5]


def test_a_re_run_that_makes_another_event_than_the_log_stops(written):
    log, run_id, connected = written
    sink = ResumeSink(log, run_id, DAY)
    sink.append(DAY, [connected])
    with pytest.raises(ResumeDiverged) as raised:
        sink.append(DAY, [bar(0, 9.9)])
    assert str(raised.value) == (
        f"cannot resume run {run_id}: re-running its tape made BarReceived at seq 2 of 2013-10-09, where the log "
        "has another BarReceived; the day cannot go on from where it stopped: start a new run"
    )
    assert seqs(log, run_id) == [1, 2, 3]
