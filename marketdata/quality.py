"""Data quality: how many of the calendar's expected base bars a session has, and where the holes are.

Quality is present / expected over the regular session, expected coming from the calendar (390 one-minute
bars on a regular XNYS day, 210 on an early close). Bars outside the regular session (pre- and post-market)
are counted apart and do not add to quality; duplicated timestamps count once. A gap is a run of missing
expected bars, given by the open times of its first and last missing bar and how many are missing.

`session_quality_at` measures a session as it stood at a moment: only the bars due by then (whose close is
at or before it) are expected, and only the bars closed by then are counted, so nothing in the figure
depends on a bar that has not closed. Before the first bar is due nothing is expected and nothing missing:
its quality is 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from marketdata.calendar import TradingCalendar
from marketdata.errors import MarketDataError
from marketdata.timestamps import NS_PER_SECOND, as_ns, as_ns_array, local_days, utc_datetime
from specs.intervals import Interval

_ONE_MINUTE = Interval("1m")


class QualityError(MarketDataError, ValueError):
    """A quality question that has no answer (a non-intraday interval, an empty session list)."""


@dataclass(frozen=True)
class Gap:
    """A run of missing bars: the open times (UTC) of its first and last missing bar, and how many are missing."""

    start: datetime
    end: datetime
    missing: int

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "missing": self.missing}


@dataclass(frozen=True)
class QualityReport:
    """One symbol-session's coverage of its regular session by base bars of `interval`."""

    session: date
    interval: str
    expected: int
    present: int
    gaps: tuple[Gap, ...]
    outside_session: int

    @property
    def quality(self) -> float:
        """present / expected; 1.0 when no bar is expected (a session measured before its first bar was due)."""
        return self.present / self.expected if self.expected else 1.0

    @property
    def missing(self) -> int:
        return self.expected - self.present

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.session.isoformat(),
            "interval": self.interval,
            "expected": self.expected,
            "present": self.present,
            "quality": self.quality,
            "gaps": [gap.as_dict() for gap in self.gaps],
            "outside_session": self.outside_session,
        }


@dataclass(frozen=True)
class HistoricalQuality:
    """Quality over several sessions: each session's report and the totals."""

    reports: tuple[QualityReport, ...]

    @property
    def expected(self) -> int:
        return sum(r.expected for r in self.reports)

    @property
    def present(self) -> int:
        return sum(r.present for r in self.reports)

    @property
    def quality(self) -> float:
        return self.present / self.expected if self.expected else 0.0

    @property
    def outside_session(self) -> int:
        return sum(r.outside_session for r in self.reports)

    @property
    def worst(self) -> QualityReport | None:
        return min(self.reports, key=lambda r: r.quality, default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": len(self.reports),
            "expected": self.expected,
            "present": self.present,
            "quality": self.quality,
            "outside_session": self.outside_session,
            "per_session": [r.as_dict() for r in self.reports],
        }


def _step_ns(interval: Interval) -> int:
    if not interval.is_intraday:
        raise QualityError(f"quality is measured on intraday base bars (1m, 1s), not {interval}")
    return interval.seconds * NS_PER_SECOND


def _gaps(have: np.ndarray, open_ns: int, step: int) -> tuple[Gap, ...]:
    missing = np.concatenate(([0], (~have).astype(np.int8), [0]))
    edges = np.diff(missing)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return tuple(
        Gap(utc_datetime(open_ns + s * step), utc_datetime(open_ns + e * step), e - s + 1)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    )


def _report(
    ts: np.ndarray, open_ns: int, close_ns: int, session: date, interval: Interval, at_ns: int | None = None
) -> QualityReport:
    """The report of the session's bars `ts`; with `at_ns`, of the slots due and the bars closed by then."""
    step = _step_ns(interval)
    expected = -(-(close_ns - open_ns) // step)
    if at_ns is not None:
        # slot i closes at min(open + (i + 1) * step, close); a bar outside the session at ts + step
        expected = expected if at_ns >= close_ns else max(0, min(expected, (at_ns - open_ns) // step))
        if at_ns <= open_ns:  # at or before the open: no slot due, and every bar closed by then is outside
            return QualityReport(session, str(interval), 0, 0, (), int(np.count_nonzero(ts <= at_ns - step)))
        ts = ts[ts + step <= at_ns]
    inside = (ts >= open_ns) & (ts < close_ns)
    slots = (ts[inside] - open_ns) // step
    slots = slots[slots < expected]
    have = np.zeros(expected, dtype=bool)
    have[slots] = True
    return QualityReport(
        session=session,
        interval=str(interval),
        expected=int(expected),
        present=int(np.count_nonzero(have)),
        gaps=_gaps(have, open_ns, step),
        outside_session=int(len(ts) - np.count_nonzero(inside)),
    )


def session_quality(
    ts: Any, calendar: TradingCalendar, session: date, interval: Interval | str = _ONE_MINUTE
) -> QualityReport:
    """Quality of one session from the open times of its bars (UTC; arrow, datetime64 or int64 ns).

    `ts` should hold that session's bars (the store's day file: pre- and post-market included); every bar
    outside the regular session counts in `outside_session`. Order and duplicates do not matter.
    """
    interval = Interval(interval)
    open_ns, close_ns = calendar.open_close_ns(session)
    return _report(as_ns_array(ts), open_ns, close_ns, session, interval)


def session_quality_at(
    ts: Any, calendar: TradingCalendar, session: date, at: Any, interval: Interval | str = _ONE_MINUTE
) -> QualityReport:
    """`session_quality` as the session stood at `at` (a datetime or ns): the slots due by then are expected,
    the bars closed by then are counted (inside or outside the session), later bars are not looked at."""
    interval = Interval(interval)
    open_ns, close_ns = calendar.open_close_ns(session)
    return _report(as_ns_array(ts), open_ns, close_ns, session, interval, as_ns(at))


def historical_quality(
    ts: Any, calendar: TradingCalendar, sessions: Sequence[date], interval: Interval | str = _ONE_MINUTE
) -> HistoricalQuality:
    """Quality of several sessions from one array of bar open times spanning them.

    Each bar belongs to the session of its exchange-local date (as the store files them), so a session's
    pre- and post-market bars count as its `outside_session`; bars of other dates are ignored.
    """
    interval = Interval(interval)
    sessions = sorted(set(sessions))
    if not sessions:
        raise QualityError("historical quality needs at least one session")
    ts_ns = np.sort(as_ns_array(ts))
    days = local_days(ts_ns, calendar)
    reports = []
    for session in sessions:
        key = np.datetime64(session, "D").astype(np.int64)
        lo, hi = np.searchsorted(days, [key, key + 1])
        open_ns, close_ns = calendar.open_close_ns(session)
        reports.append(_report(ts_ns[lo:hi], open_ns, close_ns, session, interval))
    return HistoricalQuality(tuple(reports))


@dataclass(frozen=True)
class PartialBar:
    """A bar of a derived interval built from fewer base bars than its slot holds (a 5m bar from 3 of 5 1m)."""

    start: datetime
    expected: int
    present: int

    @property
    def missing(self) -> int:
        return self.expected - self.present


@dataclass(frozen=True)
class IntervalQualityReport:
    """One interval's coverage of a regular session, counted in its own bars.

    `expected` bars are due (the session's slots anchored at the open, the last cut at the close); `present` of
    them have at least one base bar, so a bar exists; `complete` of them were built from every base bar their
    slot holds. Quality is complete / expected. `gaps` are runs of slots with no bar at all; `partial` are the
    bars built from some but not all of their base bars. For a base interval every present bar is complete.
    """

    session: date
    interval: str
    base: str
    expected: int
    present: int
    complete: int
    gaps: tuple[Gap, ...]
    partial: tuple[PartialBar, ...]

    @property
    def quality(self) -> float:
        """complete / expected; 1.0 when no bar is due yet."""
        return self.complete / self.expected if self.expected else 1.0


def interval_quality(
    ts: Any,
    calendar: TradingCalendar,
    session: date,
    interval: Interval | str,
    at: Any = None,
) -> IntervalQualityReport:
    """The quality of `interval`'s bars in a session, from the open times of its base bars (`ts`: the day file's
    rows, pre- and post-market included; order and duplicates do not matter).

    With `at`, as the session stood then: only the bars whose close is at or before `at` are due, and only base
    bars closed by then are counted, so nothing depends on a bar that has not closed.
    """
    interval = Interval(interval)
    base = interval.base
    step, base_step = _step_ns(interval), _step_ns(base)
    open_ns, close_ns = calendar.open_close_ns(session)
    ts_ns = as_ns_array(ts)
    if at is not None and as_ns(at) < min(open_ns + step, close_ns):
        # before the first bar closes: nothing due, so nothing present, complete or missing
        return IntervalQualityReport(session, str(interval), str(base), 0, 0, 0, (), ())
    slots = -(-(close_ns - open_ns) // step)
    slot_open = open_ns + np.arange(slots, dtype=np.int64) * step
    slot_close = np.minimum(slot_open + step, close_ns)
    if at is None:
        due = slots
    else:
        at_ns = as_ns(at)
        due = slots if at_ns >= close_ns else int(np.searchsorted(slot_close, at_ns, "right"))
        ts_ns = ts_ns[ts_ns + base_step <= at_ns]
    inside = ts_ns[(ts_ns >= open_ns) & (ts_ns < close_ns)]
    base_slots = np.unique((inside - open_ns) // base_step)
    owner = base_slots * base_step // step
    present_per = np.bincount(owner[owner < due], minlength=due)[:due]
    expected_per = -(-(slot_close[:due] - slot_open[:due]) // base_step)
    have = present_per > 0
    whole = present_per >= expected_per
    partial = np.flatnonzero(have & ~whole)
    return IntervalQualityReport(
        session=session,
        interval=str(interval),
        base=str(base),
        expected=int(due),
        present=int(np.count_nonzero(have)),
        complete=int(np.count_nonzero(whole)),
        gaps=_gaps(have, open_ns, step),
        partial=tuple(
            PartialBar(utc_datetime(int(slot_open[i])), int(expected_per[i]), int(present_per[i]))
            for i in partial.tolist()
        ),
    )
