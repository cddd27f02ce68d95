"""The quality of a symbol's derived intervals, from its base interval's session times in the book.

The executor records it as of the request (QualityCalculated), the coordinator for the whole day at the close
(SymbolStreamed), and the plugin's view as of the clock's now (statemachine.asof): one function, three moments.
"""

from __future__ import annotations

import datetime as dt

from marketdata.calendar import TradingCalendar
from marketdata.quality import IntervalQualityReport, interval_quality
from specs import events as ev
from specs.intervals import Interval
from statemachine.book import SymbolBook


def interval_figures(report: IntervalQualityReport) -> ev.IntervalQuality:
    """A report as the events carry it."""
    return ev.IntervalQuality(
        expected=report.expected,
        present=report.present,
        complete=report.complete,
        quality=report.quality,
        gaps=[ev.Gap(start=g.start, end=g.end, missing=g.missing) for g in report.gaps],
        partial=[ev.PartialBar(start=p.start, expected=p.expected, present=p.present) for p in report.partial],
    )


def derived_intervals(entry: SymbolBook, base: Interval) -> list[str]:
    """The entry's intraday intervals derived from `base` (not `base` itself), in interval order."""
    found = [s.interval for s in entry.intervals.values() if not s.interval.is_base and s.interval.base == base]
    return [str(interval) for interval in sorted(found) if interval.is_intraday]


def derived_quality(
    entry: SymbolBook, calendar: TradingCalendar, day: dt.date, base: Interval, at: dt.datetime | None = None
) -> dict[str, ev.IntervalQuality]:
    """The quality of each interval derived from `base`, as of `at` (None: the whole session); empty when the
    entry holds no session times of `base`."""
    ts = entry.session_ts.get(str(base))
    if ts is None:
        return {}
    return {
        key: interval_figures(interval_quality(ts, calendar, day, Interval(key), at))
        for key in derived_intervals(entry, base)
    }
