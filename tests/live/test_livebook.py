"""The live book, without a feed: the LEAN store's bars of 2013-10-09 put in minute by minute (as the gate's
steps would) through a `LiveBarSource`, and at every minute's end the view equals a backtest coordinator's on
the same store at the same time, bars, derived bars and indicators (SMA to the last bit, RSI within ulps). Then
a correction: the steps after it read what a batch over the corrected bars gives, the one before it kept its
copy. Oracles: the backtest coordinator (batch path) and `compute_indicator` over the corrected bars."""

from __future__ import annotations

import datetime as dt
import math

from daytape.day import open_day, run_store
from marketdata.clock import SimulatedClock
from marketdata.sources.live import LiveBarSource, rows_of, store_earlier
from specs.config import SessionConfig
from specs.indicators import IndicatorSpec
from statemachine.book import compute_indicator
from statemachine.coordinator import SessionCoordinator
from statemachine.livebook import LiveBook
from statemachine.sink import InMemorySink
from tests.e2e.conftest import october_session

DAY = dt.date(2013, 10, 9)
MINUTE = dt.timedelta(minutes=1)
SYMBOLS = ("SPY", "AIG", "BAC")
KEYS = ("sma_20_5m", "rsi_14_1m")


def coordinators(store_root) -> tuple[SessionCoordinator, SessionCoordinator, LiveBarSource]:
    session = october_session(store_root, "sqlite:///unused.db", start=str(DAY), end=str(DAY))
    session = {**session, "scanner": None, "strategy": None}
    config = SessionConfig.model_validate(session)
    store = run_store(config)
    calendar = store.calendar
    source = LiveBarSource(store, calendar, DAY, store_earlier(store, DAY))
    made = []
    for bars in (store, source):
        clock = SimulatedClock(calendar.open(DAY) - dt.timedelta(seconds=1))
        coordinator = SessionCoordinator(config, bars, calendar, InMemorySink(), clock)
        assert open_day(coordinator, DAY)
        coordinator.start_streaming()
        made.append(coordinator)
    return made[0], made[1], source


def view_of(coordinator: SessionCoordinator) -> dict:
    view = coordinator.view
    return {
        symbol: (
            {key: rows_of(view.bars(symbol, key)) for key in view.intervals(symbol)},
            {key: view.indicator(symbol, key) for key in KEYS},
        )
        for symbol in SYMBOLS
    }


def close_enough(live: dict, batch: dict) -> bool:
    for symbol in SYMBOLS:
        if live[symbol][0] != batch[symbol][0]:
            return False
        for key in KEYS:
            a, b = live[symbol][1][key], batch[symbol][1][key]
            if (a is None) != (b is None) or (a is not None and not math.isclose(a, b, rel_tol=1e-12, abs_tol=0)):
                return False
    return True


def test_the_live_book_grows_into_what_a_backtest_shows_at_every_minute(lean_store_root):
    backtest, live, source = coordinators(lean_store_root)
    book = LiveBook(live, source)
    stored = {s: rows_of(source.history_source.history(s, source.base, [DAY])) for s in SYMBOLS}
    minute = live.calendar.open(DAY)
    sma_exact = True
    while minute < live.calendar.close(DAY):
        end = minute + MINUTE
        source.through = end
        rows = {}
        for symbol in SYMBOLS:
            row = stored[symbol].get(int(minute.timestamp()) * 10**9)
            if row is not None:
                source.receive(symbol, minute, row)
                rows[symbol] = row
        book.step(minute, rows)
        live.advance_to(end)
        backtest.advance_to(end)
        a, b = view_of(live), view_of(backtest)
        assert close_enough(a, b), f"at {end}"
        sma_exact &= all(a[s][1]["sma_20_5m"] == b[s][1]["sma_20_5m"] for s in SYMBOLS)
        minute = end
    assert sma_exact


def test_a_correction_is_read_by_the_steps_after_it_only(lean_store_root):
    _, live, source = coordinators(lean_store_root)
    book = LiveBook(live, source)
    stored = rows_of(source.history_source.history("SPY", source.base, [DAY]))
    open_ = live.calendar.open(DAY)
    seen = []
    for n in range(12):
        minute = open_ + n * MINUTE
        source.through = minute + MINUTE
        corrected = set()
        if n == 8:  # minute 5's bar corrected: a late trade of 100 shares at a new high
            t5 = open_ + 5 * MINUTE
            o, h, lo, c, v = stored[int(t5.timestamp()) * 10**9]
            assert source.receive("SPY", t5, (o, h + 1.0, lo, c, v + 100.0))
            corrected = {"SPY"}
        row = stored[int(minute.timestamp()) * 10**9]
        source.receive("SPY", minute, row)
        book.step(minute, {"SPY": row}, corrected)
        live.advance_to(minute + MINUTE)
        seen.append((live.view.bars("SPY", "1m"), live.view.indicator("SPY", "rsi_14_1m")))
    assert seen[7][0].volume[5] == stored[int((open_ + 5 * MINUTE).timestamp()) * 10**9][4]  # kept its copy
    assert seen[8][0].volume[5] == seen[7][0].volume[5] + 100.0
    entry = live.book.get("SPY")
    assert entry is not None
    spec = IndicatorSpec.parse_key("rsi_14_1m")
    batch = compute_indicator(spec, book.history_of("SPY", entry, spec.interval), seen[-1][0], live.calendar)
    # rebuilt in batch at the correction, then incremental: a batch over the corrected bars within ulps
    assert math.isclose(seen[-1][1], batch.value_at(len(batch.closes) - 1), rel_tol=1e-12)
    assert seen[-1][0].high[5] == seen[7][0].high[5] + 1.0
