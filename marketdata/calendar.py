"""The exchange calendar: sessions, opens and closes, early closes, holidays, the minutes of a session.

This is the only module that knows trading hours. Regular hours, holidays and early closes come from
exchange_calendars; the extended (pre- and post-market) hours, which exchange_calendars does not
model, are the one set of hour literals kept here.

The schedule is turned into numpy arrays once per exchange (`get_calendar` caches instances), so
every lookup is a binary search: no pandas objects leave this module. All datetimes returned are
tz-aware UTC; numpy arrays are `datetime64[ns]` without a zone, meaning UTC.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import numpy as np

from marketdata.errors import CalendarError
from marketdata.timestamps import NS_PER_MINUTE, NS_PER_SECOND, as_ns, utc_datetime
from specs.intervals import Interval

_MAX_RANGES = 4096  # session ranges remembered per calendar (a run asks for a few per day)

#: The calendars are built over this range so that both the old real data (1998-) and generated data fit.
CALENDAR_START = "1990-01-01"
CALENDAR_END = "2035-12-31"

#: US equity extended hours in exchange time (pre-market from 04:00, post-market until 20:00; exchange_calendars
#: knows only the regular session). Used to keep or generate pre- and post-market bars.
_EXTENDED_OPEN = time(4, 0)
_EXTENDED_CLOSE = time(20, 0)


def _utc_ns(column: object) -> np.ndarray:
    """A tz-aware schedule column (pandas, from exchange_calendars) as int64 ns since the epoch."""
    naive_utc = column.dt.tz_convert(None)  # type: ignore[attr-defined]
    return np.asarray(naive_utc.to_numpy(dtype="datetime64[ns]")).astype(np.int64)


def _as_date(day: date | datetime) -> date:
    if isinstance(day, datetime):
        return day.date()
    if not isinstance(day, date):
        raise CalendarError(f"expected a date, got {day!r}")
    return day


class TradingCalendar:
    """One exchange's sessions, from exchange_calendars (XNYS by default)."""

    def __init__(self, exchange: str = "XNYS") -> None:
        try:
            with warnings.catch_warnings():
                # exchange_calendars 4.x reads Series.values, which pandas 3.1 deprecates; nothing for us to fix
                warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
                calendar = xcals.get_calendar(exchange, start=CALENDAR_START, end=CALENDAR_END)
        except xcals.errors.InvalidCalendarName:
            raise CalendarError(
                f"unknown exchange {exchange!r}: use an exchange_calendars code such as XNYS, XNAS, XLON"
            ) from None
        self.exchange = exchange
        self.tz = ZoneInfo(str(calendar.tz))
        schedule = calendar.schedule
        self._days = schedule.index.values.astype("datetime64[D]")
        self._opens = _utc_ns(schedule["open"])
        self._closes = _utc_ns(schedule["close"])
        self._early = np.isin(self._days, np.asarray(calendar.early_closes.values).astype("datetime64[D]"))
        self._first = self._days[0].item()
        self._last = self._days[-1].item()
        # lookups the days of a run repeat (the schedule never changes): a session's position, a range's sessions
        self._positions: dict[date, int] = {}
        self._ranges: dict[tuple[date, date], tuple[date, ...]] = {}

    def __repr__(self) -> str:
        return f"TradingCalendar({self.exchange!r})"

    @property
    def first_session(self) -> date:
        return self._first

    @property
    def last_session(self) -> date:
        return self._last

    # -- lookups -------------------------------------------------------------------------------------

    def _check_range(self, day: date) -> np.datetime64:
        if day < self._first or day > self._last:
            raise CalendarError(
                f"{day.isoformat()} is outside the {self.exchange} calendar's range "
                f"{self._first.isoformat()}..{self._last.isoformat()}"
            )
        return np.datetime64(day, "D")

    def _index(self, day: date | datetime) -> int:
        """Position of a session in the schedule; CalendarError naming the date if it is not one."""
        day = _as_date(day)
        found = self._positions.get(day)
        if found is not None:
            return found
        key = self._check_range(day)
        idx = int(np.searchsorted(self._days, key))
        if idx >= len(self._days) or self._days[idx] != key:
            raise CalendarError(f"{day.isoformat()} is not a session of {self.exchange} ({self._why_closed(day)})")
        self._positions[day] = idx
        return idx

    def _why_closed(self, day: date) -> str:
        return "weekend" if day.weekday() >= 5 else "holiday"

    def is_session(self, day: date) -> bool:
        day = _as_date(day)
        key = self._check_range(day)
        idx = int(np.searchsorted(self._days, key))
        return idx < len(self._days) and self._days[idx] == key

    def sessions(self, start: date, end: date) -> list[date]:
        """The sessions from `start` to `end`, both inclusive."""
        start, end = _as_date(start), _as_date(end)
        found = self._ranges.get((start, end))
        if found is None:
            if start > end:
                raise CalendarError(f"start {start.isoformat()} is after end {end.isoformat()}")
            lo = int(np.searchsorted(self._days, self._check_range(start), "left"))
            hi = int(np.searchsorted(self._days, self._check_range(end), "right"))
            if len(self._ranges) >= _MAX_RANGES:
                self._ranges.clear()
            found = self._ranges[(start, end)] = tuple(self._days[lo:hi].tolist())
        return list(found)

    def open(self, day: date) -> datetime:
        """The regular session's open, UTC."""
        return utc_datetime(int(self._opens[self._index(day)]))

    def close(self, day: date) -> datetime:
        """The regular session's close, UTC (earlier on early-close days)."""
        return utc_datetime(int(self._closes[self._index(day)]))

    def open_close_ns(self, day: date) -> tuple[int, int]:
        """Open and close as nanoseconds since the epoch (UTC), for vectorised work."""
        idx = self._index(day)
        return int(self._opens[idx]), int(self._closes[idx])

    def is_early_close(self, day: date) -> bool:
        return bool(self._early[self._index(day)])

    def session_minutes(self, day: date) -> int:
        """Length of the regular session in minutes (390 on a regular XNYS day, 210 on an early close)."""
        open_ns, close_ns = self.open_close_ns(day)
        return (close_ns - open_ns) // NS_PER_MINUTE

    def extended_hours(self, day: date) -> tuple[datetime, datetime]:
        """Pre-market start and post-market end of a session, UTC (post-market ends 4 hours after an early close)."""
        self._index(day)
        day = _as_date(day)
        start = datetime.combine(day, _EXTENDED_OPEN, tzinfo=self.tz).astimezone(UTC)
        regular_close = self.close(day)
        end = datetime.combine(day, _EXTENDED_CLOSE, tzinfo=self.tz).astimezone(UTC)
        if self.is_early_close(day):
            end = regular_close + timedelta(hours=4)
        return start, end

    # -- neighbours ----------------------------------------------------------------------------------

    def previous_sessions(self, day: date, n: int) -> list[date]:
        """The `n` sessions strictly before `day` (which need not be a session), ascending."""
        day = _as_date(day)
        if n <= 0:
            return []
        idx = int(np.searchsorted(self._days, self._check_range(day), "left"))
        if idx - n < 0:
            raise CalendarError(
                f"{n} sessions before {day.isoformat()} reach before the {self.exchange} calendar's first session "
                f"{self._first.isoformat()}"
            )
        return [d.item() for d in self._days[idx - n : idx]]

    def previous_session(self, day: date) -> date:
        return self.previous_sessions(day, 1)[0]

    def next_session(self, day: date) -> date:
        """The first session strictly after `day`."""
        day = _as_date(day)
        idx = int(np.searchsorted(self._days, self._check_range(day), "right"))
        if idx >= len(self._days):
            raise CalendarError(
                f"no {self.exchange} session after {day.isoformat()} within the calendar's range "
                f"(last {self._last.isoformat()})"
            )
        return self._days[idx].item()

    # -- bars ----------------------------------------------------------------------------------------

    def minutes(self, day: date, interval_seconds: int = 60) -> np.ndarray:
        """Bar open times of the regular session (`open, open+step, ..., < close`), datetime64[ns] meaning UTC."""
        if interval_seconds <= 0:
            raise CalendarError(f"interval_seconds must be positive, got {interval_seconds}")
        open_ns, close_ns = self.open_close_ns(day)
        return np.arange(open_ns, close_ns, interval_seconds * NS_PER_SECOND, dtype=np.int64).view("datetime64[ns]")

    def expected_bars(self, day: date, interval: Interval | str) -> int:
        """Bars of `interval` in the regular session of `day`.

        Intraday intervals are anchored at the open and the last bar is cut at the close, so the count is
        ceil(session length / interval length): 390 1m bars on a regular XNYS day, 210 on an early close,
        14 of 30m on an early close. A session takes part in exactly one bar of a day or week interval: 1.
        """
        interval = Interval(interval)
        open_ns, close_ns = self.open_close_ns(day)
        if not interval.is_intraday:
            return 1
        return math.ceil((close_ns - open_ns) / (interval.seconds * NS_PER_SECOND))

    def sessions_for_bars(self, day: date, interval: Interval | str, bars: int) -> list[date]:
        """The fewest sessions strictly before `day` that together hold at least `bars` bars of `interval`.

        Early closes hold fewer intraday bars and holidays none, so the answer depends on the dates. A bar of
        `nd` needs n sessions; a weekly bar needs the sessions of one calendar week. Ascending; [] for bars <= 0.
        """
        interval = Interval(interval)
        day = _as_date(day)
        if bars <= 0:
            return []
        if interval.unit == "d":
            return self.previous_sessions(day, bars * interval.count)
        if interval.unit == "w":
            return self._sessions_for_weeks(day, bars * interval.count)
        end = int(np.searchsorted(self._days, self._check_range(day), "left"))
        step_ns = interval.seconds * NS_PER_SECOND
        total = 0
        idx = end
        while total < bars:
            idx -= 1
            if idx < 0:
                raise CalendarError(
                    f"{bars} bars of {interval} before {day.isoformat()} reach before the {self.exchange} "
                    f"calendar's first session {self._first.isoformat()}"
                )
            total += -(-(int(self._closes[idx]) - int(self._opens[idx])) // step_ns)
        return [d.item() for d in self._days[idx:end]]

    def _sessions_for_weeks(self, day: date, weeks: int) -> list[date]:
        end = int(np.searchsorted(self._days, self._check_range(day), "left"))
        week_of = (self._days[:end].astype(np.int64) + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday
        distinct = np.unique(week_of)
        if len(distinct) < weeks:
            raise CalendarError(
                f"{weeks} weeks before {day.isoformat()} reach before the {self.exchange} calendar's first session "
                f"{self._first.isoformat()}"
            )
        start = int(np.searchsorted(week_of, distinct[-weeks], "left"))
        return [d.item() for d in self._days[start:end]]

    def session_of(self, ts: datetime) -> date | None:
        """The session whose regular hours [open, close) contain `ts`; None outside every session.

        A naive `ts` is taken as UTC, like the numpy timestamps of the store.
        """
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        ns = as_ns(ts)
        idx = int(np.searchsorted(self._opens, ns, "right")) - 1
        if idx < 0 or ns >= self._closes[idx]:
            return None
        return self._days[idx].item()

    def local_date(self, ts: datetime) -> date:
        """The exchange's calendar date of `ts` (naive means UTC): the day a pre- or post-market bar belongs to."""
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return ts.astimezone(self.tz).date()


@lru_cache(maxsize=16)
def get_calendar(exchange: str = "XNYS") -> TradingCalendar:
    """The shared calendar of an exchange (building one takes about half a second)."""
    return TradingCalendar(exchange)
