"""The runtime book: the bar and indicator arrays behind a session day's metadata.

`SessionState` says what exists; the book holds the numbers. Per symbol it keeps, per interval, the
WHOLE session day's regular-session bars as columns (`SessionBars`, derived intervals derived from their
base), the history per base interval, and per indicator its batch-computed values over history + the
day as one continuous series (so the warm-up and the day never disagree). Every array is read-only.

Backtest streaming then moves nothing but the clock: what may be seen at time t is found by a binary
search on the bars' close times (`closed_count`), never by copying or appending bars, which is what
makes a day of a hundred symbols stream at millions of base bars per second.

Provisioning is staged: the executor works on `Book.stage(symbol)`, a copy of the symbol's entry whose
dicts are new and whose arrays are shared (they are immutable), and the coordinator `commit`s it only
when every step succeeded. A failed request leaves the committed entry exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.checks import FlaggedRows
from marketdata.indicators import compute
from marketdata.timestamps import NS_PER_SECOND, as_ns, utc_datetime
from specs.indicators import IndicatorSpec
from specs.intervals import Interval

_FIELDS = ("ts", "open", "high", "low", "close", "volume", "bar_close")

IndicatorValueType = float | dict[str, float] | None


def closed_copy(bars: SessionBars, n: int) -> SessionBars:
    """The first `n` bars as fresh read-only arrays that share no memory with the book (no `.base` to walk)."""
    columns = []
    for name in _FIELDS:
        column = np.array(getattr(bars, name)[:n], copy=True)
        column.setflags(write=False)
        columns.append(column)
    return SessionBars(*columns)


def bars_digest(bars: SessionBars) -> str:
    """sha256 of the bars' columns (ts, open, high, low, close, volume), to spot changed data on replay."""
    digest = hashlib.sha256(f"bars:{len(bars)}".encode())
    # the contiguous arrays' own buffers, not `.tobytes()` copies of them: the same bytes, hashed in place
    digest.update(np.ascontiguousarray(bars.ts, dtype="<i8").data)
    for name in ("open", "high", "low", "close", "volume"):
        digest.update(np.ascontiguousarray(getattr(bars, name), dtype="<f8").data)
    return digest.hexdigest()


@dataclass(frozen=True)
class IntervalSeries:
    """One interval's bars for the whole session day (regular session), ordered by open time."""

    interval: Interval
    bars: SessionBars

    def closed_count(self, t_ns: int) -> int:
        """How many bars have closed by `t_ns` (their close time at or before it)."""
        return int(np.searchsorted(self.bars.bar_close, t_ns, "right"))


@dataclass(frozen=True)
class HistorySeries:
    """A base interval's regular-session bars over the sessions before the day."""

    interval: Interval
    sessions: tuple[dt.date, ...]
    bars: SessionBars


@dataclass(frozen=True)
class IndicatorSeries:
    """An indicator's outputs over history + the day; `history_bars` of them come before the open."""

    spec: IndicatorSpec
    values: dict[str, np.ndarray]
    closes: np.ndarray
    history_bars: int

    def value_at(self, index: int) -> IndicatorValueType:
        """The value after bar `index` of the whole series (None before the first bar or while undefined)."""
        if index < 0:
            return None
        outputs = {name: float(column[index]) for name, column in self.values.items()}
        if any(math.isnan(v) for v in outputs.values()):
            return None
        if len(outputs) == 1:
            return next(iter(outputs.values()))
        return outputs

    def valid_at(self, index: int) -> bool:
        """Warm: at least `warmup_bars` bars went into the value, and it is defined."""
        return index + 1 >= self.spec.warmup_bars() and self.value_at(index) is not None

    def time_at(self, index: int) -> dt.datetime | None:
        return utc_datetime(int(self.closes[index])) if index >= 0 else None

    def index_for_day(self, closed_today: int) -> int:
        """The series index of the last bar closed when `closed_today` of the day's bars have closed."""
        return self.history_bars + closed_today - 1


def compute_indicator(
    spec: IndicatorSpec, history: SessionBars, day: SessionBars, calendar: TradingCalendar
) -> IndicatorSeries:
    """The indicator's batch form over history then the whole day, as one series (warm-up and day agree)."""
    series = SessionBars.concat([history, day])
    result = compute(spec, series, calendar)
    values = {}
    for name in spec.outputs:
        column = np.ascontiguousarray(result.outputs[name], dtype=np.float64)
        column.setflags(write=False)
        values[name] = column
    closes = np.array(series.bar_close, copy=True)
    closes.setflags(write=False)
    return IndicatorSeries(spec, values, closes, len(history))


@dataclass
class SymbolBook:
    """One symbol's arrays: bars per interval, history per base interval, indicators, and per base interval the
    session's raw times (its day file's usable rows, pre- and post-market included), where its bad rows lie
    and how many rows the store recorded as written out of order."""

    intervals: dict[str, IntervalSeries] = field(default_factory=dict)
    histories: dict[str, HistorySeries] = field(default_factory=dict)
    indicators: dict[str, IndicatorSeries] = field(default_factory=dict)
    session_ts: dict[str, np.ndarray] = field(default_factory=dict)
    flagged: dict[str, FlaggedRows] = field(default_factory=dict)
    unsorted: dict[str, int] = field(default_factory=dict)

    def copy(self) -> SymbolBook:
        """New dicts over the same immutable entries: a staging area that cannot touch the original."""
        return SymbolBook(
            dict(self.intervals),
            dict(self.histories),
            dict(self.indicators),
            dict(self.session_ts),
            dict(self.flagged),
            dict(self.unsorted),
        )

    def flagged_by(self, interval: str, t: dt.datetime) -> dict[str, int]:
        """The session's bad rows of a base interval among the bars closed by `t`, by reason."""
        rows = self.flagged.get(interval)
        if rows is None:
            return {}
        return rows.closed_by(as_ns(t), self.intervals[interval].interval.seconds * NS_PER_SECOND)

    def day_flagged(self, interval: str) -> dict[str, int]:
        """The whole day file's bad rows of a base interval, by reason, with the rows recorded out of order."""
        rows = self.flagged.get(interval)
        counts = rows.counts() if rows is not None else {}
        unsorted = self.unsorted.get(interval, 0)
        if unsorted:
            counts["unsorted"] = counts.get("unsorted", 0) + unsorted
        return dict(sorted(counts.items()))

    def closed_bars(self, interval: str, t: dt.datetime) -> SessionBars:
        """The bars of `interval` closed by `t`, as copies."""
        series = self.intervals[interval]
        return closed_copy(series.bars, series.closed_count(as_ns(t)))

    def closed_counts(self, t: dt.datetime) -> dict[str, int]:
        t_ns = as_ns(t)
        return {key: series.closed_count(t_ns) for key, series in self.intervals.items()}

    def indicator_index(self, key: str, t: dt.datetime) -> int:
        """The series index of the indicator's value at `t` (the last closed bar's, or the open's)."""
        indicator = self.indicators[key]
        series = self.intervals[str(indicator.spec.interval)]
        return indicator.index_for_day(series.closed_count(as_ns(t)))


class Book:
    """Every symbol's SymbolBook for one day; entries change only by `commit` (whole-entry swaps)."""

    def __init__(self) -> None:
        self._symbols: dict[str, SymbolBook] = {}
        self._lock = threading.Lock()

    def get(self, symbol: str) -> SymbolBook | None:
        return self._symbols.get(symbol)

    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    def entries(self) -> dict[str, SymbolBook]:
        """Every symbol's entry as it stands now (a copy of the mapping: later commits do not change it)."""
        return dict(self._symbols)

    def stage(self, symbol: str) -> SymbolBook:
        """A staging copy of the symbol's entry (empty for a new symbol)."""
        current = self._symbols.get(symbol)
        return current.copy() if current is not None else SymbolBook()

    def commit(self, symbol: str, staged: SymbolBook) -> None:
        with self._lock:
            self._symbols[symbol] = staged

    def drop(self, symbol: str) -> None:
        with self._lock:
            self._symbols.pop(symbol, None)

    def clear(self) -> None:
        with self._lock:
            self._symbols.clear()
