"""Derived bars one base bar at a time: what a live feed's bars go through as they arrive.

`IncrementalAggregator` folds one symbol's base bars in time order and emits each derived bar as it
closes; it gives exactly the bars of `marketdata.derive.derive_bars` (the tests hold it to them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, NamedTuple

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.errors import BarDataError
from marketdata.timestamps import NS_PER_SECOND, as_ns, utc_datetime
from specs.intervals import Interval


class DerivedBar(NamedTuple):
    """One completed bar of the incremental aggregator (times in ns UTC)."""

    ts: int
    bar_close: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def _nan_max(a: float, b: float) -> float:
    """max() that propagates NaN like numpy's maximum, so bad bars derive the same in every form."""
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


def _check_intraday(interval: Interval, what: str) -> None:
    if not interval.is_intraday:
        raise BarDataError(f"{what} derives intraday bars within one session; {interval} needs derive_sessions")


class IncrementalAggregator:
    """One symbol's bars of `interval` in one session, fed base bars in time order, emitting each bar as it closes.

    A bar closes when the base bar that ends at its close arrives; when that base bar is missing, the bar is
    emitted by the first later base bar, by `advance(t)` once the clock passes its close, or by `flush()`.
    Base bars outside the regular session are ignored. Gives exactly the bars of `derive_bars`.
    """

    def __init__(self, interval: Interval | str, calendar: TradingCalendar, session: date) -> None:
        self.interval = Interval(interval)
        _check_intraday(self.interval, "IncrementalAggregator")
        self.session = session
        self._open, self._close = calendar.open_close_ns(session)
        self._step = self.interval.seconds * NS_PER_SECOND
        self._base_step = self.interval.base.seconds * NS_PER_SECOND
        self._slot = -1
        self._last_ts = -(2**63)
        self._bar: list[float] = []

    def _slot_close(self, slot: int) -> int:
        return min(self._open + (slot + 1) * self._step, self._close)

    def _emit(self) -> DerivedBar:
        o, h, lo, c, v = self._bar
        slot = self._slot
        self._bar = []
        return DerivedBar(self._open + slot * self._step, self._slot_close(slot), o, h, lo, c, v)

    def push(
        self, ts: Any, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[DerivedBar, ...]:
        """Fold in one base bar (ts = its open); returns the bars that closed with it (none, one, or two when the
        previous bar lacked its last base bar and this one completes its own)."""
        t = as_ns(ts)
        if t < self._last_ts:
            raise BarDataError(
                f"base bar at {utc_datetime(t).isoformat()} arrived after {utc_datetime(self._last_ts).isoformat()}"
            )
        self._last_ts = t
        if t < self._open or t >= self._close:
            return ()
        slot = (t - self._open) // self._step
        done: tuple[DerivedBar, ...] = ()
        if self._bar and slot != self._slot:
            done = (self._emit(),)
        if not self._bar:
            self._slot = slot
            self._bar = [float(open), float(high), float(low), float(close), float(volume)]
        else:
            bar = self._bar
            bar[1] = _nan_max(bar[1], float(high))
            bar[2] = -_nan_max(-bar[2], -float(low))
            bar[3] = float(close)
            bar[4] += float(volume)
        if t + self._base_step >= self._slot_close(slot):
            done = (*done, self._emit())
        return done

    def advance(self, t: Any) -> tuple[DerivedBar, ...]:
        """The pending bar, if the clock at `t` has reached its close (its last base bar never came)."""
        if self._bar and as_ns(t) >= self._slot_close(self._slot):
            return (self._emit(),)
        return ()

    def flush(self) -> DerivedBar | None:
        """At the session close: the pending bar, if any."""
        return self._emit() if self._bar else None

    @property
    def pending(self) -> DerivedBar | None:
        """The bar being built (not yet closed), for display; None between bars."""
        if not self._bar:
            return None
        o, h, lo, c, v = self._bar
        return DerivedBar(self._open + self._slot * self._step, self._slot_close(self._slot), o, h, lo, c, v)


def bars_from_derived(derived: Sequence[DerivedBar]) -> SessionBars:
    """The emitted bars of an IncrementalAggregator as columns."""
    if not derived:
        return SessionBars.empty()
    ts, closes, o, h, lo, c, v = (np.array(col) for col in zip(*derived, strict=True))
    return SessionBars(ts, o, h, lo, c, v, closes)


def play_closing(bars: SessionBars, interval: Interval, calendar: TradingCalendar, day: date) -> Iterator[DerivedBar]:
    """The `interval` bars of one session as they close, played from its base `bars` in time order (what a
    subscription to a stored day yields)."""
    aggregator = IncrementalAggregator(interval, calendar, day)
    for row in zip(bars.ts.tolist(), bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True):
        yield from aggregator.push(*row)
    last = aggregator.flush()
    if last is not None:
        yield last
