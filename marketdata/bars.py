"""Bars as columns, and bars of longer intervals derived from them.

A session's bars are numpy arrays (`SessionBars`), never a Python object per bar. Derived bars are
anchored to the session open (09:30, 09:35, ... for 5m on XNYS), the last bar of a session is cut at its
close (13:00 on an early close), no bar spans two sessions, and only regular-session base bars take part.
open is the first open, high the max, low the min, close the last close, volume the sum; a derived bar whose
base bars are partly missing is built from those present, one with none does not exist.

Three forms give the same bars:

- `derive_bars` / `derive_sessions`: batch, vectorised (searchsorted and ufunc.reduceat); the backtest
  derives a whole session this way at the load and streams it by revealing each bar once it has closed;
- `IncrementalAggregator`: one symbol fed one base bar at a time, emitting each bar when it closes;
- `ColumnarAggregator`: N symbols stepped together by a clock, a constant number of numpy calls per step
  whatever N is. The two incremental forms are held to the batch one by the tests and measured by the
  benchmarks; no production path steps them yet.

Every bar carries its own close time (`bar_close`): open + interval, cut at the session close. A bar is
visible only once the clock has reached its close (`SessionBars.closed_by`), so nothing reads a bar early.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketdata.calendar import TradingCalendar
from marketdata.errors import MarketDataError
from specs.intervals import Interval

NS_PER_SECOND = 1_000_000_000
_NS_PER_DAY = 86_400 * NS_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = ("open", "high", "low", "close", "volume")
_FIELDS = ("ts", *_COLUMNS, "bar_close")


class BarDataError(MarketDataError, ValueError):
    """Bars that cannot be derived as given (unsorted, mismatched columns, an interval that has no derivation)."""


# -- time conversions ------------------------------------------------------------------------------------


def as_ns(t: Any) -> int:
    """One instant as nanoseconds since the epoch (UTC): an aware datetime, a naive one (taken as UTC),
    a numpy datetime64 or an int already in ns."""
    if isinstance(t, datetime):
        aware = t.replace(tzinfo=UTC) if t.tzinfo is None else t
        ns = (aware - _EPOCH) // timedelta(microseconds=1) * 1000
        return ns + getattr(t, "nanosecond", 0)  # pandas.Timestamp keeps sub-microsecond digits
    if isinstance(t, np.datetime64):
        return int(t.astype("datetime64[ns]").astype(np.int64))
    if isinstance(t, int | np.integer):
        return int(t)
    raise TypeError(f"expected a datetime, numpy datetime64 or int nanoseconds, got {t!r}")


def as_ns_array(values: Any) -> np.ndarray:
    """Timestamps as an int64 array of ns since the epoch (UTC) from arrow, numpy datetime64 or int arrays
    (or, slowly, a sequence of datetimes)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if not pa.types.is_timestamp(values.type):
            raise BarDataError(f"expected a timestamp column, got {values.type}")
        if values.type.unit != "ns":
            values = values.cast(pa.timestamp("ns", tz=values.type.tz))
        elif values.null_count == 0:
            return values.to_numpy().view(np.int64)  # what the cast gives, without a compute call
        return np.asarray(values.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return array.astype("datetime64[ns]").view(np.int64)
    if array.dtype.kind in "iu" or array.size == 0:
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "O" and array.ndim == 1:
        try:
            return np.array([as_ns(value) for value in array.tolist()], dtype=np.int64)
        except TypeError:
            pass
    raise BarDataError(f"expected timestamps (datetime64 or int64 ns), got an array of {array.dtype}")


def utc_datetime(ns: int) -> datetime:
    """The aware UTC datetime of ns since the epoch (to the microsecond)."""
    return _EPOCH + timedelta(microseconds=int(ns) // 1000)


def local_days(ts_ns: np.ndarray, calendar: TradingCalendar) -> np.ndarray:
    """The exchange-local calendar date of each timestamp, as int64 days since 1970-01-01."""
    if len(ts_ns) == 0:
        return np.empty(0, dtype=np.int64)
    utc = pa.array(ts_ns.view("datetime64[ns]"), type=pa.timestamp("ns", tz=str(calendar.tz)))
    local = pc.local_timestamp(utc).cast(pa.int64()).to_numpy()
    return np.floor_divide(local, _NS_PER_DAY)


def session_bounds(calendar: TradingCalendar, sessions: Sequence[date]) -> tuple[np.ndarray, np.ndarray]:
    """Open and close (ns UTC) of each session, as two read-only int64 arrays (cached: a year of sessions
    costs a calendar lookup each, and every symbol of a session day asks for the same ones)."""
    return _session_bounds(calendar, tuple(sessions))


@lru_cache(maxsize=256)
def _session_bounds(calendar: TradingCalendar, sessions: tuple[date, ...]) -> tuple[np.ndarray, np.ndarray]:
    bounds = np.array([calendar.open_close_ns(day) for day in sessions], dtype=np.int64).reshape(-1, 2)
    opens, closes = bounds[:, 0].copy(), bounds[:, 1].copy()
    opens.setflags(write=False)
    closes.setflags(write=False)
    return opens, closes


# -- the columnar bars -----------------------------------------------------------------------------------


def _float_column(values: Any, name: str) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise BarDataError(f"bar column {name!r} must be one-dimensional, got shape {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class SessionBars:
    """Bars of one symbol as columns: `ts` (bar open) and `bar_close` in int64 ns UTC, prices and volume float64.

    Ascending by `ts`. Usually one session's bars; the multi-session results of `derive_sessions` use the
    same shape. `bar_close` is each bar's own close (open + interval, cut at the session close).
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bar_close: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", as_ns_array(self.ts))
        object.__setattr__(self, "bar_close", as_ns_array(self.bar_close))
        for name in _COLUMNS:
            object.__setattr__(self, name, _float_column(getattr(self, name), name))
        lengths = {name: len(getattr(self, name)) for name in ("ts", *_COLUMNS, "bar_close")}
        if len(set(lengths.values())) != 1:
            raise BarDataError(f"bar columns differ in length: {lengths}")

    # -- construction --------------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> SessionBars:
        nothing = np.empty(0, dtype=np.float64)
        ns = np.empty(0, dtype=np.int64)
        return cls(ns, nothing, nothing, nothing, nothing, nothing, ns)

    @classmethod
    def from_arrays(
        cls,
        ts: Any,
        open: Any,
        high: Any,
        low: Any,
        close: Any,
        volume: Any,
        *,
        interval: Interval | str = "1m",
        bar_close: Any = None,
        calendar: TradingCalendar | None = None,
    ) -> SessionBars:
        """Bars from columns; without `bar_close`, see `nominal_closes` for how the close times are set."""
        ts_ns = as_ns_array(ts)
        closes = nominal_closes(ts_ns, interval, calendar) if bar_close is None else as_ns_array(bar_close)
        return cls(ts_ns, open, high, low, close, volume, closes)

    @classmethod
    def from_table(
        cls, table: pa.Table, interval: Interval | str = "1m", calendar: TradingCalendar | None = None
    ) -> SessionBars:
        """Bars from a BAR_SCHEMA table holding bars of `interval` (1m unless told)."""
        missing = [name for name in ("ts", *_COLUMNS) if name not in table.column_names]
        if missing:
            raise BarDataError(f"bar table lacks column(s) {', '.join(missing)}")
        columns = {name: table.column(name) for name in ("ts", *_COLUMNS)}
        return cls.from_arrays(**columns, interval=interval, calendar=calendar)

    @classmethod
    def concat(cls, parts: Iterable[SessionBars]) -> SessionBars:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls._checked(*(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS))

    @classmethod
    def _checked(cls, *columns: np.ndarray) -> SessionBars:
        """Bars from columns cut or joined from SessionBars' own, which `__post_init__` has checked already
        (int64 times, float64 values, one dimension, equal lengths): the same bars, without checking again."""
        bars = object.__new__(cls)
        for name, column in zip(_FIELDS, columns, strict=True):
            object.__setattr__(bars, name, column)
        return bars

    # -- views ---------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, index: slice | np.ndarray) -> SessionBars:
        if isinstance(index, int | np.integer):
            raise TypeError("SessionBars is indexed by slices or masks, not single bars")
        if isinstance(index, slice):
            return SessionBars._checked(*(getattr(self, name)[index] for name in _FIELDS))
        return SessionBars(*(getattr(self, name)[index] for name in _FIELDS))

    def closed_by(self, t: Any) -> SessionBars:
        """The bars whose close is at or before `t`: what may be seen at time `t` without looking ahead."""
        end = int(np.searchsorted(self.bar_close, as_ns(t), "right"))
        return self[:end]

    def between(self, start: Any, end: Any) -> SessionBars:
        """The bars that open in [start, end)."""
        lo, hi = np.searchsorted(self.ts, [as_ns(start), as_ns(end)], "left")
        return self[int(lo) : int(hi)]

    def to_table(self) -> pa.Table:
        """A BAR_SCHEMA table (ts, open, high, low, close, volume); `bar_close` is not part of the store's schema."""
        ts = pa.array(self.ts, type=pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
        arrays = [ts, *(pa.array(getattr(self, name), type=pa.float64()) for name in _COLUMNS)]
        return pa.Table.from_arrays(arrays, names=["ts", *_COLUMNS])

    def equals(self, other: SessionBars) -> bool:
        """Same bars, bit for bit (NaN equal to NaN)."""
        return len(self) == len(other) and all(
            np.array_equal(getattr(self, name), getattr(other, name), equal_nan=name in _COLUMNS)
            for name in ("ts", *_COLUMNS, "bar_close")
        )


def nominal_closes(ts_ns: np.ndarray, interval: Interval | str, calendar: TradingCalendar | None) -> np.ndarray:
    """Close times for bars of `interval` opening at `ts_ns`.

    Intraday: open + interval, cut at the close of the session that holds the bar when a calendar is given.
    Daily bars (ts = the session date at 00:00 exchange time): the session close with a calendar, else
    ts + 1 day. Weekly bars: the close of the last session of the week with a calendar, else ts + 7 days.
    """
    interval = Interval(interval)
    length = interval.seconds * NS_PER_SECOND
    closes = ts_ns + length
    if calendar is None or len(ts_ns) == 0:
        return closes
    if interval.is_intraday:
        opens, session_closes = session_bounds(calendar, _sessions_spanning(ts_ns, calendar))
        if len(opens) == 0:
            return closes
        idx = np.searchsorted(opens, ts_ns, "right")
        idx -= 1
        np.maximum(idx, 0, out=idx)  # a bar before the first open compares with it and is outside
        cut = session_closes[idx]
        inside = ts_ns >= opens[idx]
        inside &= ts_ns < cut
        np.minimum(closes, cut, out=closes, where=inside)
        return closes
    days = local_days(ts_ns, calendar)
    if interval.unit == "w":
        days = _week_of(days) * 7 - 3 + 6  # the Sunday that ends each Monday-based week
    last_sessions = [_last_session_on_or_before(calendar, d) for d in _dates(days)]
    return np.array([calendar.open_close_ns(d)[1] for d in last_sessions], dtype=np.int64)


def _sessions_spanning(ts_ns: np.ndarray, calendar: TradingCalendar) -> list[date]:
    """Every session dated from the exchange-local day of the earliest timestamp to that of the latest.

    A superset of the sessions holding the bars, found with two time-zone conversions rather than one per bar;
    sessions never overlap, so a bar finds the same session among them.
    """
    first = calendar.local_date(utc_datetime(int(ts_ns.min())))
    last = calendar.local_date(utc_datetime(int(ts_ns.max())))
    return calendar.sessions(first, last)


def _dates(days: np.ndarray) -> list[date]:
    return [d.item() for d in np.asarray(days, dtype=np.int64).astype("datetime64[D]")]


def _last_session_on_or_before(calendar: TradingCalendar, day: date) -> date:
    if day > calendar.last_session:
        day = calendar.last_session
    return day if calendar.is_session(day) else calendar.previous_session(day)


def _week_of(days: np.ndarray) -> np.ndarray:
    """Monday-based week number of days since the epoch (1970-01-01 was a Thursday)."""
    return (days + 3) // 7


# -- batch derivation ------------------------------------------------------------------------------------


def _as_bars(base: SessionBars | pa.Table, interval: Interval) -> SessionBars:
    if isinstance(base, SessionBars):
        return base
    if isinstance(base, pa.Table):
        return SessionBars.from_table(base, interval.base)
    raise TypeError(f"expected SessionBars or a pyarrow Table of bars, got {type(base).__name__}")


def _check_sorted(ts: np.ndarray) -> None:
    if len(ts) > 1 and bool(np.any(ts[1:] < ts[:-1])):
        first = int(np.flatnonzero(ts[1:] < ts[:-1])[0]) + 1
        raise BarDataError(
            f"base bars are not sorted by ts: row {first} ({utc_datetime(int(ts[first])).isoformat()}) comes after "
            f"{utc_datetime(int(ts[first - 1])).isoformat()}; sort them (marketdata.checks.clean_bars) first"
        )


def _check_derivable(interval: Interval) -> None:
    if interval.unit == "d" and interval.count != 1:
        raise BarDataError(f"cannot derive {interval}: day bars come from the store as 1d; derived are 1w and shorter")


def _aggregate(bars: SessionBars, starts: np.ndarray, bar_ts: np.ndarray, bar_close: np.ndarray) -> SessionBars:
    """One bar per group of consecutive rows beginning at each of `starts`.

    When every group is a single row (1m bars from 1m bars) the bars are the rows: their price and volume
    columns are returned as they are, shared with `bars`, not copied.
    """
    if len(starts) == 0:
        return SessionBars.empty()
    if len(starts) == len(bars):
        return SessionBars(bar_ts, bars.open, bars.high, bars.low, bars.close, bars.volume, bar_close)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = len(bars)
    return SessionBars(
        ts=bar_ts,
        open=bars.open[starts],
        high=np.maximum.reduceat(bars.high, starts),
        low=np.minimum.reduceat(bars.low, starts),
        close=bars.close[ends - 1],
        volume=np.add.reduceat(bars.volume, starts),
        bar_close=bar_close,
    )


def _group_starts(*keys: np.ndarray) -> np.ndarray:
    n = len(keys[0])
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
        for key in keys:
            change[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(change)


def derive_sessions(
    base: SessionBars | pa.Table, interval: Interval | str, calendar: TradingCalendar, sessions: Sequence[date]
) -> SessionBars:
    """Bars of `interval` over several sessions at once, from their base bars (1m, 1s or 1d as the interval needs).

    Base bars outside the regular sessions listed are ignored. Intraday bars are anchored at each session's
    open and cut at its close; a 1w bar holds the daily bars of one Monday-based week, opens at the first
    session of that week (ts = its date at 00:00 exchange time, like daily bars) and closes with its last.
    """
    interval = Interval(interval)
    _check_derivable(interval)
    bars = _as_bars(base, interval)
    _check_sorted(bars.ts)
    sessions = sorted(set(sessions))
    if not sessions or len(bars) == 0:
        return SessionBars.empty()
    if interval.is_intraday:
        return _derive_intraday(bars, interval, calendar, sessions)
    return _derive_daily(bars, interval, calendar, sessions)


def derive_bars(
    base: SessionBars | pa.Table, interval: Interval | str, calendar: TradingCalendar, session: date
) -> SessionBars:
    """Bars of `interval` for one session (see `derive_sessions`)."""
    return derive_sessions(base, interval, calendar, [session])


def _derive_intraday(
    bars: SessionBars, interval: Interval, calendar: TradingCalendar, sessions: list[date]
) -> SessionBars:
    opens, closes = session_bounds(calendar, sessions)
    step = interval.seconds * NS_PER_SECOND
    ts = bars.ts
    first = np.searchsorted(ts, opens, "left")
    stop = np.searchsorted(ts, closes, "left")
    counts = stop - first
    if int(counts.sum()) != len(ts):
        edges = np.zeros(len(ts) + 1, dtype=np.int64)
        np.add.at(edges, first, 1)
        np.add.at(edges, stop, -1)
        bars = bars[np.cumsum(edges[:-1]) > 0]
        ts = bars.ts
    if len(ts) == 0:
        return SessionBars.empty()
    session_open = np.repeat(opens, counts)
    slot = ts - session_open
    if (len(ts) == 1 or bool(np.all(ts[1:] > ts[:-1]))) and not np.remainder(slot, step).any():
        # each base bar opens its own bar: the rows are the bars, only their close times are new
        bar_close = np.repeat(closes, counts)
        np.minimum(bar_close, ts + step, out=bar_close)
        return SessionBars(ts, bars.open, bars.high, bars.low, bars.close, bars.volume, bar_close)
    slot //= step
    # one number per (session, slot): slots never reach the next session's offset
    slots_per_session = -(-(closes - opens) // step)
    key = slot + np.repeat(np.cumsum(slots_per_session) - slots_per_session, counts)
    starts = _group_starts(key)
    bar_ts = session_open[starts] + slot[starts] * step
    session_close = closes[np.searchsorted(np.cumsum(counts), starts, "right")]
    return _aggregate(bars, starts, bar_ts, np.minimum(bar_ts + step, session_close))


def _derive_daily(
    bars: SessionBars, interval: Interval, calendar: TradingCalendar, sessions: list[date]
) -> SessionBars:
    days = local_days(bars.ts, calendar)
    session_days = np.array([np.datetime64(d, "D").astype(np.int64) for d in sessions], dtype=np.int64)
    keep = np.isin(days, session_days)
    if not keep.all():
        bars, days = bars[keep], days[keep]
    if len(bars) == 0:
        return SessionBars.empty()
    if interval.unit == "d":
        closes = np.array([calendar.open_close_ns(d)[1] for d in _dates(days)], dtype=np.int64)
        return SessionBars(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, closes)
    weeks = _week_of(days)
    starts = _group_starts(weeks)
    week_ts, week_close = [], []
    for week in weeks[starts].tolist():
        monday = np.datetime64(week * 7 - 3, "D").item()
        in_week = calendar.sessions(max(monday, calendar.first_session), monday + timedelta(days=6))
        first, last = in_week[0], in_week[-1]
        week_ts.append(as_ns(datetime(first.year, first.month, first.day, tzinfo=calendar.tz)))
        week_close.append(calendar.open_close_ns(last)[1])
    return _aggregate(bars, starts, np.array(week_ts, dtype=np.int64), np.array(week_close, dtype=np.int64))


# -- incremental, one symbol -----------------------------------------------------------------------------


class DerivedBar(NamedTuple):
    """One completed bar of the incremental aggregator (times in ns UTC)."""

    ts: int
    bar_close: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def _nan_max(a: float, b: float) -> float:
    """max() that propagates NaN like numpy's maximum, so bad bars derive the same in every form."""
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


def _check_intraday(interval: Interval, what: str) -> None:
    if not interval.is_intraday:
        raise BarDataError(f"{what} derives intraday bars within one session; {interval} needs derive_sessions")


class IncrementalAggregator:
    """One symbol's bars of `interval` in one session, fed base bars in time order, emitting each bar as it closes.

    A bar closes when the base bar that ends at its close arrives; when that base bar is missing, the bar is
    emitted by the first later base bar, by `advance(t)` once the clock passes its close, or by `flush()`.
    Base bars outside the regular session are ignored. Gives exactly the bars of `derive_bars`.
    """

    def __init__(self, interval: Interval | str, calendar: TradingCalendar, session: date) -> None:
        self.interval = Interval(interval)
        _check_intraday(self.interval, "IncrementalAggregator")
        self.session = session
        self._open, self._close = calendar.open_close_ns(session)
        self._step = self.interval.seconds * NS_PER_SECOND
        self._base_step = self.interval.base.seconds * NS_PER_SECOND
        self._slot = -1
        self._last_ts = -(2**63)
        self._bar: list[float] = []

    def _slot_close(self, slot: int) -> int:
        return min(self._open + (slot + 1) * self._step, self._close)

    def _emit(self) -> DerivedBar:
        o, h, lo, c, v = self._bar
        slot = self._slot
        self._bar = []
        return DerivedBar(self._open + slot * self._step, self._slot_close(slot), o, h, lo, c, v)

    def push(
        self, ts: Any, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[DerivedBar, ...]:
        """Fold in one base bar (ts = its open); returns the bars that closed with it (none, one, or two when the
        previous bar lacked its last base bar and this one completes its own)."""
        t = as_ns(ts)
        if t < self._last_ts:
            raise BarDataError(
                f"base bar at {utc_datetime(t).isoformat()} arrived after {utc_datetime(self._last_ts).isoformat()}"
            )
        self._last_ts = t
        if t < self._open or t >= self._close:
            return ()
        slot = (t - self._open) // self._step
        done: tuple[DerivedBar, ...] = ()
        if self._bar and slot != self._slot:
            done = (self._emit(),)
        if not self._bar:
            self._slot = slot
            self._bar = [float(open), float(high), float(low), float(close), float(volume)]
        else:
            bar = self._bar
            bar[1] = _nan_max(bar[1], float(high))
            bar[2] = -_nan_max(-bar[2], -float(low))
            bar[3] = float(close)
            bar[4] += float(volume)
        if t + self._base_step >= self._slot_close(slot):
            done = (*done, self._emit())
        return done

    def advance(self, t: Any) -> tuple[DerivedBar, ...]:
        """The pending bar, if the clock at `t` has reached its close (its last base bar never came)."""
        if self._bar and as_ns(t) >= self._slot_close(self._slot):
            return (self._emit(),)
        return ()

    def flush(self) -> DerivedBar | None:
        """At the session close: the pending bar, if any."""
        return self._emit() if self._bar else None

    @property
    def pending(self) -> DerivedBar | None:
        """The bar being built (not yet closed), for display; None between bars."""
        if not self._bar:
            return None
        o, h, lo, c, v = self._bar
        return DerivedBar(self._open + self._slot * self._step, self._slot_close(self._slot), o, h, lo, c, v)


def bars_from_derived(derived: Sequence[DerivedBar]) -> SessionBars:
    """The emitted bars of an IncrementalAggregator as columns."""
    if not derived:
        return SessionBars.empty()
    ts, closes, o, h, lo, c, v = (np.array(col) for col in zip(*derived, strict=True))
    return SessionBars(ts, o, h, lo, c, v, closes)


# -- incremental, N symbols at once ----------------------------------------------------------------------


class ColumnarAggregator:
    """N symbols' bars of `interval` in one session, updated per clock step with a fixed number of numpy calls.

    The state is the session's derived bars as (bars x symbols) arrays: row k is the bar opening at
    open + k * interval. `step(ts, ...)` folds in the base bars of all symbols at clock step `ts` (a mask says
    who has one) and returns the rows that closed with it. Row k of `open`, `high`, ... is final once
    returned; `present[k, i]` says whether symbol i has that bar at all (an absent bar's cells are NaN once
    closed; while open, its high and low hold -inf and +inf). Identical to `derive_bars` per symbol.
    """

    def __init__(self, interval: Interval | str, calendar: TradingCalendar, session: date, n_symbols: int) -> None:
        self.interval = Interval(interval)
        _check_intraday(self.interval, "ColumnarAggregator")
        self.session = session
        self.n_symbols = n_symbols
        self._open, self._close = calendar.open_close_ns(session)
        self._step = self.interval.seconds * NS_PER_SECOND
        self._base_step = self.interval.base.seconds * NS_PER_SECOND
        n_bars = -(-(self._close - self._open) // self._step)
        self.bar_ts = self._open + np.arange(n_bars, dtype=np.int64) * self._step
        self.bar_close = np.minimum(self.bar_ts + self._step, self._close)
        shape = (n_bars, n_symbols)
        self.open = np.full(shape, np.nan)
        self.high = np.full(shape, -np.inf)
        self.low = np.full(shape, np.inf)
        self.close = np.full(shape, np.nan)
        self.volume = np.zeros(shape)
        self.present = np.zeros(shape, dtype=bool)
        self._all = np.ones(n_symbols, dtype=bool)
        self._new = np.empty(n_symbols, dtype=bool)
        self.closed = 0  # rows [0, closed) are final

    def __len__(self) -> int:
        return len(self.bar_ts)

    def _closed_by(self, t: int) -> int:
        if t >= self._close:
            return len(self.bar_ts)
        return max(0, (t - self._open) // self._step)

    def step(
        self,
        ts: Any,
        open: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
        mask: np.ndarray | None = None,
    ) -> range:
        """Fold in the base bars opening at `ts` (arrays of length N; `mask[i]` False = symbol i has none).

        Returns the rows that closed with this step (usually empty or one row)."""
        t = as_ns(ts)
        if self._open <= t < self._close:
            k = (t - self._open) // self._step
            if k < self.closed:
                raise BarDataError(f"clock step {utc_datetime(t).isoformat()} is in a bar that already closed")
            present = self.present[k]
            mask = self._all if mask is None else mask
            np.greater(mask, present, out=self._new)
            np.copyto(self.open[k], open, where=self._new)
            np.maximum(self.high[k], high, out=self.high[k], where=mask)
            np.minimum(self.low[k], low, out=self.low[k], where=mask)
            np.copyto(self.close[k], close, where=mask)
            np.add(self.volume[k], volume, out=self.volume[k], where=mask)
            np.logical_or(present, mask, out=present)
        return self.advance(t + self._base_step)

    def advance(self, t: Any) -> range:
        """Close every row whose close is at or before `t`; returns the newly closed rows."""
        before = self.closed
        now = max(before, self._closed_by(as_ns(t)))
        if now > before:
            absent = ~self.present[before:now]
            self.high[before:now][absent] = np.nan
            self.low[before:now][absent] = np.nan
        self.closed = now
        return range(before, now)

    def flush(self) -> range:
        """At the session close: every remaining row."""
        return self.advance(self._close)

    def symbol_bars(self, i: int, closed_only: bool = True) -> SessionBars:
        """Symbol i's bars (the closed ones unless told) as SessionBars."""
        rows = slice(0, self.closed if closed_only else len(self.bar_ts))
        has = self.present[rows, i]
        return SessionBars(
            self.bar_ts[rows][has],
            self.open[rows, i][has],
            self.high[rows, i][has],
            self.low[rows, i][has],
            self.close[rows, i][has],
            self.volume[rows, i][has],
            self.bar_close[rows][has],
        )
