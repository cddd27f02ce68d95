"""Fast reads of the latest closed values, for plugins that read every symbol every minute.

`SessionView.indicator()` answers "the value at the last bar closed by now". Through the book that is a
time conversion, a binary search on a numpy array, a dict of numpy scalars and a NaN check per read; here
the day's part of each series is turned once into Python lists (the closes as ints, the values as floats
or None, the bars as tuples), so a read is a `bisect` on a short list and an index.

Nothing here can disagree with the book: a symbol's lists are built from its current `SymbolBook` and
built again whenever the book's entry for the symbol is replaced (entries are immutable and replaced
whole on every commit), and the answer for a time is the same function of the same arrays as
`IndicatorSeries.value_at(SymbolBook.indicator_index(...))`.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from bisect import bisect_right
from typing import NamedTuple

import numpy as np

from marketdata.timestamps import as_ns
from statemachine.book import IndicatorSeries, IndicatorValueType, IntervalSeries, SymbolBook


class LatestBar(NamedTuple):
    """One closed bar: open time and close time in ns since the epoch (UTC), prices and volume."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    bar_close: int


class _IndicatorReads:
    __slots__ = ("closes", "values")

    def __init__(self, indicator: IndicatorSeries, closes: list[int]) -> None:
        self.closes = closes
        # values[i] is the value once i of the day's bars have closed: index history_bars - 1 + i of the series
        first = indicator.history_bars - 1
        head: list[IndicatorValueType] = []
        if first < 0:
            head, first = [None], 0
        self.values = head + _values(indicator, first)


def _values(indicator: IndicatorSeries, first: int) -> list[IndicatorValueType]:
    columns = {name: column[first:].tolist() for name, column in indicator.values.items()}
    if len(columns) == 1:
        (column,) = columns.values()
        return [None if math.isnan(v) else v for v in column]
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    return [None if any(math.isnan(v) for v in row) else dict(zip(names, row, strict=True)) for row in rows]


class _SymbolReads:
    """One book entry's lists. It holds the entry only weakly: the day's arrays go when the book drops them
    (at the end of the day), not when the garbage collector next breaks the coordinator's reference cycle."""

    __slots__ = ("book", "closes", "indicators", "latest")

    def __init__(self, book: SymbolBook) -> None:
        self.book = weakref.ref(book)
        self.closes: dict[str, list[int]] = {}
        self.indicators: dict[str, _IndicatorReads] = {}
        self.latest: dict[str, tuple[list[LatestBar], list[int]]] = {}

    def interval_closes(self, interval: str) -> list[int]:
        closes = self.closes.get(interval)
        if closes is None:
            closes = self.closes[interval] = self._book().intervals[interval].bars.bar_close.tolist()
        return closes

    def indicator(self, key: str) -> _IndicatorReads | None:
        reads = self.indicators.get(key)
        if reads is None:
            indicator = self._book().indicators.get(key)
            if indicator is None:
                return None
            interval = str(indicator.spec.interval)
            reads = self.indicators[key] = _IndicatorReads(indicator, self.interval_closes(interval))
        return reads

    def latest_lists(self, interval: str) -> tuple[list[LatestBar], list[int]]:
        """The interval's bars as tuples and their close times, built once."""
        lists = self.latest.get(interval)
        if lists is None:
            lists = (_bar_tuples(self._book().intervals[interval]), self.interval_closes(interval))
            self.latest[interval] = lists
        return lists

    def _book(self) -> SymbolBook:
        book = self.book()
        assert book is not None, "read through a book entry that is gone"
        return book


def _bar_tuples(series: IntervalSeries) -> list[LatestBar]:
    b = series.bars
    columns = (b.ts, b.open, b.high, b.low, b.close, b.volume, b.bar_close)
    return [LatestBar(*row) for row in zip(*(c.tolist() for c in columns), strict=True)]


class LatestReads:
    """The latest-value reads of one coordinator's book; lists built lazily per symbol and entry."""

    __slots__ = ("_by_symbol", "_t", "_t_ns")

    def __init__(self) -> None:
        self._by_symbol: dict[str, _SymbolReads] = {}
        self._t: dt.datetime | None = None
        self._t_ns = 0

    def _now_ns(self, now: dt.datetime) -> int:
        if now is not self._t:
            self._t_ns = as_ns(now)
            self._t = now
        return self._t_ns

    def _symbol(self, symbol: str, book: SymbolBook) -> _SymbolReads:
        reads = self._by_symbol.get(symbol)
        if reads is None or reads.book() is not book:
            reads = self._by_symbol[symbol] = _SymbolReads(book)
        return reads

    def indicator(self, book: SymbolBook | None, symbol: str, key: str, now: dt.datetime) -> IndicatorValueType:
        """The value at the last bar closed by `now` (at the open: the last history bar's); None if undefined."""
        if book is None:
            return None
        reads = self._by_symbol.get(symbol)
        if reads is None or reads.book() is not book:
            reads = self._symbol(symbol, book)
        indicator = reads.indicators.get(key) or reads.indicator(key)
        if indicator is None:
            return None
        t_ns = self._t_ns if now is self._t else self._now_ns(now)
        return indicator.values[bisect_right(indicator.closes, t_ns)]

    def indicator_all(self, books: dict[str, SymbolBook], symbols: list[str], key: str, now: dt.datetime) -> np.ndarray:
        """The single-output indicator's value for each of `symbols`, NaN where it is undefined or absent
        (`indicator` for each, its lookups inlined: this is the read a universe scan makes every minute)."""
        t_ns = self._t_ns if now is self._t else self._now_ns(now)
        out = np.full(len(symbols), math.nan)
        by_symbol = self._by_symbol
        for position, symbol in enumerate(symbols):
            book = books.get(symbol)
            if book is None:
                continue
            reads = by_symbol.get(symbol)
            if reads is None or reads.book() is not book:
                reads = self._symbol(symbol, book)
            indicator = reads.indicators.get(key) or reads.indicator(key)
            if indicator is None:
                continue
            value = indicator.values[bisect_right(indicator.closes, t_ns)]
            if value is None:
                continue
            if isinstance(value, dict):
                raise KeyError(f"{key} has several outputs ({', '.join(value)}): read it per symbol")
            out[position] = value
        return out

    def last_bar(self, book: SymbolBook, symbol: str, interval: str, now: dt.datetime) -> LatestBar | None:
        """The last bar of `interval` closed by `now`, None before the first (the book must have the interval)."""
        reads = self._by_symbol.get(symbol)
        if reads is None or reads.book() is not book:
            reads = self._symbol(symbol, book)
        bars, closes = reads.latest.get(interval) or reads.latest_lists(interval)
        count = bisect_right(closes, self._t_ns if now is self._t else self._now_ns(now))
        return bars[count - 1] if count else None
