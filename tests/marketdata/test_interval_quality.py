"""A derived interval's quality, against an oracle that counts the raw LEAN minutes in each window.

The oracle knows nothing of daytape: it reads the zip with pandas (tests/marketdata/lean_minutes.py), lays
the windows of N minutes from 09:30 New York to the close it is told (16:00, or 13:00 on an early close), and
counts the minutes present in each. A window is due when its end is at or before `now`; it has a bar when
one minute is present, is complete when every minute is, and partial otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from marketdata.calendar import get_calendar
from marketdata.quality import interval_quality, session_quality
from tests.marketdata.lean_minutes import lean_minute_frame

CAL = get_calendar("XNYS")
NEW_YORK = "America/New_York"


@dataclass
class Expected:
    expected: int
    present: int
    complete: int
    gaps: list[tuple[datetime, datetime, int]]
    partial: list[tuple[datetime, int, int]]


def oracle(frame: pd.DataFrame, day: date, minutes: int, close: str = "16:00", now: datetime | None = None) -> Expected:
    """Windows of `minutes` minutes from 09:30 to `close` (New York), the last one cut at the close."""
    start = pd.Timestamp(f"{day} 09:30", tz=NEW_YORK).tz_convert("UTC")
    end = pd.Timestamp(f"{day} {close}", tz=NEW_YORK).tz_convert("UTC")
    have = set(frame.index)
    windows = []
    left = start
    while left < end:
        right = min(left + pd.Timedelta(minutes=minutes), end)
        if now is not None and right > pd.Timestamp(now):
            break
        grid = pd.date_range(left, right, freq="1min", inclusive="left")
        windows.append((left, len(grid), sum(1 for m in grid if m in have)))
        left = right
    gaps: list[tuple[datetime, datetime, int]] = []
    previous_empty = False
    for left, _, count in windows:
        if count == 0:
            if previous_empty:
                first, _, missing = gaps[-1]
                gaps[-1] = (first, left.to_pydatetime(), missing + 1)
            else:
                gaps.append((left.to_pydatetime(), left.to_pydatetime(), 1))
        previous_empty = count == 0
    return Expected(
        expected=len(windows),
        present=sum(1 for _, _, count in windows if count),
        complete=sum(1 for _, size, count in windows if count == size),
        gaps=gaps,
        partial=[(left.to_pydatetime(), size, count) for left, size, count in windows if 0 < count < size],
    )


def figures(report) -> Expected:
    return Expected(
        expected=report.expected,
        present=report.present,
        complete=report.complete,
        gaps=[(g.start, g.end, g.missing) for g in report.gaps],
        partial=[(p.start, p.expected, p.present) for p in report.partial],
    )


def ts_of(frame: pd.DataFrame) -> np.ndarray:
    return frame.index.asi8


@pytest.mark.parametrize(("interval", "minutes"), [("5m", 5), ("15m", 15), ("1h", 60)])
def test_shy_2008_03_10_derived_quality_counts_the_minutes_of_each_window(lean_root, interval, minutes):
    day = date(2008, 3, 10)
    frame = lean_minute_frame(lean_root, "SHY", day)
    report = interval_quality(ts_of(frame), CAL, day, interval)
    wanted = oracle(frame, day, minutes)
    assert figures(report) == wanted
    assert report.quality == pytest.approx(wanted.complete / wanted.expected)
    assert wanted.partial, "SHY's thin day has partial bars in every derived interval"


def test_a_shy_5m_bar_built_from_3_of_its_5_minutes_is_partial_with_2_missing(lean_root):
    day = date(2008, 3, 10)
    frame = lean_minute_frame(lean_root, "SHY", day)
    report = interval_quality(ts_of(frame), CAL, day, "5m")
    three_of_five = [p for p in report.partial if p.present == 3]
    assert three_of_five and all((p.expected, p.missing) == (5, 2) for p in three_of_five)
    # the README's figures for this day
    assert (report.expected, report.present, report.complete, len(report.partial)) == (78, 78, 33, 45)
    assert (round(report.quality, 4), round(interval_quality(ts_of(frame), CAL, day, "15m").quality, 4)) == (
        0.4231,
        0.1154,
    )
    # the base interval measured the same way agrees with the base quality report
    base = interval_quality(ts_of(frame), CAL, day, "1m")
    plain = session_quality(ts_of(frame), CAL, day)
    assert (base.expected, base.present, base.complete, base.partial) == (390, plain.present, plain.present, ())
    assert [(g.start, g.end, g.missing) for g in base.gaps] == [(g.start, g.end, g.missing) for g in plain.gaps]


@pytest.mark.parametrize("local", ["09:34", "09:35", "10:47", "12:00", "15:59"])
def test_as_of_a_moment_only_the_windows_ended_by_then_count(lean_root, local):
    day = date(2008, 3, 10)
    frame = lean_minute_frame(lean_root, "SHY", day)
    now = pd.Timestamp(f"{day} {local}", tz=NEW_YORK).tz_convert("UTC").to_pydatetime()
    for interval, minutes in (("5m", 5), ("15m", 15), ("1h", 60)):
        report = interval_quality(ts_of(frame), CAL, day, interval, now)
        assert figures(report) == oracle(frame, day, minutes, now=now), f"{interval} at {local}"
        later = frame[frame.index + pd.Timedelta(minutes=1) > pd.Timestamp(now)]
        # bars that had not closed by then change nothing: drop them and the figures stay
        kept = frame.drop(later.index)
        assert figures(interval_quality(ts_of(kept), CAL, day, interval, now)) == figures(report)


def test_on_the_early_close_of_2015_12_24_the_last_hour_is_cut_at_13_00(lean_root):
    day = date(2015, 12, 24)
    frame = lean_minute_frame(lean_root, "GOOG", day)
    report = interval_quality(ts_of(frame), CAL, day, "1h")
    wanted = oracle(frame, day, 60, close="13:00")
    assert wanted.expected == 4
    assert figures(report) == wanted
    assert figures(interval_quality(ts_of(frame), CAL, day, "15m")) == oracle(frame, day, 15, close="13:00")


def test_a_minute_removed_from_a_full_spy_day_makes_its_5m_bar_partial(lean_root):
    day = date(2013, 10, 9)
    frame = lean_minute_frame(lean_root, "SPY", day)
    full = interval_quality(ts_of(frame), CAL, day, "5m")
    assert (full.expected, full.complete, full.partial) == (78, 78, ())
    removed = pd.Timestamp(f"{day} 10:02", tz=NEW_YORK).tz_convert("UTC")
    thinned = frame.drop(removed)
    report = interval_quality(ts_of(thinned), CAL, day, "5m")
    bar = pd.Timestamp(f"{day} 10:00", tz=NEW_YORK).tz_convert("UTC").to_pydatetime()
    assert figures(report) == oracle(thinned, day, 5)
    assert (report.present, report.complete, report.gaps) == (78, 77, ())
    assert [(p.start, p.expected, p.present, p.missing) for p in report.partial] == [(bar, 5, 4, 1)]
    assert report.quality == pytest.approx(77 / 78)
    assert bar + timedelta(minutes=2) == removed.to_pydatetime()
