"""VWAP: volume-weighted average of the typical price (h + l + c) / 3, reset at each session open.

A bar belongs to the VWAP of the latest session open at or before its open time, so the sums restart with
the first bar of every session (a pre-market bar, if any is fed, still counts toward the previous session's
VWAP). The value is NaN until the session has traded some volume. The cumulative sums are sequential in all
three forms, so they agree bit for bit. VWAP needs the calendar to know where sessions open.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.indicators.base import BatchResult, Indicator, IndicatorError, State
from marketdata.indicators.kernels import work_buffer
from marketdata.timestamps import as_ns, session_bounds, utc_datetime
from specs.indicators import IndicatorSpec, IndicatorType


def _calendar(calendar: TradingCalendar | None) -> TradingCalendar:
    return calendar if calendar is not None else get_calendar()


def _session_at_or_before(calendar: TradingCalendar, ts_ns: int) -> date:
    """The latest session whose open is at or before ts."""
    day = calendar.local_date(utc_datetime(ts_ns))
    day = min(day, calendar.last_session)
    if not calendar.is_session(day):
        day = calendar.previous_session(day)
    if calendar.open_close_ns(day)[0] > ts_ns:
        day = calendar.previous_session(day)
    return day


def vwap_period(calendar: TradingCalendar, ts_ns: int) -> tuple[int, int]:
    """The open (ns UTC) of the session whose VWAP a bar opening at ts belongs to, and the next session's open."""
    day = _session_at_or_before(calendar, ts_ns)
    return calendar.open_close_ns(day)[0], calendar.open_close_ns(calendar.next_session(day))[0]


def vwap_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    calendar = _calendar(calendar)
    size = len(bars)
    out = np.full(size, np.nan)
    if size == 0:
        return BatchResult({"value": out}, _fresh_state())
    if np.any(np.diff(bars.ts) < 0):
        raise IndicatorError(f"{spec.key}: bars are not sorted by ts")
    first = _session_at_or_before(calendar, int(bars.ts[0]))
    last = max(first, min(calendar.local_date(utc_datetime(int(bars.ts[-1]))), calendar.last_session))
    opens, _ = session_bounds(calendar, calendar.sessions(first, last))
    period = np.searchsorted(opens, bars.ts, "right") - 1
    pv = bars.high + bars.low
    pv += bars.close
    pv /= 3
    pv *= bars.volume
    starts = np.flatnonzero(np.concatenate(([True], period[1:] != period[:-1])))
    ends = np.append(starts[1:], size)
    cum_v = work_buffer(size, 0)
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        np.cumsum(pv[lo:hi], out=pv[lo:hi])
        np.cumsum(bars.volume[lo:hi], out=cum_v[lo:hi])
    np.divide(pv, cum_v, out=out, where=cum_v != 0)
    cum_pv = pv
    period_open, next_open = vwap_period(calendar, int(bars.ts[starts[-1]]))
    state = {
        "count": int(ends[-1] - starts[-1]),
        "period_open": period_open,
        "next_open": next_open,
        "cum_pv": float(cum_pv[-1]),
        "cum_v": float(cum_v[-1]),
    }
    return BatchResult({"value": out}, state)


def _fresh_state() -> State:
    return {"count": 0, "period_open": -1, "next_open": -1, "cum_pv": 0.0, "cum_v": 0.0}


def _need_ts(spec: IndicatorSpec, ts: Any) -> int:
    if ts is None:
        raise IndicatorError(f"{spec.key}: vwap needs each bar's ts to know when a session starts")
    return as_ns(ts)


class VWAP(Indicator):
    """Session VWAP of the typical price."""

    kind = IndicatorType.VWAP
    batch = staticmethod(vwap_batch)

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, _calendar(calendar))
        self.period_open = -1
        self.next_open = -1
        self.cum_pv = 0.0
        self.cum_v = 0.0

    def update(self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None) -> float:
        t = _need_ts(self.spec, ts)
        if t >= self.next_open or t < self.period_open:
            assert self.calendar is not None
            self.period_open, self.next_open = vwap_period(self.calendar, t)
            self.count, self.cum_pv, self.cum_v = 0, 0.0, 0.0
        self.count += 1
        self.cum_pv += (high + low + close) / 3 * volume
        self.cum_v += volume
        return self.value

    @property
    def value(self) -> float:
        return self.cum_pv / self.cum_v if self.cum_v != 0 else math.nan

    def state(self) -> State:
        return {
            "count": self.count,
            "period_open": self.period_open,
            "next_open": self.next_open,
            "cum_pv": self.cum_pv,
            "cum_v": self.cum_v,
        }

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        self.period_open, self.next_open = int(state["period_open"]), int(state["next_open"])
        self.cum_pv, self.cum_v = float(state["cum_pv"]), float(state["cum_v"])
