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

from marketdata.bars import SessionBars
from specs.intervals import Interval
from statemachine.asof import state_as_of
from statemachine.book import IndicatorValueType
from statemachine.export import state_json

if TYPE_CHECKING:
    from statemachine.coordinator import SessionCoordinator


class SessionView:
    """What a plugin may see of the day; it cannot change anything through it."""

    __slots__ = ("_coordinator",)

    def __init__(self, coordinator: SessionCoordinator) -> None:
        self._coordinator = coordinator

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
        return self._coordinator.state.state

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
                raise KeyError(f"{symbol} has no {key} bars (it has {', '.join(sorted(book.intervals)) or 'none'})")
            return book.closed_bars(key, self.now)

    def indicator(self, symbol: str, key: str) -> IndicatorValueType:
        """The indicator's value at the last closed bar (before any closed today: at the open); None if undefined.

        A multi-output indicator gives a dict of its outputs. None also for a symbol or key that is not there.
        """
        with self._coordinator.lock:
            book = self._coordinator.book.get(symbol)
            if book is None or key not in book.indicators:
                return None
            return book.indicators[key].value_at(book.indicator_index(key, self.now))

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
