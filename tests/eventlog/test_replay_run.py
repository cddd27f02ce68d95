"""Replaying every day of a run at once, on both backends."""

from __future__ import annotations

from eventlog.reading import dates
from eventlog.replay import replay_day
from eventlog.replay_run import end_seqs, replay_days


def test_every_day_replays_as_replay_day_reads_it(written):
    store, run_id = written
    expected = {day: replay_day(store, run_id, day) for day in dates(store, run_id)}
    assert replay_days(store, run_id) == expected
    assert all(state.state == "ended" and state.symbols for state in expected.values())


def test_whole_streams_end_after_the_teardown(written):
    store, run_id = written
    states = replay_days(store, run_id, whole_streams=True)
    assert [s.state for s in states.values()] == ["tearing_down"] * 3
    assert all(not s.symbols for s in states.values())


def test_a_chosen_subset_of_days(written):
    store, run_id = written
    last = dates(store, run_id)[-1]
    assert list(replay_days(store, run_id, [last])) == [last]


def test_end_seqs_name_each_session_ended(written):
    store, run_id = written
    for day, seq in end_seqs(store, run_id).items():
        assert replay_day(store, run_id, day, until_seq=seq).state == "ended"
        assert replay_day(store, run_id, day, until_seq=seq - 1).state == "streaming"
