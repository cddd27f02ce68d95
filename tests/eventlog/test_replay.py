"""Replay's own checks: seq gaps, unreadable rows, stopping at a simulated time, `--until` parsing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from eventlog.errors import ReplayError
from eventlog.hashing import canonical_json
from eventlog.replay import parse_until, replay_day, replay_rows
from specs import events as ev
from statemachine.export import state_json
from statemachine.state import SessionState
from tests.eventlog.streams import flatten, small_run

DAY = dt.date(2013, 10, 9)
DAY_2 = dt.date(2013, 10, 10)


def _rows() -> list[tuple[int, str]]:
    return [(seq, canonical_json(e)) for seq, e in enumerate(flatten(small_run(1)[DAY]), start=1)]


def test_replay_rows_equals_applying_the_events():
    assert replay_rows(DAY, _rows()) == SessionState().apply_all(flatten(small_run(1)[DAY]))


def test_a_gap_in_seq_names_the_missing_seq():
    rows = _rows()
    del rows[4]
    with pytest.raises(ReplayError, match=r"2013-10-09 at seq 5 .*seq 5 is missing: the next row is seq 6"):
        replay_rows(DAY, rows)


def test_an_unreadable_payload_names_its_row():
    rows = _rows()
    rows[2] = (3, '{"kind": "RequestReceived", "schema_version": 2}')
    with pytest.raises(ReplayError, match=r"seq 3 \(RequestReceived\): unreadable payload"):
        replay_rows(DAY, rows)


def test_an_event_that_does_not_apply_names_its_row():
    rows = [(1, canonical_json(ev.StreamingStarted()))]
    with pytest.raises(ReplayError, match=r"seq 1 \(StreamingStarted\): .*cannot StreamingStarted from state idle"):
        replay_rows(DAY, rows)


def test_until_time_stops_before_the_first_later_event():
    events = flatten(small_run(1)[DAY])
    scanner_time = next(e.sim_time for e in events if e.kind == "RequestReceived" and e.sim_time is not None)
    state = replay_rows(DAY, _rows(), until_time=scanner_time - dt.timedelta(seconds=1))
    assert state.phase == "streaming" and "TSLA" not in state.symbols
    state = replay_rows(DAY, _rows(), until_time=scanner_time)
    assert state.symbols["TSLA"].state == "adhoc"


def test_replay_day_until_time_through_the_store(written):
    store, run_id = written
    day = dt.date(2013, 10, 10)
    close = replay_day(store, run_id, day).close
    assert close is not None
    at_close = replay_day(store, run_id, day, until_time=close)
    assert at_close.phase == "tearing_down" and at_close.symbols == {}


def test_parse_until():
    assert parse_until("42") == 42
    assert parse_until("2013-10-10T14:30:00Z") == dt.datetime(2013, 10, 10, 14, 30, tzinfo=dt.UTC)
    assert parse_until("2013-10-10T14:30:00").tzinfo == dt.UTC
    with pytest.raises(ValueError, match="expected a seq"):
        parse_until("soon")
    with pytest.raises(ValueError, match="a seq starts at 1"):
        parse_until("0")


def test_parse_until_reads_a_naive_time_in_the_given_zone_and_keeps_an_offset():
    new_york, day = ZoneInfo("America/New_York"), dt.date(2013, 10, 9)
    two_pm_ny = dt.datetime(2013, 10, 9, 18, 0, tzinfo=dt.UTC)  # EDT is UTC-4
    for text in ("2013-10-09T14:00", "2013-10-09 14:00:00", "14:00", "14:00-04:00", "2013-10-09T18:00Z"):
        assert parse_until(text, new_york, day) == two_pm_ny, text
    assert parse_until("2013-10-09T14:00+00:00", new_york, day) == dt.datetime(2013, 10, 9, 14, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="a time of day in exchange time"):
        parse_until("25:00", new_york, day)
    with pytest.raises(ValueError, match="expected a seq"):
        parse_until("14:00")  # a time of day needs the day it is on


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
    batches = small_run()[DAY_2]
    flat = flatten(batches)
    end = [e.kind for e in flat].index("SessionEnded") + 1
    live = SessionState().apply_all(flat[:end])
    replayed = replay_day(store, run_id, DAY_2)
    assert replayed == live and replayed.phase == "ended" and "TSLA" in replayed.symbols
    after_teardown = replay_day(store, run_id, DAY_2, until_seq=len(flat))
    assert after_teardown.phase == "tearing_down" and after_teardown.symbols == {}
