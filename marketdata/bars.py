"""Bars as columns: a session's bars are numpy arrays (`SessionBars`), never a Python object per bar.

Every bar carries its own close time (`bar_close`): open + interval, cut at the session close. A bar is
visible only once the clock has reached its close (`SessionBars.closed_by`), so nothing reads a bar early.
Bars of longer intervals are derived in `marketdata.derive` (batch) and `marketdata.aggregator` (one bar at
a time, for bars as they arrive); the time conversions are `marketdata.timestamps`'.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from marketdata.calendar import TradingCalendar
from marketdata.errors import BarDataError
from marketdata.timestamps import (
    NS_PER_SECOND,
    as_ns,
    as_ns_array,
    day_dates,
    local_days,
    session_bounds,
    utc_datetime,
    week_of,
)
from specs.intervals import Interval

_COLUMNS = ("open", "high", "low", "close", "volume")
_FIELDS = ("ts", *_COLUMNS, "bar_close")

__all__ = ["BarDataError", "SessionBars", "frozen", "nominal_closes"]


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
        joined = _adjoining(parts)
        if joined is not None:
            return joined
        return cls._checked(*(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS))

    @classmethod
    def _checked(cls, *columns: np.ndarray) -> SessionBars:
        """Bars from columns cut or joined from SessionBars' own, which `__post_init__` has checked already
        (int64 times, float64 values, one dimension, equal lengths): the same bars, without checking again."""
        bars = object.__new__(cls)
        for name, column in zip(_FIELDS, columns, strict=True):
            object.__setattr__(bars, name, column)
        return bars

    def __getstate__(self) -> dict[str, Any]:
        """The columns only: a pickled slice does not drag along the bars it was cut from."""
        return {name: getattr(self, name) for name in _FIELDS}

    # -- views ---------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, index: slice | np.ndarray) -> SessionBars:
        if isinstance(index, int | np.integer):
            raise TypeError("SessionBars is indexed by slices or masks, not single bars")
        if isinstance(index, slice):
            bars = SessionBars._checked(*(getattr(self, name)[index] for name in _FIELDS))
            start, _, step = index.indices(len(self))
            if step == 1:  # where the slice lies in the bars it was first cut from (see `_adjoining`)
                root, offset = self.__dict__.get("_cut_from", (self, 0))
                object.__setattr__(bars, "_cut_from", (root, offset + start))
            return bars
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


def _adjoining(parts: list[SessionBars]) -> SessionBars | None:
    """The slice of read-only bars that `parts` were cut from back to back, or None: a history and its day cut
    from one block join without copying (the same values a concatenation gives, read-only)."""
    root, start = parts[0].__dict__.get("_cut_from", (None, 0))
    if root is None or any(getattr(root, name).flags.writeable for name in _FIELDS):
        return None
    end = start
    for part in parts:
        cut = part.__dict__.get("_cut_from")
        if cut is None or cut[0] is not root or cut[1] != end:
            return None
        end += len(part)
    return root[start:end]


def frozen(bars: SessionBars) -> SessionBars:
    """`bars` with every column read-only (contiguous copies where the source is not already); `bars` itself
    when they are both already."""
    if all(not (c := getattr(bars, name)).flags.writeable and c.flags.c_contiguous for name in _FIELDS):
        return bars
    columns = []
    for name in _FIELDS:
        column = np.ascontiguousarray(getattr(bars, name))
        if column.flags.writeable:
            column.setflags(write=False)
        columns.append(column)
    return SessionBars(*columns)


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
        days = week_of(days) * 7 - 3 + 6  # the Sunday that ends each Monday-based week
    last_sessions = [_last_session_on_or_before(calendar, d) for d in day_dates(days)]
    return np.array([calendar.open_close_ns(d)[1] for d in last_sessions], dtype=np.int64)


def _sessions_spanning(ts_ns: np.ndarray, calendar: TradingCalendar) -> list[date]:
    """Every session dated from the exchange-local day of the earliest timestamp to that of the latest.

    A superset of the sessions holding the bars, found with two time-zone conversions rather than one per bar;
    sessions never overlap, so a bar finds the same session among them.
    """
    first = calendar.local_date(utc_datetime(int(ts_ns.min())))
    last = calendar.local_date(utc_datetime(int(ts_ns.max())))
    return calendar.sessions(first, last)


def _last_session_on_or_before(calendar: TradingCalendar, day: date) -> date:
    if day > calendar.last_session:
        day = calendar.last_session
    return day if calendar.is_session(day) else calendar.previous_session(day)
