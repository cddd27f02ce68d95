"""What the days of one run read from the bar store, read once.

The days of a run read the same data again and again: day d's trailing history is the session days
before it, which earlier days loaded as their session; every request validates against the same
directory listings; every indicator on a derived interval derives the history's bars anew. A `StoreCache`
wraps the run's `BarStore` and keeps, for that run, each listing, each intraday day file as its cleaned
bars, and each day's regular-session bars per interval, so each is read or derived once.

It relies on the store not changing under a run (the run's manifest records the data's digest when it
starts, and `verify` re-runs against it): create one for a run, or for the days of a run one worker runs,
and never share one between runs. It answers what the store answers (a history built from per-day pieces
is the same bars: a session's bars never depend on another session's), keeps at most `max_bytes` of bars
(the days used longest ago go first), and serves several threads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from marketdata.bars import SessionBars, derive_bars
from marketdata.calendar import TradingCalendar
from marketdata.checks import BadBarCounts, clean_bars
from marketdata.quality import QualityReport, session_quality
from marketdata.store import BarStore
from specs.intervals import Interval
from statemachine.book import frozen

#: The default bound on the bars kept: some weeks of 1m history for a few hundred symbols.
DEFAULT_MAX_BYTES = 256 << 20

T = TypeVar("T")


@dataclass(frozen=True)
class StoredDay:
    """One intraday day file as the executor uses it: the usable rows and what was wrong with the others."""

    bars: SessionBars  # clean_bars' rows as read-only columns, pre- and post-market included
    flagged: BadBarCounts
    unsorted: int  # rows the store recorded as written out of order


def _nbytes(value: object) -> int:
    bars = value.bars if isinstance(value, StoredDay) else value
    if isinstance(bars, SessionBars):
        return sum(getattr(bars, name).nbytes for name in ("ts", "open", "high", "low", "close", "volume", "bar_close"))
    return 0


class StoreCache:
    """A run's view of its `BarStore` that reads and derives each thing once (see the module docstring)."""

    def __init__(self, store: BarStore, calendar: TradingCalendar, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.store = store
        self.calendar = calendar
        self.max_bytes = max_bytes
        self._listings: dict[tuple[str, ...], object] = {}
        self._bars: OrderedDict[tuple[str, str, dt.date], object] = OrderedDict()
        self._bytes = 0
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"StoreCache({self.store!r})"

    @property
    def root(self) -> Path:
        return self.store.root

    # -- what validation asks --------------------------------------------------------------------------

    def intervals(self, symbol: str) -> list[Interval]:
        return list(self._listing(("intervals", symbol), lambda: self.store.intervals(symbol)))

    def days(self, symbol: str, interval: Interval | str) -> list[dt.date]:
        interval = Interval(interval)
        return list(self._listing(("days", symbol, str(interval)), lambda: self.store.days(symbol, interval)))

    def _listing(self, key: tuple[str, ...], read: Callable[[], Iterable[T]]) -> tuple[T, ...]:
        with self._lock:
            if key not in self._listings:
                self._listings[key] = tuple(read())
            return self._listings[key]  # type: ignore[return-value]

    # -- what the executor reads -----------------------------------------------------------------------

    def day(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        """The day file of an intraday base interval, cleaned; None when the store has no file for the day."""
        return self._cached((symbol, str(interval), day), lambda: self._read_day(symbol, interval, day))

    def regular(self, symbol: str, interval: Interval, day: dt.date) -> SessionBars | None:
        """The day's regular-session bars of an intraday interval (derived ones from their base's regular
        bars, as the executor derives them), read-only; None when the base has no file for the day."""
        return self._cached((symbol, f"regular:{interval}", day), lambda: self._derive(symbol, interval, day))

    def quality(self, symbol: str, interval: Interval, day: dt.date) -> QualityReport:
        """The day's report as `historical_quality` makes it for a history holding the day: the quality of
        the day's regular-session bars (all of them that day's, so no local dates to look up)."""
        key = (symbol, f"quality:{interval}", day)
        return self._cached(key, lambda: self._quality(symbol, interval, day))

    def _quality(self, symbol: str, interval: Interval, day: dt.date) -> QualityReport:
        bars = self.regular(symbol, interval, day)
        assert bars is not None, f"{symbol} has no {interval} bars for {day}"
        return session_quality(bars.ts, self.calendar, day, interval)

    def _read_day(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        read = self.store.read_days(symbol, interval, [day])
        if read.missing_days:
            return None
        clean, flagged = clean_bars(read.table)
        bars = frozen(SessionBars.from_table(clean, interval, self.calendar))
        return StoredDay(bars, flagged, self.store.recorded_unsorted(symbol, interval, day))

    def _derive(self, symbol: str, interval: Interval, day: dt.date) -> SessionBars | None:
        if interval.is_base:
            stored = self.day(symbol, interval, day)
            source = stored.bars if stored is not None else None
        else:
            source = self.regular(symbol, interval.base, day)
        if source is None:
            return None
        return frozen(derive_bars(source, interval, self.calendar, day))

    def _cached(self, key: tuple[str, str, dt.date], make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._bars:
                self._bars.move_to_end(key)
                return self._bars[key]  # type: ignore[return-value]
            value = make()
            self._bars[key] = value  # type: ignore[assignment]
            self._bytes += _nbytes(value)
            while self._bytes > self.max_bytes and len(self._bars) > 1:
                _, dropped = self._bars.popitem(last=False)
                self._bytes -= _nbytes(dropped)
            return value
