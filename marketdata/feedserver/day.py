"""The stored day a feed server plays: every symbol's regular-session minute bars, grouped by minute.

Bars come from the daytape Parquet store (1m, the session's open to its close, from the calendar).
The store keeps no trade count and no VWAP, so the messages carry `n = 0` and `vw` = the bar's typical
price (h + l + c) / 3; a daily bar's `vw` is the volume-weighted mean of those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.errors import MarketDataError
from marketdata.store import BarStore

NS_PER_MINUTE = 60_000_000_000


class FeedDayError(MarketDataError, ValueError):
    """A day the feed cannot play: not a session, or no minute bars for it in the store."""


@dataclass(frozen=True, slots=True)
class MinuteBar:
    symbol: str
    ts_ns: int  # the bar's open time
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass
class StoredDay:
    """The bars of one session: `minutes[i]` holds the bars that open at `open_ns + i` minutes."""

    day: date
    open_ns: int
    close_ns: int
    minutes: list[list[MinuteBar]]
    symbols: list[str]
    #: a daily bar's `t`: the session date at midnight exchange time, in UTC (as Alpaca stamps it)
    midnight_ns: int

    @property
    def minute_count(self) -> int:
        return len(self.minutes)

    def minute_open_ns(self, index: int) -> int:
        return self.open_ns + index * NS_PER_MINUTE


def load_day(store_root: str | Path, day: date, calendar: TradingCalendar | None = None) -> StoredDay:
    calendar = calendar or get_calendar("XNYS")
    if not calendar.is_session(day):
        raise FeedDayError(f"--date {day.isoformat()}: not a session of {calendar.exchange}")
    store = BarStore(store_root, calendar)
    open_ns, close_ns = calendar.open_close_ns(day)
    count = (close_ns - open_ns) // NS_PER_MINUTE
    minutes: list[list[MinuteBar]] = [[] for _ in range(count)]
    played: list[str] = []
    for symbol in store.symbols("1m"):
        table = store.read_days(symbol, "1m", [day]).table
        if table.num_rows == 0:
            continue
        ts = table.column("ts").cast("int64").to_numpy()
        inside = (ts >= open_ns) & (ts < close_ns) & ((ts - open_ns) % NS_PER_MINUTE == 0)
        if not inside.any():
            continue
        played.append(symbol)
        columns = [table.column(name).to_numpy()[inside] for name in ("open", "high", "low", "close", "volume")]
        for i, t in enumerate(ts[inside].tolist()):
            o, h, lo, c, v = (float(col[i]) for col in columns)
            minutes[(t - open_ns) // NS_PER_MINUTE].append(MinuteBar(symbol, t, o, h, lo, c, v))
    if not played:
        raise FeedDayError(f"--date {day.isoformat()}: no 1m bars in the store {Path(store_root)} for that session")
    midnight = datetime.combine(day, time.min, tzinfo=calendar.tz)
    midnight_ns = int(midnight.timestamp()) * 1_000_000_000
    return StoredDay(day, open_ns, close_ns, minutes, played, midnight_ns)
