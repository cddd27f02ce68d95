"""Instants as int64 nanoseconds since the epoch (UTC): the one place the conversions are defined.

Bars, the calendar, the store and quality all carry times as ns; these helpers turn datetimes, numpy and
arrow timestamps into ns and back, and ns into exchange-local dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketdata.errors import BarDataError

if TYPE_CHECKING:
    from marketdata.calendar import TradingCalendar

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 86_400 * NS_PER_SECOND
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def as_ns(t: Any) -> int:
    """One instant as nanoseconds since the epoch (UTC): an aware datetime, a naive one (taken as UTC),
    a numpy datetime64 or an int already in ns."""
    if isinstance(t, datetime):
        aware = t.replace(tzinfo=UTC) if t.tzinfo is None else t
        ns = (aware - EPOCH) // timedelta(microseconds=1) * 1000
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
    return EPOCH + timedelta(microseconds=int(ns) // 1000)


def local_days_in(ts_ns: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """The calendar date in zone `tz` of each timestamp, as int64 days since 1970-01-01."""
    if len(ts_ns) == 0:
        return np.empty(0, dtype=np.int64)
    utc = pa.array(ts_ns.view("datetime64[ns]"), type=pa.timestamp("ns", tz=str(tz)))
    local = pc.local_timestamp(utc).cast(pa.int64()).to_numpy()
    return np.floor_divide(local, NS_PER_DAY)


def local_days(ts_ns: np.ndarray, calendar: TradingCalendar) -> np.ndarray:
    """The exchange-local calendar date of each timestamp, as int64 days since 1970-01-01."""
    return local_days_in(ts_ns, calendar.tz)


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


def day_dates(days: np.ndarray) -> list[date]:
    """Days since 1970-01-01 as dates."""
    return [d.item() for d in np.asarray(days, dtype=np.int64).astype("datetime64[D]")]


def week_of(days: np.ndarray) -> np.ndarray:
    """Monday-based week number of days since the epoch (1970-01-01 was a Thursday)."""
    return (days + 3) // 7
