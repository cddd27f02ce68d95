"""The rehearsal's clock: `origin` at its first reading (or at a given wall time), then `speed` times real time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketdata.clock import ClockError, ScaledClock, utc_now

OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)


def test_the_first_reading_is_the_origin_and_time_runs_at_the_speed_after_it():
    clock = ScaledClock(OPEN, speed=600.0)
    first = clock.now()
    assert OPEN <= first < OPEN + timedelta(minutes=10) and clock.now() >= first
    later = OPEN + timedelta(hours=1)
    assert 0 < clock.seconds_until(later) <= 3600 / 600
    assert clock.seconds_until(OPEN) == 0.0


def test_a_clock_started_at_a_past_wall_time_goes_on_at_its_pace_from_then():
    """A resumed rehearsal's clock: read `origin` 10 real seconds ago, so it is 600 x 10 s past it now."""
    before = utc_now()
    clock = ScaledClock(OPEN, speed=600.0, started=before - timedelta(seconds=10))
    now = clock.now()
    after = utc_now()
    assert OPEN + timedelta(seconds=6000) <= now <= OPEN + (after - before + timedelta(seconds=10)) * 600


@pytest.mark.parametrize("speed", [0.0, -1.0])
def test_a_speed_that_is_not_above_zero_is_refused(speed):
    with pytest.raises(ClockError, match="must be above 0"):
        ScaledClock(OPEN, speed)


def test_a_naive_start_is_refused():
    with pytest.raises(ClockError, match="tz-aware"):
        ScaledClock(OPEN, 1.0, started=datetime(2013, 10, 9, 13, 30))
