"""The `BarSource` protocol: what the provisioning of a session asks of wherever its bars come from.

A source answers, per symbol: which intervals and which sessions it has (`intervals`, `days`), the
regular-session bars of N sessions (`history`, derived intervals derived as the batch path derives them),
one session day's base bars as received with what was wrong with them (`session`), the quality of a
history's sessions (`history_quality`), and the day's bars as they arrive (`subscribe`: a store plays the
day's bars in order; a live feed pushes them as they close). The run's cache over the Parquet store
(`marketdata.sources.storecache.StoreCache`) is one; the live feed is the next.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from marketdata.aggregator import DerivedBar
from marketdata.bars import SessionBars
from marketdata.checks import FlaggedRows
from marketdata.errors import MarketDataError
from marketdata.quality import HistoricalQuality
from specs.intervals import Interval


class MissingBarsError(MarketDataError, LookupError):
    """A source has no bars of `interval` for some of the sessions asked for (listed in `days`)."""

    def __init__(self, symbol: str, interval: Interval, days: Sequence[dt.date]) -> None:
        self.symbol, self.interval, self.days = symbol, interval, list(days)
        listed = ", ".join(str(d) for d in self.days)
        super().__init__(f"{symbol}: no {interval} bars in the store for {listed}")


@dataclass(frozen=True)
class StoredDay:
    """One session day's base bars as the source holds them: the usable rows and what was wrong with the others."""

    bars: SessionBars  # clean_bars' rows as read-only columns, pre- and post-market included
    flagged: FlaggedRows
    unsorted: int  # rows the store recorded as written out of order


class BarSource(Protocol):
    """Where a session's bars come from (see the module docstring)."""

    @property
    def location(self) -> str:
        """Where the bars are, for users (a path or a URL)."""
        ...

    def intervals(self, symbol: str) -> list[Interval]:
        """The base intervals the source has bars of for `symbol` (empty: the symbol is unknown)."""
        ...

    def days(self, symbol: str, interval: Interval | str) -> list[dt.date]:
        """The sessions the source has `symbol`'s bars of `interval` for, in order."""
        ...

    def history(self, symbol: str, interval: Interval, sessions: Sequence[dt.date]) -> SessionBars:
        """The regular-session bars of `interval` over `sessions`, read-only; MissingBarsError when some lack bars."""
        ...

    def session(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        """The session day's base bars as received (cleaned, extended hours kept); None when there are none."""
        ...

    def history_quality(
        self, symbol: str, interval: Interval, sessions: Sequence[dt.date], bars: SessionBars
    ) -> HistoricalQuality:
        """The quality of each session of a history whose regular-session bars are `bars`."""
        ...

    def subscribe(self, symbol: str, interval: Interval, day: dt.date) -> Iterator[DerivedBar]:
        """The day's bars of `interval` as they close, in order."""
        ...
