"""`daytape verify RUN --warmup`: was each indicator's warm-up long enough?

For every indicator a run registered (each day, each symbol), the value after the first session bar is
computed again over 2x and 4x the sessions of history the run gave it (read from the run's store through
the same cache, derivation and batch code, after the day's bars are checked against the log's digests),
and compared with the run's. A recursive indicator (EMA, RSI, ATR, MACD) still remembers where it
started; if more history changes its first session value by more than the tolerance, the warm-up
multiplier was not enough. Differences are relative: |a - b| / max(|a|, |b|), the largest over an
indicator's outputs. Where the store holds fewer sessions than asked, the longest history it has is used
and the check says how many sessions that was.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from daytape.api import Day, Run
from daytape.daybook import DayBook
from specs import events as ev
from statemachine.book import IndicatorSeries, compute_indicator

FACTORS = (2, 4)
DEFAULT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Longer:
    factor: int
    sessions: int  # the sessions of history used (fewer than asked where the store has no more)
    rel_diff: float | None  # None when the store has no more history than the run used


@dataclass(frozen=True)
class WarmupCheck:
    date: str
    symbol: str
    indicator: str
    sessions: int
    bars: int
    value: Any
    longer: tuple[Longer, ...]

    @property
    def worst(self) -> float:
        return max((x.rel_diff for x in self.longer if x.rel_diff is not None), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "symbol": self.symbol,
            "indicator": self.indicator,
            "history_sessions": self.sessions,
            "history_bars": self.bars,
            "value": self.value,
            "longer": [{"factor": x.factor, "sessions": x.sessions, "rel_diff": x.rel_diff} for x in self.longer],
            "max_rel_diff": self.worst,
        }


@dataclass
class WarmupReport:
    run_id: str
    tolerance: float
    checks: list[WarmupCheck] = field(default_factory=list)

    def per_indicator(self) -> dict[str, dict[str, Any]]:
        """Per indicator key: the largest difference found and where, how many registrations were compared
        with a longer history, how many of those got less than asked, and how many could not be (the store
        holds no session before the ones the run used)."""
        found: dict[str, dict[str, Any]] = {}
        for check in self.checks:
            entry = found.setdefault(
                check.indicator,
                {"max_rel_diff": None, "at": None, "compared": 0, "short_history": 0, "unchecked": 0},
            )
            compared = [x for x in check.longer if x.rel_diff is not None]
            if not compared:
                entry["unchecked"] += 1
                continue
            entry["compared"] += 1
            if any(x.sessions < x.factor * check.sessions for x in check.longer):
                entry["short_history"] += 1
            if entry["max_rel_diff"] is None or check.worst > entry["max_rel_diff"]:
                entry["max_rel_diff"], entry["at"] = check.worst, {"date": check.date, "symbol": check.symbol}
        for entry in found.values():
            entry["ok"] = entry["max_rel_diff"] is None or entry["max_rel_diff"] <= self.tolerance
        return dict(sorted(found.items()))

    @property
    def ok(self) -> bool:
        return all(check.worst <= self.tolerance for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "tolerance": self.tolerance,
            "factors": list(FACTORS),
            "indicators": self.per_indicator(),
            "checks": [c.as_dict() for c in self.checks],
        }

    def lines(self) -> list[str]:
        out = []
        for key, entry in self.per_indicator().items():
            if entry["max_rel_diff"] is None:
                out.append(f"{key:<24} not checked: the store has no history before what the run used")
                continue
            where = f"{entry['at']['symbol']} {entry['at']['date']}"
            verdict = "ok" if entry["ok"] else f"MORE THAN the tolerance {self.tolerance:g}"
            notes = []
            if entry["short_history"]:
                notes.append(f"{entry['short_history']} got less history than asked (the store has no more)")
            if entry["unchecked"]:
                notes.append(f"{entry['unchecked']} not checked (no more history)")
            out.append(
                f"{key:<24} largest difference {entry['max_rel_diff']:.3g} ({where}) over {entry['compared']} "
                f"registrations: {verdict}" + "".join(f"; {n}" for n in notes)
            )
        return out


def _first_session_value(series: IndicatorSeries) -> dict[str, float]:
    index = series.history_bars
    return {name: float(column[index]) for name, column in series.values.items()} if index < len(series.closes) else {}


def _rel_diff(a: dict[str, float], b: dict[str, float]) -> float:
    worst = 0.0
    for name, x in a.items():
        y = b.get(name, math.nan)
        if math.isnan(x) and math.isnan(y):
            continue
        if math.isnan(x) or math.isnan(y):
            return math.inf
        scale = max(abs(x), abs(y))
        worst = max(worst, 0.0 if scale == 0 else abs(x - y) / scale)
    return worst


def check_day(day: Day) -> list[WarmupCheck]:
    """The day's indicator registrations, each against 2x and 4x its history."""
    run = day.run
    calendar = run.calendar
    rebuilder = DayBook(run.bar_cache, calendar, day.date)
    registered = [(row.symbol, event) for row, event in day.stored_events if isinstance(event, ev.IndicatorRegistered)]
    checks = []
    for symbol in dict.fromkeys(str(s) for s, _ in registered):
        book = day.rebuilt(symbol)
        for key, series in sorted(book.indicators.items()):
            spec = series.spec
            sessions = book.warmup_sessions.get(key, ())
            available = set(run.bar_cache.days(symbol, spec.interval.base))
            original = _first_session_value(series)
            day_bars = book.intervals[str(spec.interval)]
            longer = []
            for factor in FACTORS:
                wanted = calendar.previous_sessions(day.date, factor * len(sessions)) if sessions else []
                usable: list[dt.date] = []
                for session in reversed(wanted):
                    if session not in available:
                        break
                    usable.insert(0, session)
                if len(usable) <= len(sessions):
                    longer.append(Longer(factor, len(usable), None))
                    continue
                history = rebuilder.regular(symbol, spec.interval, usable)
                again = compute_indicator(spec, history, day_bars, calendar)
                longer.append(Longer(factor, len(usable), _rel_diff(original, _first_session_value(again))))
            value = original if len(original) > 1 else next(iter(original.values()), None)
            checks.append(
                WarmupCheck(day.date.isoformat(), symbol, key, len(sessions), series.history_bars, value, tuple(longer))
            )
    return checks


def check_warmup(run: Run, tolerance: float = DEFAULT_TOLERANCE) -> WarmupReport:
    """Every indicator registration of the run, checked against 2x and 4x its history (see the module)."""
    report = WarmupReport(run.run_id, tolerance)
    for day in run.days:
        report.checks.extend(check_day(day))
    return report
