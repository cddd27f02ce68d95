"""The clock: the one place in daytape that says what time it is.

A backtest runs on a `SimulatedClock` that its owner sets and advances (never backwards); a live run
reads the wall clock through `WallClock`. `utc_now()` is for recording when something happened
(`recorded_at`), never for deciding what the session sees.
"""

from __future__ import annotations

import time
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


class WallClock:
    """The real time, for live sessions."""

    def now(self) -> datetime:
        return datetime.now(UTC)


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
