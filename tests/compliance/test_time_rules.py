"""The time rules, checked on the packages' code (parsed with `ast`; docstrings are not code):

- the wall clock is read only by the clock (marketdata/clock.py): no `datetime.now()`, `date.today()`,
  `time.time()`, `time.monotonic()`, `pd.Timestamp.now()`, `np.datetime64("now")`, SQL `now()` ..., called
  or passed on (`default_factory=datetime.now`), under any import alias;
- no trading hours outside the calendar (marketdata/calendar.py): `time(9, 30)`, `.replace(hour=16)`,
  `datetime(2013, 10, 7, 9, 30)`, "09:30", "16:00", `timedelta(hours=6.5)`;
- no dates (holidays, session days) outside the calendar: `date(2013, 12, 25)`, "2013-12-25";
- the exchange's time zone comes from the calendar: no "America/New_York" in code.

Each exception is listed below with its reason, and an exception that no longer excuses anything fails
the test so that the list stays true. Findings print as `path:line: what`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.compliance.scan import Allowed, Finding, Module, is_number, report, scan, unused, violations

# --- the wall clock -----------------------------------------------------------------------------------

#: What reads the wall clock whenever it is called or passed on.
WALL_CLOCK = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.monotonic_ns",
    "time.perf_counter",
    "time.perf_counter_ns",
    "pandas.Timestamp.now",
    "pandas.Timestamp.utcnow",
    "pandas.Timestamp.today",
}
#: What reads the wall clock unless it is given a time: the number of arguments that make it pure.
WALL_CLOCK_WITHOUT_ARGS = {
    "time.localtime": 1,
    "time.gmtime": 1,
    "time.ctime": 1,
    "time.asctime": 1,
    "time.strftime": 2,
}
#: What reads the wall clock when given the string "now" or "today".
WALL_CLOCK_STRINGS = {"numpy.datetime64", "pandas.Timestamp", "pandas.to_datetime"}
#: Names that are the datetime classes wherever they came from (a parameter, an attribute).
CLOCK_OWNERS = {"datetime", "date", "Timestamp"}
SQL_CLOCK = re.compile(r"\bnow\(\)|'now'|\bCURRENT_(TIMESTAMP|DATE|TIME)\b|\bLOCALTIMESTAMP\b|\bSYSDATE\b", re.I)

ALLOWED_WALL_CLOCK = (
    Allowed(
        "marketdata/clock.py",
        "",
        "the clock itself: WallClock is a live session's time, utc_now the time something is written",
        owner=True,
    ),
    Allowed(
        "daytape/interrupt.py",
        "time.monotonic",
        "paces how often a Dask worker asks the scheduler for the run's stop event (at most every POLL_S "
        "seconds); it decides no session time and nothing recorded",
    ),
    Allowed(
        "eventlog/",
        "database clock",
        "the log stamps a row's recorded_at/updated_at with the database's clock as it is written: when the "
        "row was written, never a time a session sees",
    ),
)


def wall_clock_reads(module: Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    called = {id(call.func): call for call in module.calls()}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Name | ast.Attribute):
            name = module.qualified(node)
            call = called.get(id(node))
            if name in WALL_CLOCK:
                found.append((node.lineno, f"wall clock {name}"))
            elif name in WALL_CLOCK_WITHOUT_ARGS and (call is None or len(call.args) < WALL_CLOCK_WITHOUT_ARGS[name]):
                found.append((node.lineno, f"wall clock {name} without a time"))
            elif name in WALL_CLOCK_STRINGS and call is not None:
                said = [a.value for a in call.args if isinstance(a, ast.Constant) and a.value in ("now", "today")]
                if said:
                    found.append((node.lineno, f"wall clock {name}({said[0]!r})"))
            elif (
                not name
                and isinstance(node, ast.Attribute)
                and node.attr in ("now", "utcnow", "today")
                and isinstance(node.value, ast.Name | ast.Attribute)
                and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr) in CLOCK_OWNERS
            ):
                found.append((node.lineno, f"wall clock .{node.attr}() of a datetime class"))
            elif name.endswith(("func.now", "func.current_timestamp", "func.localtimestamp")):
                found.append((node.lineno, f"database clock {name}"))
    for const in module.code_strings():
        if SQL_CLOCK.search(const.value):
            found.append((const.lineno, f"database clock in SQL {const.value[:60]!r}"))
    return sorted(found)


# --- trading hours, dates and time zones ------------------------------------------------------------------

HOUR_STRING = re.compile(r"(?<![\d:])0?9:30(?![\d])|(?<![\d:])16:00(?![\d])")
DATE_STRING = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+)?")
ZONE_STRING = re.compile(r"(America|US|Canada|Europe|Asia|Australia|Africa|Pacific|Atlantic)/[A-Za-z_]+")

ALLOWED_HOURS = (Allowed("marketdata/calendar.py", "", "the calendar: hours come from exchange_calendars", owner=True),)
ALLOWED_DATES = (
    Allowed(
        "marketdata/calendar.py", "", "the calendar's own range of sessions (CALENDAR_START, CALENDAR_END)", owner=True
    ),
    Allowed(
        "marketdata/",
        "date literal 1970-01-01",
        "the Unix epoch, origin of the nanosecond timestamps marketdata converts (elsewhere: its conversions)",
    ),
    Allowed(
        "eventlog/schema.py",
        "date literal 1970-01-01",
        "the Unix epoch, origin of the log's stored integer times and day numbers (the compact event rows)",
    ),
    Allowed(
        "daytape/demo.py",
        "date literal 2023-11-21",
        "where the demo's generated data starts, chosen so that its days hold a holiday and an early close; "
        "which days those are comes from the calendar",
    ),
)
ALLOWED_ZONES = (
    Allowed(
        "marketdata/calendar.py", "", "the calendar: the exchange's zone comes from exchange_calendars", owner=True
    ),
    Allowed(
        "marketdata/importers.py",
        "time zone 'America/New_York'",
        "LEAN's file format stamps bars in New York time whatever the exchange (LEAN's data readme)",
    ),
)


def _is_datetime_class(module: Module, func: ast.AST, cls: str) -> bool:
    """Whether `func` is `datetime.<cls>` (imported under any name), or a bare `<cls>` of unknown origin."""
    name = module.qualified(func)
    if name:
        return name == f"datetime.{cls}"
    return isinstance(func, ast.Name) and func.id == cls


def hour_literals(module: Module) -> list[tuple[int, str]]:
    found = []
    for const in module.code_strings():
        if HOUR_STRING.search(const.value):
            found.append((const.lineno, f"hour string {const.value!r}"))
    for call in module.calls():
        numbers = {k.arg for k in call.keywords if is_number(k.value)}
        positional = sum(is_number(a) for a in call.args)
        if _is_datetime_class(module, call.func, "time") and (positional or "hour" in numbers):
            found.append((call.lineno, "time-of-day literal time(...)"))
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "replace" and "hour" in numbers:
            found.append((call.lineno, "time-of-day literal .replace(hour=...)"))
        elif _is_datetime_class(module, call.func, "datetime") and (positional >= 4 or "hour" in numbers):
            found.append((call.lineno, "time-of-day literal datetime(..., hour, ...)"))
        elif _is_datetime_class(module, call.func, "timedelta") and "hours" in numbers:
            found.append((call.lineno, "hours literal timedelta(hours=...)"))
    return sorted(found)


def date_literals(module: Module) -> list[tuple[int, str]]:
    found = []
    for const in module.code_strings():
        match = DATE_STRING.fullmatch(const.value)
        if match:
            found.append((const.lineno, f"date literal {'-'.join(match.groups())} (a string)"))
    for call in module.calls():
        is_date = _is_datetime_class(module, call.func, "date") or _is_datetime_class(module, call.func, "datetime")
        if is_date and len(call.args) >= 3 and all(is_number(a) for a in call.args[:3]):
            year, month, day = (a.value for a in call.args[:3])  # type: ignore[attr-defined]
            found.append((call.lineno, f"date literal {year:04d}-{month:02d}-{day:02d}"))
    return sorted(found)


def zone_literals(module: Module) -> list[tuple[int, str]]:
    return sorted(
        (const.lineno, f"time zone {const.value!r}")
        for const in module.code_strings()
        if ZONE_STRING.fullmatch(const.value)
    )


# --- the rules on the code --------------------------------------------------------------------------------


def check(rule: str, findings: list[Finding], allowed: tuple[Allowed, ...]) -> None:
    assert not violations(findings, allowed), report(rule, violations(findings, allowed))
    stale = unused(findings, allowed)
    assert not stale, f"{rule}: exceptions that excuse nothing any more (remove them): {stale}"


def test_only_the_clock_reads_the_wall_clock():
    check("the wall clock belongs to marketdata/clock.py", scan(wall_clock_reads), ALLOWED_WALL_CLOCK)


def test_trading_hours_come_only_from_the_calendar():
    check("trading hours belong to marketdata/calendar.py", scan(hour_literals), ALLOWED_HOURS)


def test_no_holiday_or_session_dates_in_the_code():
    check("dates come from the calendar or the run", scan(date_literals), ALLOWED_DATES)


def test_the_exchange_time_zone_comes_from_the_calendar():
    check("time zones come from the calendar", scan(zone_literals), ALLOWED_ZONES)


# --- the scanners find what they look for -----------------------------------------------------------------

SAMPLE = '''
"""Opens at 09:30 on 2013-10-07 in America/New_York (a docstring may say so)."""
import datetime as dt
import time
import numpy as np
import pandas as pd
from datetime import date, datetime, time as clock_time, timedelta
from time import monotonic as tick
from sqlalchemy import func
OPEN = clock_time(9, 30)
CLOSE = dt.time(hour=16)
LABEL = "16:00"
t = datetime(2013, 10, 7, 9, 30)
u = t.replace(hour=13, minute=0)
now = datetime.now(dt.timezone.utc)
today = dt.date.today()
stamp = time.time()
factory = dict(default_factory=dt.datetime.utcnow)
elapsed = tick()
right_now = pd.Timestamp.now()
also_now = np.datetime64("now")
local = time.localtime()
sql = "SELECT strftime('%Y-%m-%d', 'now'), now()"
server = func.now()
christmas = date(2013, 12, 25)
iso = "2013-12-25"
zone = "America/New_York"
day_length = timedelta(hours=6.5)
fine = time.localtime(0), np.datetime64(0, "s"), timedelta(minutes=5), "19:30 and 116:00 and 09:305"
fine_too = "America/New_York or UTC", "on 2013-12-25 and after", clock.now(), time.strftime("%H", local)
'''


def lines(scanner, source: str = SAMPLE) -> list[int]:
    return [line for line, _ in scanner(Module.parse(source))]


def test_the_wall_clock_scan_finds_every_read_under_any_alias():
    assert lines(wall_clock_reads) == [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]


def test_the_hour_scan_finds_literal_hours():
    assert lines(hour_literals) == [10, 11, 12, 13, 14, 28]


def test_the_date_scan_finds_literal_dates():
    assert lines(date_literals) == [13, 25, 26]


def test_the_zone_scan_finds_zone_names():
    assert lines(zone_literals) == [27]


def test_a_datetime_class_reached_through_an_attribute_is_still_the_clock():
    source = "def f(event):\n    return event.datetime.now()\n"
    assert wall_clock_reads(Module.parse(source)) == [(2, "wall clock .now() of a datetime class")]


def test_relative_imports_resolve_within_the_package():
    module = Module.parse("from .clock import utc_now\nfrom ..specs import config\n", Path("marketdata/x/y.py"))
    assert module.imports == {"utc_now": "marketdata.x.clock.utc_now", "config": "marketdata.specs.config"}


def test_an_exception_excuses_only_its_area_and_finding():
    allowed = Allowed("daytape/interrupt.py", "time.monotonic", "why")
    assert allowed.excuses(Finding(Path("daytape/interrupt.py"), 3, "wall clock time.monotonic"))
    assert not allowed.excuses(Finding(Path("daytape/interrupt.py"), 4, "wall clock datetime.datetime.now"))
    assert not allowed.excuses(Finding(Path("daytape/runner.py"), 3, "wall clock time.monotonic"))
    folder = Allowed("eventlog/", "", "why")
    assert folder.excuses(Finding(Path("eventlog/backends/sqlite.py"), 1, "anything"))
    assert not folder.excuses(Finding(Path("eventlogger.py"), 1, "anything"))
