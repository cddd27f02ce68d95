"""A run's StoreCache: days that read and derive through it write exactly the events that days reading the
store themselves write, on good data and on damaged data, and it keeps no more bars than it is allowed."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from marketdata.calendar import TradingCalendar
from marketdata.clock import SimulatedClock
from marketdata.store import BarStore
from specs.config import SessionConfig
from statemachine.coordinator import SessionCoordinator
from statemachine.sink import InMemorySink
from statemachine.storecache import StoreCache
from tests.statemachine.support import DAY1, DAY2, DAY3, RSI_14_1M, seed_config, stream_to_close, stream_until


def run_days(store: BarStore | StoreCache, calendar: TradingCalendar, config: SessionConfig) -> InMemorySink:
    """DAY1..DAY3 as the runner runs them: a coordinator per day, requests mid-session, the end of the day."""
    sink = InMemorySink()
    clock = SimulatedClock(calendar.open(DAY1) - timedelta(hours=1))
    for day in (DAY1, DAY2, DAY3):
        coordinator = SessionCoordinator(config, store, calendar, sink, clock)
        coordinator.begin_day(day)
        coordinator.load_config_symbols()
        if coordinator.state.state == "failed":
            continue
        coordinator.start_streaming()
        stream_until(coordinator, 30)
        coordinator.add_indicator("TSLA", "ema_9_15m", source="scanner")
        coordinator.add_bar("IBM", "5m", days=2, source="adhoc")
        coordinator.add_indicator("IBM", RSI_14_1M, source="scanner")
        stream_until(coordinator, 90)
        coordinator.add_symbol("TSLA", source="strategy")
        stream_to_close(coordinator)
        coordinator.end_day()
    return sink


def dumped(sink: InMemorySink) -> list[dict]:
    return [{"date": str(day), "seq": seq, **event.model_dump(mode="json")} for day, seq, event in sink.all_events()]


def assert_same_run(store: BarStore, calendar: TradingCalendar, config: SessionConfig) -> list[dict]:
    plain = dumped(run_days(store, calendar, config))
    cached = dumped(run_days(StoreCache(store, calendar), calendar, config))
    assert cached == plain
    return cached


def test_a_cached_run_writes_the_events_of_a_plain_one(store, calendar):
    events = assert_same_run(store, calendar, seed_config())
    kinds = {e["kind"] for e in events}
    assert {"HistoricalLoaded", "IndicatorRegistered", "QualityCalculated", "SymbolUpgraded"} <= kinds


def test_missing_and_corrupt_history_fail_the_same_way(private_store, calendar):
    before = calendar.previous_sessions(DAY1, 3)
    private_store.day_file("MSFT", "1m", before[0]).unlink()
    private_store.day_file("TSLA", "1m", DAY2).write_bytes(b"this is not parquet")
    events = assert_same_run(private_store, calendar, seed_config())
    assert any(e["kind"] == "SymbolRejected" and e["symbol"] == "MSFT" for e in events)
    assert any(e["kind"] == "ProvisioningFailed" and "CorruptDataError" in e["error"] for e in events)


def test_bad_bars_are_flagged_the_same_way(private_store, calendar):
    table = private_store.read_days("IBM", "1m", [DAY2]).table
    close = table.column("close").to_numpy().copy()
    close[100] = float("nan")
    private_store.day_file("IBM", "1m", DAY2).unlink()
    private_store.write("IBM", "1m", table.set_column(4, "close", pa.array(close)))
    events = assert_same_run(private_store, calendar, seed_config(symbols=["AAPL", "IBM"]))
    assert any(e["kind"] == "SessionBarsLoaded" and e["flagged"] == {"nan_price": 1} for e in events)


def test_it_keeps_within_its_bound_and_still_answers(store, calendar):
    tiny = StoreCache(store, calendar, max_bytes=200_000)
    plain = dumped(run_days(store, calendar, seed_config()))
    assert dumped(run_days(tiny, calendar, seed_config())) == plain
    assert tiny._bytes <= 200_000 or len(tiny._bars) == 1


@pytest.mark.parametrize("symbol", ["AAPL", "NOPE"])
def test_listings_are_the_stores(store, calendar, symbol):
    cache = StoreCache(store, calendar)
    assert cache.intervals(symbol) == store.intervals(symbol)
    assert cache.days(symbol, "1m") == store.days(symbol, "1m")
    assert cache.root == store.root
