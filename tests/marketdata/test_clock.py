"""The clock: simulated time moves only forward and only when told; the wall clock is tz-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketdata.clock import Clock, ClockError, SimulatedClock, WallClock, utc_now

START = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


def test_simulated_clock_is_set_and_advanced_by_its_owner():
    clock = SimulatedClock(START)
    assert clock.now() == START
    assert clock.now() == START  # time does not pass by itself
    assert clock.advance(timedelta(minutes=1)) == START + timedelta(minutes=1)
    clock.set(START + timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
    clock.set(clock.now())  # standing still is allowed


def test_simulated_clock_never_goes_back():
    clock = SimulatedClock(START)
    with pytest.raises(ClockError, match="cannot go back from 2013-10-07T13:30:00\\+00:00"):
        clock.set(START - timedelta(seconds=1))
    with pytest.raises(ClockError, match="negative"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == START


def test_simulated_clock_speaks_utc_and_refuses_naive_times():
    clock = SimulatedClock(START.astimezone(ZoneInfo("America/New_York")))
    assert clock.now() == START and clock.now().tzinfo == UTC
    with pytest.raises(ClockError, match="naive"):
        SimulatedClock(datetime(2013, 10, 7, 9, 30))


def test_wall_clock_and_utc_now_are_aware():
    assert isinstance(WallClock(), Clock)
    assert isinstance(SimulatedClock(START), Clock)
    assert WallClock().now().tzinfo == UTC
    assert utc_now().tzinfo == UTC
    assert utc_now() > START
