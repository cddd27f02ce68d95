"""The collector pause around bulk reads leaves the collector as it found it."""

from __future__ import annotations

import gc
import threading

import pytest

from eventlog.collector import collector_paused
from eventlog.reading import dates
from eventlog.replay import replay_day


@pytest.fixture
def collector_on():
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_paused_inside_and_back_on_after(collector_on):
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_back_on_after_an_error(collector_on):
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_end_with_the_last_one(collector_on):
    first_inside, second_inside, first_may_leave = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_inside.set()
            first_may_leave.wait(5)

    def second() -> None:
        first_inside.wait(5)
        with collector_paused():
            second_inside.set()
            first_may_leave.set()
            worker.join(5)
            seen.append(gc.isenabled())

    worker = threading.Thread(target=first)
    other = threading.Thread(target=second)
    worker.start()
    other.start()
    other.join(10)
    assert second_inside.is_set()
    assert seen == [False], "the first pause to end must not switch the collector back on under the second"
    assert gc.isenabled()


def test_a_replay_leaves_the_collector_on(written, collector_on):
    store, run_id = written
    for day in dates(store, run_id):
        assert replay_day(store, run_id, day).phase == "ended"
    assert gc.isenabled()
