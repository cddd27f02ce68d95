"""The calendar on real XNYS dates: early closes, holidays, weekends, DST, and counting sessions back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.errors import CalendarError
from specs.intervals import Interval

NY = ZoneInfo("America/New_York")
EARLY_CLOSE = date(2015, 12, 24)
CHRISTMAS = date(2015, 12, 25)
SATURDAY = date(2015, 12, 26)


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return get_calendar("XNYS")


def test_get_calendar_caches_and_knows_its_zone(cal):
    assert get_calendar("XNYS") is cal
    assert cal.exchange == "XNYS"
    assert cal.tz == NY


def test_regular_day_open_close_and_bars(cal):
    day = date(2013, 10, 7)
    assert cal.is_session(day)
    assert not cal.is_early_close(day)
    assert cal.open(day) == datetime(2013, 10, 7, 13, 30, tzinfo=UTC)
    assert cal.close(day) == datetime(2013, 10, 7, 20, 0, tzinfo=UTC)
    assert cal.open(day).astimezone(NY).strftime("%H:%M") == "09:30"
    assert cal.expected_bars(day, Interval("1m")) == 390
    assert cal.expected_bars(day, "5m") == 78
    assert cal.expected_bars(day, "15m") == 26
    assert cal.expected_bars(day, "1h") == 7  # the last hour bar is cut at the close
    assert cal.expected_bars(day, "1s") == 23_400
    assert cal.expected_bars(day, "1d") == 1


def test_early_close_2015_12_24(cal):
    assert cal.is_session(EARLY_CLOSE)
    assert cal.is_early_close(EARLY_CLOSE)
    assert cal.close(EARLY_CLOSE).astimezone(NY) == datetime(2015, 12, 24, 13, 0, tzinfo=NY)
    assert cal.session_minutes(EARLY_CLOSE) == 210
    assert cal.expected_bars(EARLY_CLOSE, "1m") == 210
    assert cal.expected_bars(EARLY_CLOSE, "30m") == 7
    assert cal.expected_bars(EARLY_CLOSE, "1h") == 4  # 3.5 hours: the fourth bar is cut at 13:00


def test_holiday_and_weekend_are_not_sessions(cal):
    assert not cal.is_session(CHRISTMAS)
    assert not cal.is_session(SATURDAY)
    with pytest.raises(CalendarError, match="2015-12-25 is not a session of XNYS \\(holiday\\)"):
        cal.open(CHRISTMAS)
    with pytest.raises(CalendarError, match="2015-12-26 is not a session of XNYS \\(weekend\\)"):
        cal.close(SATURDAY)
    with pytest.raises(CalendarError, match="2015-12-25"):
        cal.expected_bars(CHRISTMAS, "1m")


def test_sessions_are_inclusive_and_skip_holidays_and_weekends(cal):
    assert cal.sessions(date(2015, 12, 23), date(2015, 12, 28)) == [
        date(2015, 12, 23),
        EARLY_CLOSE,
        date(2015, 12, 28),
    ]
    assert cal.sessions(CHRISTMAS, date(2015, 12, 27)) == []
    with pytest.raises(CalendarError, match="start 2015-12-28 is after end 2015-12-23"):
        cal.sessions(date(2015, 12, 28), date(2015, 12, 23))


def test_previous_and_next_across_weekend_holiday_and_early_close(cal):
    assert cal.previous_sessions(date(2015, 12, 28), 3) == [date(2015, 12, 22), date(2015, 12, 23), EARLY_CLOSE]
    assert cal.previous_sessions(SATURDAY, 2) == [date(2015, 12, 23), EARLY_CLOSE]
    assert cal.previous_sessions(date(2015, 12, 28), 0) == []
    assert cal.previous_session(date(2015, 12, 28)) == EARLY_CLOSE
    assert cal.next_session(EARLY_CLOSE) == date(2015, 12, 28)
    assert cal.next_session(CHRISTMAS) == date(2015, 12, 28)
    assert cal.previous_sessions(date(2013, 10, 7), 1) == [date(2013, 10, 4)]  # across a weekend


def test_sessions_for_bars_counts_early_closes_short_and_holidays_as_nothing(cal):
    day = date(2015, 12, 29)
    assert cal.sessions_for_bars(day, "1m", 0) == []
    assert cal.sessions_for_bars(day, "1m", -5) == []
    assert cal.sessions_for_bars(day, "1m", 390) == [date(2015, 12, 28)]
    assert cal.sessions_for_bars(day, "1m", 391) == [EARLY_CLOSE, date(2015, 12, 28)]
    assert cal.sessions_for_bars(day, "1m", 390 + 210) == [EARLY_CLOSE, date(2015, 12, 28)]
    assert cal.sessions_for_bars(day, "1m", 390 + 210 + 1) == [date(2015, 12, 23), EARLY_CLOSE, date(2015, 12, 28)]
    assert cal.sessions_for_bars(day, "5m", 78 + 42) == [EARLY_CLOSE, date(2015, 12, 28)]
    assert cal.sessions_for_bars(day, "5m", 78 + 42 + 1) == [date(2015, 12, 23), EARLY_CLOSE, date(2015, 12, 28)]
    assert cal.sessions_for_bars(day, "1d", 3) == [date(2015, 12, 23), EARLY_CLOSE, date(2015, 12, 28)]
    assert cal.sessions_for_bars(day, "2d", 2) == cal.previous_sessions(day, 4)
    # a weekly bar needs the sessions of one calendar week (the current, partial week counts)
    assert cal.sessions_for_bars(date(2015, 12, 30), "1w", 1) == [date(2015, 12, 28), date(2015, 12, 29)]
    assert cal.sessions_for_bars(date(2015, 12, 28), "1w", 1) == cal.sessions(date(2015, 12, 21), EARLY_CLOSE)


def test_minutes_are_bar_open_times_of_the_regular_session(cal):
    minutes = cal.minutes(EARLY_CLOSE)
    assert minutes.dtype == np.dtype("datetime64[ns]")
    assert len(minutes) == 210
    assert minutes[0] == np.datetime64("2015-12-24T14:30")
    assert minutes[-1] == np.datetime64("2015-12-24T17:59")
    assert len(cal.minutes(date(2013, 10, 7), 300)) == 78
    assert np.all(np.diff(cal.minutes(date(2013, 10, 7))) == np.timedelta64(60, "s"))


def test_daylight_saving_change_moves_the_utc_open(cal):
    assert cal.open(date(2008, 3, 7)) == datetime(2008, 3, 7, 14, 30, tzinfo=UTC)
    assert cal.open(date(2008, 3, 10)) == datetime(2008, 3, 10, 13, 30, tzinfo=UTC)
    assert cal.open(date(2008, 3, 10)).astimezone(NY).hour == cal.open(date(2008, 3, 7)).astimezone(NY).hour


def test_session_of(cal):
    open_ = cal.open(EARLY_CLOSE)
    assert cal.session_of(open_) == EARLY_CLOSE
    assert cal.session_of(cal.close(EARLY_CLOSE) - timedelta(seconds=1)) == EARLY_CLOSE
    assert cal.session_of(cal.close(EARLY_CLOSE)) is None
    assert cal.session_of(open_ - timedelta(minutes=1)) is None
    assert cal.session_of(datetime(2015, 12, 25, 15, 0, tzinfo=UTC)) is None
    assert cal.session_of(open_.replace(tzinfo=None)) == EARLY_CLOSE  # naive means UTC
    assert cal.session_of(open_.astimezone(NY)) == EARLY_CLOSE


def test_extended_hours_surround_the_session(cal):
    pre, post = cal.extended_hours(date(2013, 10, 7))
    assert pre < cal.open(date(2013, 10, 7)) < cal.close(date(2013, 10, 7)) < post
    pre, post = cal.extended_hours(EARLY_CLOSE)
    assert post < cal.extended_hours(date(2015, 12, 23))[1] + timedelta(days=1)
    assert post > cal.close(EARLY_CLOSE)


def test_old_and_future_dates_work_and_out_of_range_is_an_error(cal):
    assert cal.is_session(date(1998, 1, 2))
    assert cal.is_session(date(2030, 1, 2))
    with pytest.raises(CalendarError, match="1900-01-02 is outside the XNYS calendar's range"):
        cal.is_session(date(1900, 1, 2))
    with pytest.raises(CalendarError, match="2100-01-04 is outside"):
        cal.sessions(date(2030, 1, 1), date(2100, 1, 4))


def test_unknown_exchange_is_named():
    with pytest.raises(CalendarError, match="unknown exchange 'NOPE'"):
        TradingCalendar("NOPE")
    assert issubclass(CalendarError, ValueError)


def test_other_exchange_has_its_own_zone():
    assert get_calendar("XLON").tz == ZoneInfo("Europe/London")


def test_remembered_sessions_come_back_as_a_new_list_each_time(cal):
    first = cal.sessions(date(2015, 12, 21), date(2015, 12, 28))
    first.append(date(2030, 1, 1))
    assert cal.sessions(date(2015, 12, 21), date(2015, 12, 28)) == [
        date(2015, 12, 21),
        date(2015, 12, 22),
        date(2015, 12, 23),
        date(2015, 12, 24),
        date(2015, 12, 28),
    ]
    with pytest.raises(CalendarError, match="is after end"):
        cal.sessions(date(2015, 12, 28), date(2015, 12, 21))
