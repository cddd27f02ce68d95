"""The bars and indicator values of a logged day, rebuilt from the run's bar store as the run saw them.

The log holds what was provisioned and a digest of every block of bars loaded, not the numbers: a
`SessionState` knows an indicator's value at registration and at the session's end, nothing between.
So the numbers are read again from the store the run's manifest names, through the same `StoreCache`,
derivation and batch indicator code the executor used, following the day's step events in seq order:

    HistoricalLoaded    the base interval's regular-session bars of those sessions  (digest checked; a load
                        that joins held history is joined before it, and the whole checked again)
    SessionBarsLoaded   the day's bars of that interval                            (digest checked)
    IndicatorRegistered the indicator over the history then the day, one series    (bars used and the
                                                                                     value at the open checked)

A check that fails raises `StoreChanged`: the store no longer holds what the run read, so no number
from it is shown as the run's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from daytape.errors import CheckFailed
from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.checks import clean_bars
from marketdata.derive import derive_bars, derive_sessions
from marketdata.sources.storecache import StoreCache, joined
from marketdata.timestamps import as_ns
from specs import events as ev
from specs.intervals import Interval
from statemachine.book import IndicatorSeries, IntervalSeries, bars_digest, compute_indicator


class StoreChanged(CheckFailed):
    """The bar store does not give the bars the run loaded (their digest or count differs)."""


@dataclass
class RebuiltSymbol:
    """One symbol's numbers on the day: bars per interval, history per base interval, indicator series."""

    intervals: dict[str, SessionBars] = field(default_factory=dict)
    histories: dict[str, tuple[tuple[dt.date, ...], SessionBars]] = field(default_factory=dict)
    indicators: dict[str, IndicatorSeries] = field(default_factory=dict)
    #: The history each indicator was computed over, in its own interval (the warm-up bars), and its sessions.
    warmups: dict[str, SessionBars] = field(default_factory=dict)
    warmup_sessions: dict[str, tuple[dt.date, ...]] = field(default_factory=dict)


class DayBook:
    """Rebuilds symbols of one session day from its step events and the store."""

    def __init__(self, cache: StoreCache, calendar: TradingCalendar, day: dt.date) -> None:
        self.cache, self.calendar, self.day = cache, calendar, day

    def rebuild(self, symbol: str, events: Iterable[ev.EventBase]) -> RebuiltSymbol:
        """Follow the symbol's step events (in seq order, up to the session's end) as the executor ran them."""
        book = RebuiltSymbol()
        for event in events:
            if isinstance(event, ev.HistoricalLoaded):
                sessions = tuple(self.calendar.sessions(event.start, event.end)) if event.start and event.end else ()
                bars = self.regular(symbol, event.interval, list(sessions))
                self._check(symbol, f"{event.interval} history {event.start}..{event.end}", bars, event.digest)
                if event.joined is not None:
                    sessions, bars = self._join(symbol, book, event, event.joined, sessions, bars)
                book.histories[str(event.interval)] = (sessions, bars)
            elif isinstance(event, ev.SessionBarsLoaded):
                bars = self.regular(symbol, event.interval, [self.day])
                # the load's digest covers the bars closed by its own time; SymbolStreamed's the whole day
                count = (
                    0
                    if event.sim_time is None
                    else IntervalSeries(event.interval, bars).closed_count(as_ns(event.sim_time))
                )
                closed = bars[:count]
                self._check(symbol, f"{event.interval} bars of {self.day}", closed, event.digest)
                book.intervals[str(event.interval)] = bars
            elif isinstance(event, ev.SymbolStreamed):
                for interval, digest in event.digests.items():
                    if interval in book.intervals:
                        self._check(symbol, f"{interval} bars of {self.day}", book.intervals[interval], digest)
            elif isinstance(event, ev.IndicatorRegistered):
                self._register(symbol, book, event)
        return book

    def _join(
        self,
        symbol: str,
        book: RebuiltSymbol,
        event: ev.HistoricalLoaded,
        joined: ev.JoinedHistory,
        sessions: tuple[dt.date, ...],
        bars: SessionBars,
    ) -> tuple[tuple[dt.date, ...], SessionBars]:
        """The loaded sessions joined before the history held (as the executor joins them), digest checked."""
        held = book.histories.get(str(event.interval))
        if held is None:
            raise StoreChanged(f"{symbol}: {event.interval} history joins sessions that were never loaded")
        sessions, bars = (*sessions, *held[0]), SessionBars.concat([bars, held[1]])
        self._check(symbol, f"{event.interval} history {joined.start}..{joined.end}", bars, joined.digest)
        return sessions, bars

    def _register(self, symbol: str, book: RebuiltSymbol, event: ev.IndicatorRegistered) -> None:
        spec = event.indicator
        day_bars = book.intervals.get(str(spec.interval))
        if day_bars is None:
            raise StoreChanged(f"{symbol}: {spec.key} was registered before its {spec.interval} bars were loaded")
        history = self.history_of(symbol, book, spec.interval)
        if len(history) != event.bars_used:
            raise StoreChanged(
                f"{symbol}: {spec.key} warmed up over {event.bars_used} bars in the run, "
                f"{len(history)} from the store now"
            )
        series = compute_indicator(spec, history, day_bars, self.calendar)
        if series.value_at(series.history_bars - 1) != event.current_value:
            raise StoreChanged(
                f"{symbol}: {spec.key} at the open was {event.current_value} in the run, "
                f"{series.value_at(series.history_bars - 1)} from the store now"
            )
        book.indicators[spec.key] = series
        book.warmups[spec.key] = history
        loaded = book.histories.get(str(spec.interval.base))
        book.warmup_sessions[spec.key] = loaded[0] if loaded is not None else ()

    def history_of(self, symbol: str, book: RebuiltSymbol, interval: Interval) -> SessionBars:
        """The executor's `_history_of`: the base history, derived to `interval` session by session."""
        loaded = book.histories.get(str(interval.base))
        if loaded is None:
            return SessionBars.empty()
        sessions, bars = loaded
        return bars if interval.is_base else self.regular(symbol, interval, list(sessions))

    def regular(self, symbol: str, interval: Interval, days: list[dt.date]) -> SessionBars:
        """Regular-session bars of `interval` over `days`, by the executor's path for that interval."""
        if not days:
            return SessionBars.empty()
        if interval.is_intraday:
            pieces = self.cache.regular_days(symbol, interval, days)
            missing = [d for d, piece in zip(days, pieces, strict=True) if piece is None]
            if missing:
                raise StoreChanged(f"{symbol}: the store has no {interval.base} bars for {missing[0]} any more")
            return joined(pieces)  # type: ignore[arg-type]
        read = self.cache.store.read_days(symbol, interval.base, days)
        if read.missing_days:
            raise StoreChanged(f"{symbol}: the store has no {interval.base} bars for {read.missing_days[0]} any more")
        clean, _ = clean_bars(read.table)
        if len(days) == 1 and interval.is_base:
            return derive_bars(SessionBars.from_table(clean, interval, self.calendar), interval, self.calendar, days[0])
        return derive_sessions(clean, interval, self.calendar, days)

    @staticmethod
    def _check(symbol: str, what: str, bars: SessionBars, digest: str) -> None:
        if bars_digest(bars) != digest:
            raise StoreChanged(f"{symbol}: the store's {what} are not the ones the run loaded (their digest differs)")
