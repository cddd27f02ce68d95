"""Trading hours come only from the calendar and the time of day only from the clock.

Scans the code (not docstrings) of the packages for trading-hour literals — `time(9, 30)`,
`.replace(hour=16)`, `datetime(2013, 10, 7, 9, 30)`, the strings "09:30" / "16:00" — outside
marketdata/calendar.py, and for wall-clock reads — `datetime.now(`, `utcnow(`, `date.today(`,
`time.time(` — outside marketdata/clock.py. Each finding is reported as `path:line: what`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGES = ("specs", "marketdata", "statemachine", "eventlog", "daytape")
HOURS_ALLOWED = {Path("marketdata/calendar.py")}
WALL_CLOCK_ALLOWED = {Path("marketdata/clock.py")}
HOUR_STRING = re.compile(r"(?<![\d:])0?9:30(?![\d])|(?<![\d:])16:00(?![\d])")
WALL_CLOCK_METHODS = {"now", "utcnow", "today"}
WALL_CLOCK_OWNERS = {"datetime", "date", "Timestamp"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _aliases(tree: ast.AST, name: str) -> set[str]:
    """`name` and what `from datetime import name as alias` calls it in this module."""
    names = {name}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "datetime":
            names |= {a.asname for a in node.names if a.name == name and a.asname}
    return names


def hour_literals(source: str) -> list[tuple[int, str]]:
    """(line, what) of every trading-hour literal in the code."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    time_names, datetime_names = _aliases(tree, "time"), _aliases(tree, "datetime")
    found = []
    for node in ast.walk(tree):
        is_code_string = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        if is_code_string and HOUR_STRING.search(node.value):
            found.append((node.lineno, f"hour string {node.value!r}"))
        if not isinstance(node, ast.Call):
            continue
        func, keywords = node.func, {k.arg for k in node.keywords if _is_number(k.value)}
        called = _name(func)
        owner = _name(func.value) if isinstance(func, ast.Attribute) else ""
        if called in time_names and owner != "time" and (any(_is_number(a) for a in node.args) or "hour" in keywords):
            found.append((node.lineno, "time-of-day literal time(...)"))
        elif called == "replace" and "hour" in keywords:
            found.append((node.lineno, "time-of-day literal .replace(hour=...)"))
        elif called in datetime_names and (sum(_is_number(a) for a in node.args) >= 4 or "hour" in keywords):
            found.append((node.lineno, "time-of-day literal datetime(..., hour, ...)"))
    return sorted(found)


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) of every read of the wall clock."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        called, owner = node.func.attr, _name(node.func.value)
        if called in WALL_CLOCK_METHODS and owner in WALL_CLOCK_OWNERS:
            found.append((node.lineno, f"wall clock {owner}.{called}()"))
        elif owner == "time" and called in ("time", "time_ns"):
            found.append((node.lineno, f"wall clock time.{called}()"))
    return sorted(found)


def package_files() -> list[Path]:
    return sorted(p.relative_to(REPO_ROOT) for pkg in PACKAGES for p in (REPO_ROOT / pkg).rglob("*.py"))


def test_no_trading_hours_or_wall_clock_outside_calendar_and_clock():
    problems = []
    for path in package_files():
        source = (REPO_ROOT / path).read_text()
        if path not in HOURS_ALLOWED:
            problems += [f"{path}:{line}: {what}" for line, what in hour_literals(source)]
        if path not in WALL_CLOCK_ALLOWED:
            problems += [f"{path}:{line}: {what}" for line, what in wall_clock_reads(source)]
    assert not problems, (
        "trading hours belong in marketdata/calendar.py, the time in marketdata/clock.py:\n" + "\n".join(problems)
    )


def test_the_scan_finds_what_it_looks_for():
    source = '''
"""Opens at 09:30 (a docstring may say so)."""
import datetime as dt
import time
from datetime import datetime, time as clock_time
OPEN = clock_time(9, 30)
CLOSE = dt.time(hour=16)
LABEL = "16:00"
LATER = f"after {'09:30'}"
t = datetime(2013, 10, 7, 9, 30)
u = t.replace(hour=13, minute=0)
now = datetime.now(dt.timezone.utc)
today = dt.date.today()
stamp = time.time()
fine = datetime(1970, 1, 1)
also_fine = "19:30 and 116:00 and 09:305"
'''
    assert [line for line, _ in hour_literals(source)] == [6, 7, 8, 9, 10, 11]
    assert [line for line, _ in wall_clock_reads(source)] == [12, 13, 14]
