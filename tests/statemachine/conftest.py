"""Real parts for the session tests: a seeded Parquet store in a temporary folder, the XNYS calendar, a sink."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.clock import SimulatedClock
from marketdata.generator import write_sample_store
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs.config import SessionConfig
from statemachine.coordinator import SessionCoordinator
from statemachine.executor import FaultHook
from statemachine.sink import InMemorySink
from tests.statemachine.support import DAY1, DAY3, SEED, STORE_START, STORE_SYMBOLS, seed_config


@pytest.fixture(scope="session")
def calendar() -> TradingCalendar:
    return get_calendar("XNYS")


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory: pytest.TempPathFactory, calendar: TradingCalendar) -> Path:
    root = tmp_path_factory.mktemp("bars")
    write_sample_store(BarStore(root), STORE_SYMBOLS, STORE_START, DAY3, calendar, seed=SEED)
    return root


@pytest.fixture
def store(sample_root: Path) -> BarStore:
    """The shared generated store; tests must not write to it (use `private_store`)."""
    return BarStore(sample_root)


@pytest.fixture
def private_store(sample_root: Path, tmp_path: Path) -> BarStore:
    """A copy of the generated store that a test may damage."""
    root = tmp_path / "bars"
    shutil.copytree(sample_root, root)
    return BarStore(root)


CoordinatorFactory = Callable[..., tuple[SessionCoordinator, InMemorySink]]


@pytest.fixture
def make_coordinator(store: BarStore, calendar: TradingCalendar) -> CoordinatorFactory:
    """Build a coordinator on the generated store, an in-memory sink and a clock an hour before DAY1's open."""

    def build(
        config: SessionConfig | None = None,
        faults: FaultHook | None = None,
        bar_store: BarStore | None = None,
        first_day: date = DAY1,
    ) -> tuple[SessionCoordinator, InMemorySink]:
        sink = InMemorySink()
        clock = SimulatedClock(calendar.open(first_day) - timedelta(hours=1))
        coordinator = SessionCoordinator(
            config or seed_config(), StoreCache(bar_store or store, calendar), calendar, sink, clock, faults
        )
        return coordinator, sink

    return build
