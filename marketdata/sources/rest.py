"""History from a REST minute-bar API as a `BarSource`: a live session's `feed.history: alpaca`.

The API answers "the 1m bars of these symbols with start <= ts < end" (`MinuteFetch`; Alpaca's REST data API
through `marketdata.live.alpaca_history.AlpacaHistory.minute_bars`, kept out of this module so marketdata's
sources import no SDK). A symbol's sessions are what it has bars of among the `lookback` sessions before the
live day, fetched in one request the first time the symbol is asked about; a session outside that window is
fetched when a history asks for it. Each session's regular bars are kept, so every session is fetched once.
Only the streamed interval (1m) and what derives from it are served.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence

import pyarrow as pa

from marketdata.aggregator import DerivedBar, play_closing
from marketdata.bars import SessionBars, frozen
from marketdata.calendar import TradingCalendar
from marketdata.checks import clean_bars, flagged_rows
from marketdata.derive import derive_sessions
from marketdata.quality import HistoricalQuality, historical_quality
from marketdata.sources.base import MissingBarsError, StoredDay
from marketdata.sources.live import EarlierBars
from marketdata.store import BAR_SCHEMA
from specs.intervals import Interval

#: symbols, start, end → each symbol's 1m bars with start <= ts < end, as store tables
MinuteFetch = Callable[[Sequence[str], dt.datetime, dt.datetime], Mapping[str, pa.Table]]

#: the sessions before the live day a symbol's history is looked for in at first
DEFAULT_LOOKBACK = 20

_M1 = Interval("1m")


def fetch_bars(fetch: MinuteFetch, symbol: str, start: dt.datetime, end: dt.datetime) -> pa.Table:
    """One symbol's 1m bars start <= ts < end, cleaned (an empty table when it has none)."""
    table = fetch([symbol], start, end).get(symbol)
    if table is None or table.num_rows == 0:
        return BAR_SCHEMA.empty_table()
    clean, _ = clean_bars(table)
    return clean


class RestBarSource:
    """A REST minute-bar API as the history of one live day (see the module docstring)."""

    def __init__(
        self,
        fetch: MinuteFetch,
        calendar: TradingCalendar,
        day: dt.date,
        location: str = "Alpaca's REST data API",
        lookback: int = DEFAULT_LOOKBACK,
    ) -> None:
        self.fetch, self.calendar, self.day, self.lookback = fetch, calendar, day, lookback
        self._location = location
        #: symbol → session → its regular-session 1m bars (the sessions fetched so far)
        self._sessions: dict[str, dict[dt.date, SessionBars]] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"RestBarSource({self._location})"

    @property
    def location(self) -> str:
        return self._location

    def _fetched(self, symbol: str, sessions: Sequence[dt.date]) -> dict[dt.date, SessionBars]:
        """The symbol's sessions held, the ones asked for fetched in one request if missing."""
        with self._lock:
            held = self._sessions.get(symbol)
            if held is None:
                window = self.calendar.previous_sessions(self.day, self.lookback)
                held = self._sessions[symbol] = {}
                sessions = sorted({*sessions, *window})
            todo = sorted(d for d in set(sessions) if d not in held)
            if todo:
                start, end = self.calendar.open(todo[0]), self.calendar.close(todo[-1])
                table = fetch_bars(self.fetch, symbol, start, end)
                bars = derive_sessions(table, _M1, self.calendar, todo)
                opens = [self.calendar.open(d) for d in todo]
                closes = [self.calendar.close(d) for d in todo]
                for d, o, c in zip(todo, opens, closes, strict=True):
                    lo, hi = int(o.timestamp()) * 10**9, int(c.timestamp()) * 10**9
                    held[d] = frozen(bars[(bars.ts >= lo) & (bars.ts < hi)])
            return held

    def intervals(self, symbol: str) -> list[Interval]:
        return [_M1] if self.days(symbol, _M1) else []

    def days(self, symbol: str, interval: Interval | str) -> list[dt.date]:
        if Interval(interval) != _M1:
            return []
        held = self._fetched(symbol, [])
        return sorted(d for d, bars in held.items() if len(bars))

    def history(self, symbol: str, interval: Interval, sessions: Sequence[dt.date]) -> SessionBars:
        sessions = list(sessions)
        if interval.base != _M1:
            raise MissingBarsError(symbol, interval.base, sessions)
        held = self._fetched(symbol, sessions)
        missing = [d for d in sessions if not len(held[d])]
        if missing:
            raise MissingBarsError(symbol, _M1, missing)
        base = SessionBars.concat(held[d] for d in sessions)
        return frozen(base if interval == _M1 else derive_sessions(base, interval, self.calendar, sessions))

    def session(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        if interval != _M1:
            return None
        start = dt.datetime.combine(day, dt.time(), tzinfo=self.calendar.tz)
        table = self.fetch([symbol], start, start + dt.timedelta(days=1)).get(symbol)
        if table is None or table.num_rows == 0:
            return None
        clean, _ = clean_bars(table)
        return StoredDay(frozen(SessionBars.from_table(clean, _M1, self.calendar)), flagged_rows(table), 0)

    def history_quality(
        self, symbol: str, interval: Interval, sessions: Sequence[dt.date], bars: SessionBars
    ) -> HistoricalQuality:
        return historical_quality(bars.ts, self.calendar, list(sessions), interval)

    def subscribe(self, symbol: str, interval: Interval, day: dt.date) -> Iterator[DerivedBar]:
        stored = self.session(symbol, _M1, day)
        if stored is None:
            raise MissingBarsError(symbol, _M1, [day])
        yield from play_closing(stored.bars, interval, self.calendar, day)


def rest_earlier(fetch: MinuteFetch, calendar: TradingCalendar) -> EarlierBars:
    """A live day's earlier bars (of a symbol added mid-session) from the REST API."""

    def read(symbol: str, start: dt.datetime, end: dt.datetime) -> SessionBars:
        return SessionBars.from_table(fetch_bars(fetch, symbol, start, end), _M1, calendar)

    return read
