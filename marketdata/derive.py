"""Bars of longer intervals derived from base bars, a whole history at once (vectorised).

Derived bars are anchored to the session open (09:30, 09:35, ... for 5m on XNYS), the last bar of a session
is cut at its close (13:00 on an early close), no bar spans two sessions, and only regular-session base bars
take part. open is the first open, high the max, low the min, close the last close, volume the sum; a
derived bar whose base bars are partly missing is built from those present, one with none does not exist.
The backtest derives a whole session this way at the load and streams it by revealing each bar once it has
closed; `marketdata.aggregator` gives the same bars one base bar at a time, for bars as they arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.errors import BarDataError
from marketdata.timestamps import NS_PER_SECOND, as_ns, day_dates, local_days, session_bounds, utc_datetime, week_of
from specs.intervals import Interval


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
        closes = np.array([calendar.open_close_ns(d)[1] for d in day_dates(days)], dtype=np.int64)
        return SessionBars(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, closes)
    weeks = week_of(days)
    starts = _group_starts(weeks)
    week_ts, week_close = [], []
    for week in weeks[starts].tolist():
        monday = np.datetime64(week * 7 - 3, "D").item()
        in_week = calendar.sessions(max(monday, calendar.first_session), monday + timedelta(days=6))
        first, last = in_week[0], in_week[-1]
        week_ts.append(as_ns(datetime(first.year, first.month, first.day, tzinfo=calendar.tz)))
        week_close.append(calendar.open_close_ns(last)[1])
    return _aggregate(bars, starts, np.array(week_ts, dtype=np.int64), np.array(week_close, dtype=np.int64))
