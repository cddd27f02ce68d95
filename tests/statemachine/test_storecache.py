"""A run's StoreCache: days that share what it read write exactly the events that days through a cache that
keeps nothing write (each reading the store itself, as a fresh process per day would), on good data and on
damaged data, with and without reading the run's days ahead, and it keeps no more bars than it is allowed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from marketdata.aggregator import bars_from_derived
from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.checks import clean_bars
from marketdata.clock import SimulatedClock
from marketdata.derive import derive_bars
from marketdata.errors import CorruptDataError
from marketdata.sources import MissingBarsError
from marketdata.sources.storecache import StoreCache, joined
from marketdata.store import BarStore
from specs.config import SessionConfig
from specs.intervals import Interval
from statemachine.coordinator import SessionCoordinator
from statemachine.sink import InMemorySink
from tests.statemachine.support import DAY1, DAY2, DAY3, RSI_14_1M, seed_config, stream_to_close, stream_until

RUN = (DAY1, DAY2, DAY3)


def run_days(
    store: StoreCache | Callable[[date], StoreCache], calendar: TradingCalendar, config: SessionConfig
) -> InMemorySink:
    """DAY1..DAY3 as the runner runs them: a coordinator per day, requests mid-session, the end of the day;
    each day through `store`, or through `store(day)` when it is a function."""
    sink = InMemorySink()
    clock = SimulatedClock(calendar.open(DAY1) - timedelta(hours=1))
    for day in RUN:
        source = store if isinstance(store, StoreCache) else store(day)
        coordinator = SessionCoordinator(config, source, calendar, sink, clock)
        coordinator.begin_day(day)
        coordinator.load_config_symbols()
        if coordinator.state.phase == "failed":
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
    """The run through a fresh cache per day that keeps nothing, against the run through one shared cache,
    one that also reads the run's days ahead, and one reading ahead within a small bound: event for event."""
    plain = dumped(run_days(lambda day: StoreCache(store, calendar, max_bytes=0), calendar, config))
    for cache in (
        StoreCache(store, calendar),
        StoreCache(store, calendar, read_ahead=RUN),
        StoreCache(store, calendar, max_bytes=200_000, read_ahead=RUN),
    ):
        assert dumped(run_days(cache, calendar, config)) == plain, cache
    return plain


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
    assert any(e["kind"] == "SymbolStreamed" and e["flagged"] == {"1m": {"nan_price": 1}} for e in events)


def test_it_keeps_within_its_bound_and_still_answers(store, calendar):
    tiny = StoreCache(store, calendar, max_bytes=200_000)
    plain = dumped(run_days(StoreCache(store, calendar, max_bytes=0), calendar, seed_config()))
    assert dumped(run_days(tiny, calendar, seed_config())) == plain
    assert tiny._bytes <= 200_000 or len(tiny._bars) == 1


@pytest.mark.parametrize("symbol", ["AAPL", "NOPE"])
def test_listings_are_the_stores(store, calendar, symbol):
    cache = StoreCache(store, calendar)
    assert cache.intervals(symbol) == store.intervals(symbol)
    assert cache.days(symbol, "1m") == store.days(symbol, "1m")
    assert cache.root == store.root


def read_alone(store: BarStore, calendar: TradingCalendar, day) -> SessionBars:
    """A day's regular 1m bars as the plain store's executor makes them from its file alone."""
    clean, _ = clean_bars(store.read_days("AAPL", "1m", [day]).table)
    return derive_bars(SessionBars.from_table(clean, "1m", calendar), "1m", calendar, day)


def test_days_read_together_are_held_once_as_one_block(store, calendar):
    days = calendar.previous_sessions(DAY1, 5)
    cache = StoreCache(store, calendar)
    pieces = cache.regular_days("AAPL", Interval("1m"), days)
    history = joined(pieces)
    assert history.equals(SessionBars.concat(read_alone(store, calendar, d) for d in days))
    assert all(np.shares_memory(history.close, p.block.close) for p in pieces)  # type: ignore[union-attr]
    assert np.shares_memory(joined(cache.regular_days("AAPL", Interval("1m"), days[1:3])).ts, history.ts)


def test_a_file_holding_another_days_bar_is_cut_as_the_files_are(private_store, calendar):
    days = calendar.previous_sessions(DAY1, 3)
    path = private_store.day_file("AAPL", "1m", days[1])
    stray = private_store.read_days("AAPL", "1m", [days[0]]).table.slice(100, 1)
    pq.write_table(pa.concat_tables([stray, pq.read_table(path)]), path)
    pieces = StoreCache(private_store, calendar).regular_days("AAPL", Interval("1m"), days)
    for day, piece in zip(days, pieces, strict=True):
        assert piece is not None and piece.bars.equals(read_alone(private_store, calendar, day))


@pytest.mark.parametrize("interval", ["1m", "5m", "1h"])
def test_a_subscription_plays_the_days_bars_as_the_batch_derives_them(store, calendar, interval):
    cache = StoreCache(store, calendar)
    played = bars_from_derived(list(cache.subscribe("AAPL", Interval(interval), DAY1)))
    assert len(played) and played.equals(derive_bars(read_alone(store, calendar, DAY1), interval, calendar, DAY1))


def test_history_names_the_sessions_it_lacks(private_store, calendar):
    days = calendar.previous_sessions(DAY1, 3)
    private_store.day_file("AAPL", "1m", days[1]).unlink()
    with pytest.raises(MissingBarsError, match=f"AAPL: no 1m bars in the store for {days[1]}$"):
        StoreCache(private_store, calendar).history("AAPL", Interval("5m"), days)


def test_reading_ahead_holds_a_history_and_its_days_as_one_block(store, calendar):
    cache = StoreCache(store, calendar, read_ahead=RUN)
    history = calendar.previous_sessions(DAY1, 3)
    for interval in (Interval("1m"), Interval("5m")):
        before = cache.history("AAPL", interval, history)
        whole = cache.history("AAPL", interval, [*history, *RUN])
        assert np.shares_memory(before.close, whole.close)
        joined_up = SessionBars.concat([before, *(cache.history("AAPL", interval, [day]) for day in RUN)])
        assert np.shares_memory(joined_up.close, whole.close) and joined_up.equals(whole)
        alone = [derive_bars(read_alone(store, calendar, day), interval, calendar, day) for day in [*history, *RUN]]
        assert whole.equals(SessionBars.concat(alone))


def test_a_day_read_ahead_is_the_day_read_alone(private_store, calendar):
    history = calendar.previous_sessions(DAY1, 3)
    unsorted = private_store.read_days("AAPL", "1m", [DAY2]).table
    private_store.day_file("AAPL", "1m", DAY2).unlink()
    private_store.write("AAPL", "1m", unsorted.take(pa.array(np.r_[1, 0, 2 : unsorted.num_rows])))
    ahead, plain = StoreCache(private_store, calendar, read_ahead=RUN), StoreCache(private_store, calendar)
    ahead.history("AAPL", Interval("1m"), history)
    for day in [*history, *RUN]:
        got, want = ahead.day("AAPL", Interval("1m"), day), plain.day("AAPL", Interval("1m"), day)
        assert got is not None and want is not None and got.bars.equals(want.bars)
        assert (got.flagged.counts(), got.unsorted) == (want.flagged.counts(), want.unsorted)
    assert ahead.day("AAPL", Interval("1m"), DAY2).unsorted == 1  # type: ignore[union-attr]


def test_a_damaged_file_ahead_is_met_only_on_its_own_day(private_store, calendar):
    private_store.day_file("AAPL", "1m", DAY3).write_bytes(b"this is not parquet")
    cache = StoreCache(private_store, calendar, read_ahead=RUN)
    history = cache.history("AAPL", Interval("5m"), calendar.previous_sessions(DAY1, 3))
    assert len(history) and cache.day("AAPL", Interval("1m"), DAY2) is not None
    with pytest.raises(CorruptDataError, match=f"{DAY3}.parquet: unreadable Parquet file"):
        cache.day("AAPL", Interval("1m"), DAY3)


def test_a_nearly_full_cache_reads_no_days_ahead(store, calendar):
    history = calendar.previous_sessions(DAY1, 3)
    cache = StoreCache(store, calendar, read_ahead=RUN)
    cache.history("AAPL", Interval("1m"), history)
    assert all(("AAPL", "regular:1m", day) in cache._bars for day in RUN)
    cache.max_bytes = cache._bytes  # full: days read ahead would push out days still to be used
    cache.history("MSFT", Interval("1m"), history)
    assert ("MSFT", "regular:1m", history[0]) in cache._bars
    assert not any(("MSFT", "regular:1m", day) in cache._bars for day in RUN)
