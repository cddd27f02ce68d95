"""The clock: the one place in daytape that says what time it is.

A backtest runs on a `SimulatedClock` that its owner sets and advances (never backwards); a live run
reads the wall clock through `WallClock`. `utc_now()` is for recording when something happened
(`recorded_at`), never for deciding what the session sees.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from marketdata.errors import MarketDataError


class ClockError(MarketDataError, ValueError):
    """A simulated clock asked to go backwards or given a naive time."""


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, tz-aware UTC."""
        ...


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ClockError(f"clock times must be tz-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC)


class SimulatedClock:
    """Time as the backtest says: starts at `start` and moves only when `set` or `advance` is called."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, t: datetime) -> None:
        t = _aware(t)
        if t < self._now:
            raise ClockError(f"simulated clock cannot go back from {self._now.isoformat()} to {t.isoformat()}")
        self._now = t

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ClockError(f"simulated clock cannot advance by a negative {delta}")
        self._now = self._now + delta
        return self._now

    def __repr__(self) -> str:
        return f"SimulatedClock({self._now.isoformat()})"


class PacedClock(Protocol):
    """A clock that runs by itself (a live day's): `now()` stamps arrivals, `seconds_until(t)` is how many real
    seconds until it reads `t`, and `speed` is how many of its seconds pass in a real one."""

    speed: float

    def now(self) -> datetime: ...

    def seconds_until(self, t: datetime) -> float: ...


class WallClock:
    """The real time, for live sessions."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def seconds_until(self, t: datetime) -> float:
        return max(0.0, (t - self.now()).total_seconds())


_live_clock: PacedClock | None = None


def live_clock() -> PacedClock:
    """The clock of a real-time live run: the wall clock, unless `using_live_clock` put another in its place."""
    return _live_clock if _live_clock is not None else WallClock()


@contextmanager
def using_live_clock(clock: PacedClock) -> Iterator[PacedClock]:
    """Real-time live runs read `clock` instead of the wall clock meanwhile (tests: a day before its open)."""
    global _live_clock
    previous, _live_clock = _live_clock, clock
    try:
        yield clock
    finally:
        _live_clock = previous


def wait_until(clock: PacedClock, t: datetime, step: float = 1.0) -> None:
    """Returns once `clock` reads `t` or later (sleeping at most `step` real seconds at a time)."""
    while (seconds := clock.seconds_until(t)) > 0:
        time.sleep(min(seconds, step))


def utc_now() -> datetime:
    """The wall-clock time, tz-aware UTC, for recording when something was written (`recorded_at`)."""
    return datetime.now(UTC)


def elapsed() -> float:
    """Seconds on a monotonic wall clock, for pacing and timeouts (a feed playing a day at a speed): only
    differences between two readings mean anything, and no session ever sees them."""
    return time.monotonic()


class ScaledClock:
    """A rehearsal's clock: `origin` at the first reading, then `speed` times real time. The first reading is
    the stream's stamp of its `connected` notice, just before alpaca-py subscribes: a feed server that starts
    its day on the first subscription then plays it from the open at the same pace and nearly in step.

    `started` is the wall time at which the clock read `origin` instead: a resumed rehearsal's clock goes on at
    its first run's pace, in step with the feed server that went on playing the day meanwhile."""

    def __init__(self, origin: datetime, speed: float = 1.0, started: datetime | None = None) -> None:
        if not speed > 0:
            raise ClockError(f"speed: {speed} must be above 0")
        self.origin, self.speed = origin, speed
        self._start: float | None = None
        if started is not None:
            self._start = elapsed() - (utc_now() - _aware(started)).total_seconds()

    def now(self) -> datetime:
        if self._start is None:
            self._start = elapsed()
        return self.origin + timedelta(seconds=(elapsed() - self._start) * self.speed)

    def seconds_until(self, t: datetime) -> float:
        return max(0.0, (t - self.now()).total_seconds() / self.speed)
