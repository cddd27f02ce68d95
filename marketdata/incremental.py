"""One symbol's derived bars and indicators, kept up to date one base bar at a time: what a live session calls.

A `LiveSeries` holds a symbol's bars of one interval on one session day and the indicators on that interval.
Each base bar pushed as it arrives (from a `BarSource` subscription, or the live feed) goes through an
`IncrementalAggregator`; each derived bar that closes updates every indicator, which was warmed by the batch
form over the history before the day. The bars are exactly the batch path's (`derive_bars`); the indicator
values are the batch path's to the last bit for SMA, Bollinger and VWAP and within a few ulps for the
recurrences (EMA, MACD, RSI, ATR), as tests/marketdata/test_indicators.py and test_incremental.py hold them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

from marketdata.aggregator import DerivedBar, IncrementalAggregator, bars_from_derived
from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.indicators import Indicator, IndicatorError, as_spec, make_indicator
from marketdata.indicators.base import Value
from specs.indicators import IndicatorSpec
from specs.intervals import Interval


class ClosedBar(NamedTuple):
    """A derived bar that closed and every indicator's value once it was folded in (by indicator key)."""

    bar: DerivedBar
    values: dict[str, Value]


class LiveSeries:
    """One symbol's bars of `interval` on `day` and its indicators, fed base bars in time order."""

    def __init__(
        self,
        interval: Interval | str,
        calendar: TradingCalendar,
        day: date,
        indicators: Iterable[IndicatorSpec | str] = (),
        history: SessionBars | None = None,
    ) -> None:
        self.interval = Interval(interval)
        self.aggregator = IncrementalAggregator(self.interval, calendar, day)
        self.indicators: dict[str, Indicator] = {}
        for item in indicators:
            spec = as_spec(item)
            if spec.interval != self.interval:
                raise IndicatorError(f"indicator {spec.key} is on {spec.interval}, this series is {self.interval}")
            self.indicators[spec.key] = make_indicator(spec, calendar, history=history)
        self.closed: list[DerivedBar] = []

    def push(self, ts: Any, open: float, high: float, low: float, close: float, volume: float) -> list[ClosedBar]:
        """Fold in one base bar (ts = its open); returns the derived bars that closed with it and the values."""
        return self._fold(self.aggregator.push(ts, open, high, low, close, volume))

    def advance(self, t: Any) -> list[ClosedBar]:
        """The pending bar, if the clock at `t` has passed its close without its last base bar."""
        return self._fold(self.aggregator.advance(t))

    def flush(self) -> list[ClosedBar]:
        """At the session close: the pending bar, if any."""
        last = self.aggregator.flush()
        return self._fold(() if last is None else (last,))

    def values(self) -> dict[str, Value]:
        """Every indicator's current value, by key."""
        return {key: indicator.value for key, indicator in self.indicators.items()}

    def bars(self) -> SessionBars:
        """The bars closed so far, as columns."""
        return bars_from_derived(self.closed)

    def _fold(self, done: Iterable[DerivedBar]) -> list[ClosedBar]:
        out = []
        for bar in done:
            self.closed.append(bar)
            for indicator in self.indicators.values():
                indicator.update(bar.open, bar.high, bar.low, bar.close, bar.volume, bar.ts)
            out.append(ClosedBar(bar, self.values()))
        return out
