"""Quality: the calendar's expected base bars, how many are present, and the gaps, checked against the raw files."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from marketdata.calendar import get_calendar
from marketdata.quality import Gap, QualityError, historical_quality, session_quality
from marketdata.timestamps import as_ns, utc_datetime
from tests.marketdata.lean_minutes import lean_minute_frame, lean_minute_table

CAL = get_calendar("XNYS")
MINUTE = 60 * 1_000_000_000


def independent_gaps(frame: pd.DataFrame, day: date) -> list[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """Runs of calendar minutes with no bar, found by walking the full minute grid of the session in pandas."""
    grid = pd.date_range(CAL.open(day), CAL.close(day), freq="1min", inclusive="left")
    have = grid.isin(frame.index)
    gaps = []
    position = 0
    for present, run in itertools.groupby(have):
        length = len(list(run))
        if not present:
            gaps.append((grid[position], grid[position + length - 1], length))
        position += length
    return gaps


def test_shy_2008_03_07_is_333_of_390_with_its_gaps(lean_root):
    day = date(2008, 3, 7)
    frame = lean_minute_frame(lean_root, "shy", day)
    report = session_quality(lean_minute_table(lean_root, "shy", day).column("ts"), CAL, day)
    assert (report.present, report.expected) == (333, 390)
    assert report.quality == pytest.approx(333 / 390)
    expected_gaps = independent_gaps(frame, day)
    assert [(g.start, g.end, g.missing) for g in report.gaps] == [
        (start.to_pydatetime(), end.to_pydatetime(), missing) for start, end, missing in expected_gaps
    ]
    assert sum(g.missing for g in report.gaps) == 390 - 333
    in_session = (frame.index >= pd.Timestamp(CAL.open(day))) & (frame.index < pd.Timestamp(CAL.close(day)))
    assert report.outside_session == int((~in_session).sum())


@pytest.mark.parametrize(
    ("symbol", "day", "expected"),
    [
        ("goog", date(2015, 12, 24), 210),
        ("spy", date(2013, 10, 7), 390),
        ("shy", date(2008, 3, 10), 390),
        ("foxa", date(2015, 12, 24), 210),
        ("twx", date(2014, 6, 23), 390),
    ],
)
def test_quality_matches_the_raw_files(lean_root, symbol, day, expected):
    frame = lean_minute_frame(lean_root, symbol, day)
    report = session_quality(frame.index.to_numpy(), CAL, day)
    in_session = (frame.index >= pd.Timestamp(CAL.open(day))) & (frame.index < pd.Timestamp(CAL.close(day)))
    assert report.expected == expected
    assert report.present == int(in_session.sum())
    assert report.outside_session == int((~in_session).sum())
    gaps = independent_gaps(frame, day)
    assert len(report.gaps) == len(gaps)
    assert sum(g.missing for g in report.gaps) == expected - report.present


def test_order_and_duplicates_do_not_change_quality():
    day = date(2013, 10, 7)
    minutes = CAL.minutes(day).view(np.int64)
    ts = np.concatenate([minutes[10:], minutes[10:20]])[::-1]
    report = session_quality(ts, CAL, day)
    assert report.present == 380
    assert report.gaps == (Gap(utc_datetime(int(minutes[0])), utc_datetime(int(minutes[9])), 10),)


def test_gaps_at_both_ends_and_an_empty_session():
    day = date(2015, 12, 24)
    minutes = CAL.minutes(day).view(np.int64)
    report = session_quality(minutes[5:-3], CAL, day)
    assert [(g.missing, as_ns(g.start), as_ns(g.end)) for g in report.gaps] == [
        (5, int(minutes[0]), int(minutes[4])),
        (3, int(minutes[-3]), int(minutes[-1])),
    ]
    empty = session_quality(np.empty(0, dtype=np.int64), CAL, day)
    assert (empty.present, empty.quality, len(empty.gaps), empty.gaps[0].missing) == (0, 0.0, 1, 210)


def test_quality_of_arrow_and_datetime64_timestamps_agree(lean_root):
    day = date(2008, 3, 10)
    table = lean_minute_table(lean_root, "shy", day)
    from_arrow = session_quality(table.column("ts"), CAL, day)
    from_numpy = session_quality(table.column("ts").to_numpy(), CAL, day)
    from_ms = session_quality(table.column("ts").cast(pa.timestamp("ms", tz="UTC")), CAL, day)
    assert from_arrow == from_numpy == from_ms
    assert from_arrow.as_dict()["gaps"][0] == {
        "start": from_arrow.gaps[0].start.isoformat(),
        "end": from_arrow.gaps[0].end.isoformat(),
        "missing": from_arrow.gaps[0].missing,
    }


def test_historical_quality_over_several_sessions(lean_root):
    days = [date(2008, 3, 7), date(2008, 3, 10)]
    table = pa.concat_tables([lean_minute_table(lean_root, "shy", d) for d in days])
    history = historical_quality(table.column("ts"), CAL, days)
    singles = [session_quality(lean_minute_table(lean_root, "shy", d).column("ts"), CAL, d) for d in days]
    assert history.reports == tuple(singles)
    assert history.expected == 780
    assert history.present == sum(r.present for r in singles)
    assert history.quality == pytest.approx(history.present / 780)
    assert history.worst == min(singles, key=lambda r: r.quality)
    assert history.as_dict()["sessions"] == 2


def test_quality_needs_an_intraday_interval_and_sessions():
    with pytest.raises(QualityError, match="1d"):
        session_quality(np.empty(0, dtype=np.int64), CAL, date(2013, 10, 7), "1d")
    with pytest.raises(QualityError, match="at least one session"):
        historical_quality(np.empty(0, dtype=np.int64), CAL, [])
