"""The session on the real LEAN bars in ../shared/data (skipped where they are absent).

Real data has missing minutes, early closes and a store that starts somewhere: the reasons users see are
checked word for word here.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from marketdata.clock import SimulatedClock
from marketdata.importers import import_lean
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs import events as ev
from specs.indicators import IndicatorSpec
from statemachine.coordinator import SessionCoordinator
from statemachine.sink import InMemorySink
from statemachine.state import replay
from tests.marketdata.lean_minutes import lean_minute_frame
from tests.statemachine.support import seed_config, stream_to_close, stream_until


@pytest.fixture(scope="module")
def lean_store(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> BarStore:
    store = BarStore(tmp_path_factory.mktemp("lean"))
    import_lean(lean_root, store, symbols=["SPY", "AIG", "GOOG"])
    return store


def _coordinator(store, calendar, day: date, **config) -> tuple[SessionCoordinator, InMemorySink]:
    sink = InMemorySink()
    clock = SimulatedClock(calendar.open(day) - timedelta(hours=2))
    settings = {"symbols": ["SPY", "AIG"], "start": day, "end": day, **config}
    return SessionCoordinator(seed_config(**settings), StoreCache(store, calendar), calendar, sink, clock), sink


def _regular_minutes(lean_root: Path, symbol: str, day: date, calendar) -> int:
    frame = lean_minute_frame(lean_root, symbol, day)
    open_, close = calendar.open(day), calendar.close(day)
    return int(((frame.index >= open_) & (frame.index < close)).sum())


def test_spy_and_aig_load_in_full_from_the_real_bars(lean_store, lean_root, calendar):
    day = date(2013, 10, 10)
    coordinator, sink = _coordinator(lean_store, calendar, day)
    coordinator.begin_day(day)

    outcomes = coordinator.load_config_symbols()

    assert [o.status for o in outcomes] == ["completed", "completed"]
    history_days = [date(2013, 10, 7), date(2013, 10, 8), date(2013, 10, 9)]
    for symbol in ("SPY", "AIG"):
        data = coordinator.state.symbols[symbol]
        assert data.quality is not None and (data.quality.expected, data.quality.present) == (0, 0)
        assert data.bars["1m"].count == 0  # as of the open: nothing of the day has closed
        assert data.historical is not None
        assert (data.historical.start, data.historical.end) == (history_days[0], history_days[-1])
        assert data.historical.rows == sum(_regular_minutes(lean_root, symbol, d, calendar) for d in history_days)
        assert data.quality.outside_session > 0  # LEAN keeps pre-market minutes, closed by the open; not quality
    coordinator.start_streaming()
    stream_to_close(coordinator)
    coordinator.end_day()
    assert replay(sink.events(day)) == coordinator.state
    ended = coordinator.ended_state
    assert ended is not None
    for symbol in ("SPY", "AIG"):
        data = ended.symbols[symbol]
        present = _regular_minutes(lean_root, symbol, day, calendar)
        assert data.quality is not None and (data.quality.expected, data.quality.present) == (390, present)
        assert data.bars["1m"].count == present

    again, again_sink = _coordinator(lean_store, calendar, day)
    again.begin_day(day)
    again.load_config_symbols()
    digests = [e.digest for e in sink.events(day) if isinstance(e, ev.HistoricalLoaded)]
    assert digests == [e.digest for e in again_sink.events(day) if isinstance(e, ev.HistoricalLoaded)]


def test_history_too_short_on_the_first_stored_monday(lean_store, calendar):
    day = date(2013, 10, 7)
    coordinator, sink = _coordinator(lean_store, calendar, day)
    coordinator.begin_day(day)

    outcomes = coordinator.load_config_symbols()

    assert [o.reason for o in outcomes] == [
        "SPY: history too short: 1 of 3 sessions before 2013-10-07 (missing 2013-10-02, 2013-10-03)",
        "AIG: history too short: 1 of 3 sessions before 2013-10-07 (missing 2013-10-02, 2013-10-03)",
    ]
    assert coordinator.state.phase == "failed"
    assert isinstance(sink.events(day)[-1], ev.SessionFailed)


def test_goog_warms_up_across_christmas_and_its_early_close(lean_store, lean_root, calendar):
    day = date(2015, 12, 28)
    coordinator, sink = _coordinator(lean_store, calendar, day, symbols=[])
    coordinator.begin_day(day)
    coordinator.start_streaming()
    stream_until(coordinator, 15)
    spec = IndicatorSpec(type="sma", period=30, interval="5m")  # 60 bars: more than the 42 of the early close

    outcome = coordinator.add_indicator("GOOG", spec, source="scanner")

    assert outcome.status == "completed", outcome.reason
    loaded = next(e for e in sink.events(day) if isinstance(e, ev.HistoricalLoaded))
    assert (loaded.start, loaded.end, loaded.sessions) == (date(2015, 12, 23), date(2015, 12, 24), 2)
    expected_rows = sum(
        _regular_minutes(lean_root, "GOOG", d, calendar) for d in (date(2015, 12, 23), date(2015, 12, 24))
    )
    assert loaded.rows == expected_rows
    goog = coordinator.state.symbols["GOOG"]
    assert goog.indicators[spec.key].valid
    assert goog.quality is None
    assert coordinator.view.indicator("GOOG", spec.key) is not None


def test_weekly_bars_derive_from_the_stored_daily_bars(lean_store, calendar):
    day = date(2013, 10, 10)
    coordinator, _ = _coordinator(lean_store, calendar, day)
    coordinator.begin_day(day)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    stream_until(coordinator, 60)

    outcome = coordinator.add_bar("SPY", "1w", days=10, source="strategy")

    assert outcome.status == "completed", outcome.reason
    spy = coordinator.state.symbols["SPY"]
    assert (spy.bars["1w"].base, spy.histories["1d"].sessions) == ("1d", 10)
    assert spy.historical is not None and spy.historical.interval == "1m"  # the symbol's own base stays the export's
    assert len(coordinator.view.bars("SPY", "1d")) == 0  # the day's daily bar closes at the close
    assert len(coordinator.view.bars("SPY", "1w")) == 0


def test_an_adhoc_daily_symbol_upgrades_with_minute_quality(lean_store, calendar):
    day = date(2013, 10, 10)
    coordinator, sink = _coordinator(lean_store, calendar, day, symbols=[])
    coordinator.begin_day(day)
    coordinator.start_streaming()
    stream_until(coordinator, 5)
    assert coordinator.add_bar("SPY", "1w", days=3, source="scanner").status == "completed"

    outcome = coordinator.add_symbol("SPY", source="strategy")

    assert outcome.status == "completed", outcome.reason
    assert outcome.plan is not None and outcome.plan.step_labels[-1] == "calculate_quality 1m"
    spy = coordinator.state.symbols["SPY"]
    assert (spy.state, spy.upgraded_from_adhoc) == ("full", True)
    assert list(spy.bars) == ["1d", "1w", "1m", "5m", "15m"]
    # as of 09:35, when it was asked: the five minutes due by then
    assert spy.quality is not None and (spy.quality.interval, spy.quality.expected) == ("1m", 5)
    assert sorted(spy.histories) == ["1d", "1m"]
    assert replay(sink.events(day)) == coordinator.state
