"""The generated Parquet store the property tests share, made once per test session.

A handful of symbols around Thanksgiving 2023, so the sessions the tests run on include a holiday
(2023-11-23: no session) and an early close (2023-11-24, 13:00 New York):

- AAA, BBB, CCC: every session from 2023-11-06 to 2023-11-29, ten sessions of history before the first
  session the tests run;
- PART: the same range except 2023-11-22 and 2023-11-24, so it is rejected on those days and on the days
  whose history reaches them;
- ZZZZ: never in the store.

`PropertyStore.stored` says which days each symbol was generated with. It is the tests' own record of the
data, written here, not read back from the store, so the tests can predict validation without asking the
code they check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.generator import write_sample_store
from marketdata.store import BarStore

FULL_SYMBOLS = ("AAA", "BBB", "CCC")
PARTIAL_SYMBOL = "PART"
UNKNOWN_SYMBOL = "ZZZZ"
STORE_START = date(2023, 11, 6)
FIRST_SESSION = date(2023, 11, 20)
LAST_SESSION = date(2023, 11, 29)
PARTIAL_MISSING = (date(2023, 11, 22), date(2023, 11, 24))
HOLIDAY = date(2023, 11, 23)
EARLY_CLOSE = date(2023, 11, 24)
SEED = 20231123


@dataclass(frozen=True)
class PropertyStore:
    """The generated store: where it is, the calendar, the sessions to run and the days each symbol holds."""

    root: Path
    calendar: TradingCalendar
    sessions: tuple[date, ...]
    stored: Mapping[str, frozenset[date]]

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol the tests ask for: the stored ones and the one that is never there."""
        return (*sorted(self.stored), UNKNOWN_SYMBOL)

    def bar_store(self) -> BarStore:
        return BarStore(self.root, self.calendar)


@pytest.fixture(scope="session")
def property_store(tmp_path_factory: pytest.TempPathFactory) -> PropertyStore:
    calendar = get_calendar("XNYS")
    root = tmp_path_factory.mktemp("property-bars")
    store = BarStore(root, calendar)
    every_day = calendar.sessions(STORE_START, LAST_SESSION)
    write_sample_store(store, FULL_SYMBOLS, STORE_START, LAST_SESSION, calendar, seed=SEED)
    before, after = PARTIAL_MISSING[0], PARTIAL_MISSING[-1]
    write_sample_store(store, [PARTIAL_SYMBOL], STORE_START, calendar.previous_session(before), calendar, seed=SEED)
    write_sample_store(store, [PARTIAL_SYMBOL], calendar.next_session(after), LAST_SESSION, calendar, seed=SEED)
    partial = frozenset(d for d in every_day if not before <= d <= after)
    sessions = tuple(calendar.sessions(FIRST_SESSION, LAST_SESSION))
    assert HOLIDAY not in sessions and not calendar.is_session(HOLIDAY)
    assert EARLY_CLOSE in sessions and calendar.is_early_close(EARLY_CLOSE)
    stored = {symbol: frozenset(every_day) for symbol in FULL_SYMBOLS} | {PARTIAL_SYMBOL: partial}
    assert {s: frozenset(store.days(s, "1m")) for s in stored} == stored
    return PropertyStore(root=root, calendar=calendar, sessions=sessions, stored=stored)
