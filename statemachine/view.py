"""The read-only view of a session day that scanners and strategies get.

Everything it returns is as of the clock's `now`: bars whose close is at or before now (never a bar that
has not closed), indicator values at the last closed bar, and in `state` the day's counts, quality, gaps
and flagged rows of those bars only. Bars come back as fresh read-only arrays,
so there is no path from a returned array to the book's later rows. The view holds no state of its own:
it asks the coordinator each time, so it follows the day from loading to its end.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np

from marketdata.bars import SessionBars
from marketdata.derive import derive_sessions
from specs.intervals import Interval
from statemachine.asof import state_as_of
from statemachine.book import IndicatorValueType, closed_copy
from statemachine.export import state_json
from statemachine.reads import LatestBar, LatestReads

if TYPE_CHECKING:
    from statemachine.coordinator import SessionCoordinator


class SessionView:
    """What a plugin may see of the day; it cannot change anything through it."""

    __slots__ = ("_coordinator", "_reads")

    def __init__(self, coordinator: SessionCoordinator) -> None:
        self._coordinator = coordinator
        self._reads = LatestReads()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__slots__ and not hasattr(self, name):
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"SessionView is read-only: cannot set {name}")

    @property
    def now(self) -> dt.datetime:
        return self._coordinator.clock.now()

    @property
    def session_date(self) -> dt.date | None:
        return self._coordinator.state.session_date

    @property
    def phase(self) -> str:
        return self._coordinator.state.phase

    def symbols(self) -> dict[str, str]:
        """Every symbol of the day and its lifecycle state (adhoc or full)."""
        with self._coordinator.lock:
            return {symbol: data.state for symbol, data in sorted(self._coordinator.state.symbols.items())}

    def intervals(self, symbol: str) -> list[str]:
        with self._coordinator.lock:
            data = self._coordinator.state.symbols.get(symbol)
            return [] if data is None else sorted(data.bars, key=lambda key: Interval(key))

    def indicators(self, symbol: str) -> list[str]:
        with self._coordinator.lock:
            data = self._coordinator.state.symbols.get(symbol)
            return [] if data is None else sorted(data.indicators)

    def bars(self, symbol: str, interval: str | Interval) -> SessionBars:
        """The bars of `interval` closed by now, oldest first (read-only copies); KeyError naming what is absent."""
        key = str(Interval(interval))
        with self._coordinator.lock:
            book = self._coordinator.book.get(symbol)
            if book is None:
                raise KeyError(f"{symbol} is not in the session")
            if key not in book.intervals:
                raise KeyError(self._no_bars(symbol, key, sorted(book.intervals)))
            return book.closed_bars(key, self.now)

    def _no_bars(self, symbol: str, key: str, held: list[str]) -> str:
        data = self._coordinator.state.symbols.get(symbol)
        if data is not None and key in data.bars and not data.bars[key].session:
            return f"{symbol} has {key} history only, no session bars (read it with view.history)"
        return f"{symbol} has no {key} bars (it has {', '.join(held) or 'none'})"

    def history(self, symbol: str, interval: str | Interval) -> SessionBars:
        """The history loaded for `interval` (its base interval's sessions before the day, derived to `interval`
        session by session), oldest first, as read-only copies; KeyError naming what is absent. All of it closed
        before the day began, so it is the same at every moment of the day."""
        wanted = Interval(interval)
        key = str(wanted)
        with self._coordinator.lock:
            book = self._coordinator.book.get(symbol)
            data = self._coordinator.state.symbols.get(symbol)
            if book is None or data is None:
                raise KeyError(f"{symbol} is not in the session")
            history = book.histories.get(str(wanted.base))
            if key not in data.bars or history is None:
                raise KeyError(f"{symbol} has no {key} history")
            bars = history.bars
            if not wanted.is_base:
                bars = derive_sessions(bars, wanted, self._coordinator.calendar, list(history.sessions))
            return closed_copy(bars, len(bars))

    def last_bar(self, symbol: str, interval: str | Interval) -> LatestBar | None:
        """The last bar of `interval` closed by now (None before the first), without copying the day's bars;
        KeyError naming what is absent. Like `indicator`, it takes no lock."""
        coordinator = self._coordinator
        book = coordinator.book.get(symbol)
        if book is None:
            raise KeyError(f"{symbol} is not in the session")
        if isinstance(interval, str) and interval in book.intervals:
            key = interval
        else:
            key = str(Interval(interval))
            if key not in book.intervals:
                raise KeyError(self._no_bars(symbol, key, sorted(book.intervals)))
        return self._reads.last_bar(book, symbol, key, coordinator.clock.now())

    def indicator(self, symbol: str, key: str) -> IndicatorValueType:
        """The indicator's value at the last closed bar (before any closed today: at the open); None if undefined.

        A multi-output indicator gives a dict of its outputs. None also for a symbol or key that is not there.
        It takes no lock: the book's entries are immutable and replaced whole, so a read sees one or the other.
        """
        coordinator = self._coordinator
        return self._reads.indicator(coordinator.book.get(symbol), symbol, key, coordinator.clock.now())

    def indicator_all(self, key: str, symbols: list[str] | None = None) -> np.ndarray:
        """One single-output indicator for every symbol (`symbols`, else the session's, sorted) as a float
        array, NaN where it is undefined or the symbol lacks it: one call for a strategy that scans a universe."""
        with self._coordinator.lock:
            books = self._coordinator.book.entries()
            wanted = sorted(books) if symbols is None else list(symbols)
            return self._reads.indicator_all(books, wanted, key, self._coordinator.clock.now())

    def indicator_ready(self, symbol: str, key: str) -> bool:
        """Whether the indicator is warm at the last closed bar."""
        with self._coordinator.lock:
            book = self._coordinator.book.get(symbol)
            if book is None or key not in book.indicators:
                return False
            return book.indicators[key].valid_at(book.indicator_index(key, self.now))

    @property
    def state(self) -> dict[str, Any]:
        """A JSON snapshot of the day's metadata (the export shape) as of now: counts, quality, gaps, flagged rows
        and indicator values of the bars closed by now (statemachine.asof); changing it changes nothing."""
        coordinator = self._coordinator
        with coordinator.lock:
            return state_json(state_as_of(coordinator.state, coordinator.book, coordinator.calendar, self.now))
