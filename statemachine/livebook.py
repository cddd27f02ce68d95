"""A live day's book, grown step by step from the bars the minute gate released.

In a backtest the book holds the whole day from the open and the clock masks what has not closed. In a live
day there is no whole day: the executor provisions each symbol with the bars received so far (the live
`BarSource`), and after each step `LiveBook.step` appends what the step released to every symbol's entry:

- the base bar of the minute (if it came), to the base series and the session's received times (so quality
  as of now shows the minutes without a bar as gaps);
- each derived bar that closed with it or by the minute's end, through an `IncrementalAggregator`;
- each indicator's value after that bar, through the incremental form warmed over history and the day's
  closed bars (`marketdata.incremental.LiveSeries`): the batch path's values to the last bit for SMA,
  Bollinger and VWAP and within a few ulps for the recurrences.

Entries are replaced whole (`Book.commit`, under the coordinator's lock), as a request's are, so a plugin
reading from another thread sees one entry or the next. A symbol whose entry changed since this module last
wrote it (a request provisioned it, added an interval or an indicator, upgraded it) gets new trackers built
from the new entry. A symbol whose held bars were corrected (a late bar, an updated bar) is rebuilt in batch
from the source, as the executor loads it: the steps after the correction see the corrected bars and
indicators, and what the steps before saw stays what they saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import numpy as np

from marketdata.aggregator import DerivedBar
from marketdata.bars import SessionBars, frozen
from marketdata.incremental import ClosedBar, LiveSeries
from marketdata.sources.live import LiveBarSource, Row, rows_of
from specs.intervals import Interval
from statemachine.book import IndicatorSeries, IntervalSeries, SymbolBook, compute_indicator
from statemachine.coordinator import SessionCoordinator

MINUTE = dt.timedelta(minutes=1)


def _appended(bars: SessionBars, closed: list[DerivedBar]) -> SessionBars:
    if not closed:
        return bars
    columns = zip(*((b.ts, b.open, b.high, b.low, b.close, b.volume, b.bar_close) for b in closed), strict=True)
    ts, o, h, lo, c, v, close = (np.array(col) for col in columns)
    new = SessionBars(ts.astype(np.int64), o, h, lo, c, v, close.astype(np.int64))
    return frozen(SessionBars.concat([bars, new]))


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _with_values(series: IndicatorSeries, key: str, closed: list[ClosedBar]) -> IndicatorSeries:
    if not closed:
        return series
    names = list(series.values)
    values = {}
    for position, name in enumerate(names):
        new = [cb.values[key] if len(names) == 1 else cb.values[key][position] for cb in closed]  # type: ignore[index]
        values[name] = _read_only(np.concatenate([series.values[name], np.array(new, dtype=np.float64)]))
    closes = _read_only(np.concatenate([series.closes, np.array([cb.bar.bar_close for cb in closed], np.int64)]))
    return IndicatorSeries(series.spec, values, closes, series.history_bars)


class _Tracker:
    """One symbol's incremental state, built from the book entry it keeps up to date."""

    def __init__(self, book: LiveBook, symbol: str, entry: SymbolBook) -> None:
        self.entry = entry
        self.series: dict[str, LiveSeries] = {}
        coordinator, source = book.coordinator, book.source
        for key, interval_series in entry.intervals.items():
            interval = interval_series.interval
            if not interval.is_intraday or interval.base != source.base:
                continue
            specs = [s.spec for s in entry.indicators.values() if str(s.spec.interval) == key]
            history = SessionBars.concat([book.history_of(symbol, entry, interval), interval_series.bars])
            warm = history if len(history) else None
            live = LiveSeries(interval, coordinator.calendar, source.day, specs, history=warm)
            bars = interval_series.bars
            last_close = int(bars.bar_close[-1]) if len(bars) else 0
            base = entry.intervals.get(str(source.base))
            if interval != source.base and base is not None:  # the base bars of the derived bar in progress
                pending = base.bars[base.bars.ts >= last_close]
                for ts, row in rows_of(pending).items():
                    assert not live.push(ts, *row), "a derived bar closed before the step that closes it"
            self.series[key] = live


class LiveBook:
    """Appends each step's bars to the book of a live day (see the module docstring)."""

    def __init__(self, coordinator: SessionCoordinator, source: LiveBarSource) -> None:
        self.coordinator, self.source = coordinator, source
        self._trackers: dict[str, _Tracker] = {}

    def history_of(self, symbol: str, entry: SymbolBook, interval: Interval) -> SessionBars:
        """The history an indicator on `interval` was warmed over, as the executor loads it."""
        history = entry.histories.get(str(interval.base))
        if history is None:
            return SessionBars.empty()
        if interval.is_base:
            return history.bars
        return self.source.history(symbol, interval, list(history.sessions))

    def step(self, minute: dt.datetime, bars: Mapping[str, Row], corrected: Iterable[str] = ()) -> None:
        """Minute `minute` has stepped with `bars` (by symbol; already held by the source): every symbol's
        entry grows by what closed by the minute's end; `corrected` symbols are rebuilt in batch."""
        end = minute + MINUTE
        rebuild = set(corrected)
        coordinator = self.coordinator
        with coordinator.lock:
            for symbol in coordinator.book.symbols():
                entry = coordinator.book.get(symbol)
                if entry is None:
                    continue
                if symbol in rebuild:
                    grown = self.rebuilt(symbol, entry)
                else:
                    grown = self._grown(symbol, entry, minute, end, bars.get(symbol))
                if grown is not entry:
                    coordinator.book.commit(symbol, grown)
                if symbol in rebuild:
                    self._trackers[symbol] = _Tracker(self, symbol, grown)
                else:
                    self._trackers[symbol].entry = grown

    def _grown(
        self, symbol: str, entry: SymbolBook, minute: dt.datetime, end: dt.datetime, row: Row | None
    ) -> SymbolBook:
        tracker = self._trackers.get(symbol)
        if tracker is None or tracker.entry is not entry:
            tracker = self._trackers[symbol] = _Tracker(self, symbol, entry)
        closed_by_key = {}
        for key, live in tracker.series.items():
            closed = live.push(minute, *row) if row is not None else []
            closed += live.advance(end)
            if closed:
                closed_by_key[key] = closed
        base_key = str(self.source.base)
        if not closed_by_key and (row is None or base_key not in entry.session_ts):
            return entry  # nothing new: the entry stays as it is
        grown = entry.copy()
        if row is not None and base_key in grown.session_ts:
            ts = np.int64(int(minute.timestamp()) * 1_000_000_000)
            grown.session_ts[base_key] = _read_only(np.append(grown.session_ts[base_key], ts))
        for key, closed in closed_by_key.items():
            live = tracker.series[key]
            series = grown.intervals[key]
            grown.intervals[key] = IntervalSeries(series.interval, _appended(series.bars, [c.bar for c in closed]))
            for spec_key in live.indicators:
                grown.indicators[spec_key] = _with_values(grown.indicators[spec_key], spec_key, closed)
        return grown

    def settle(self) -> None:
        """At the close: every entry rebuilt in batch from the received bars, so the day's figures (SymbolStreamed)
        are the batch path's over the bars the day received, to the last bit."""
        coordinator = self.coordinator
        with coordinator.lock:
            for symbol in coordinator.book.symbols():
                entry = coordinator.book.get(symbol)
                if entry is not None:
                    coordinator.book.commit(symbol, self.rebuilt(symbol, entry))
            self._trackers.clear()

    def rebuilt(self, symbol: str, entry: SymbolBook) -> SymbolBook:
        """The entry loaded anew from the source's held bars, as the executor loads it (a correction)."""
        calendar, source = self.coordinator.calendar, self.source
        grown = entry.copy()
        for key, series in entry.intervals.items():
            if series.interval.is_intraday and series.interval.base == source.base:
                grown.intervals[key] = IntervalSeries(series.interval, frozen(source.today(symbol, series.interval)))
        base_key = str(source.base)
        if base_key in grown.session_ts:
            grown.session_ts[base_key] = _read_only(np.array(source.received(symbol).ts, copy=True))
        for key, indicator in entry.indicators.items():
            interval = indicator.spec.interval
            day = grown.intervals[str(interval)].bars
            grown.indicators[key] = compute_indicator(
                indicator.spec, self.history_of(symbol, entry, interval), day, calendar
            )
        return grown
