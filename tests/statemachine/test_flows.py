"""The seeds' four flows, end to end on a real Parquet store, the XNYS calendar and an in-memory sink.

1. Config symbol loading (full): AAPL and MSFT get 1m + 5m + 15m, trailing history, indicators, quality.
2. Scanner adds an indicator (lightweight): SMA(20) on 5m for TSLA, not in the config → adhoc.
3. Strategy upgrades the symbol: TSLA becomes full, gaining only what it lacked.
4. Multi-day backtest, no persistence: TSLA is gone on day 2; every day starts from nothing.
"""

from __future__ import annotations

from datetime import date

from specs import events as ev
from statemachine.state import replay
from tests.statemachine.support import DAY1, DAY2, DAY3, SMA_20_5M, stream_to_close, stream_until


def _kinds(events: list[ev.EventBase]) -> list[str]:
    return [e.kind for e in events]  # type: ignore[attr-defined]


def _planned_steps(sink, day: date, symbol: str) -> list[list[str]]:
    return [e.steps for e in sink.events(day) if isinstance(e, ev.RequestPlanned) and e.symbol == symbol]


def test_flow_1_config_symbols_load_in_full(make_coordinator, calendar):
    coordinator, sink = make_coordinator()

    coordinator.begin_day(DAY1)
    outcomes = coordinator.load_config_symbols()

    assert [(o.symbol, o.status) for o in outcomes] == [("AAPL", "completed"), ("MSFT", "completed")]
    history = calendar.previous_sessions(DAY1, 3)
    for symbol in ("AAPL", "MSFT"):
        data = coordinator.state.symbols[symbol]
        assert data.state == "full"
        assert data.meets_session_config_requirements is True
        assert data.added_by == "config"
        assert data.auto_provisioned is False
        assert data.added_at is None  # added before the session streams
        assert data.upgraded_from_adhoc is False
        assert list(data.bars) == ["1m", "5m", "15m"]
        assert (data.bars["1m"].derived, data.bars["5m"].base, data.bars["15m"].base) == (False, "1m", "1m")
        assert data.historical is not None
        assert (data.historical.sessions, data.historical.start, data.historical.end) == (3, history[0], history[-1])
        assert sorted(data.indicators) == ["rsi_14_1m", "sma_20_5m"]
        assert all(ind.valid and ind.current_value is not None for ind in data.indicators.values())
        # as of the open, when they loaded: no bar is due yet, so none is missing
        assert data.quality is not None and (data.quality.expected, data.quality.present) == (0, 0)
        assert (data.bars["1m"].count, data.bars["1m"].quality, data.bars["1m"].gaps) == (0, 1.0, [])
        assert data.quality.historical_quality is not None
    assert _planned_steps(sink, DAY1, "AAPL") == [
        [
            "create_symbol full",
            "add_interval 1m",
            "add_interval 5m",
            "add_interval 15m",
            "load_historical 1m x3 sessions",
            "load_session 1m",
            "load_session 5m",
            "load_session 15m",
            "register_indicator sma_20_5m",
            "register_indicator rsi_14_1m",
            "calculate_quality 1m",
        ]
    ]
    request = [e for e in sink.events(DAY1) if e.request_id == "20131009-0001"]
    assert _kinds(request) == [
        "RequestReceived",
        "RequestPlanned",
        "SymbolValidated",
        "SymbolCreated",
        "IntervalAdded",
        "IntervalAdded",
        "IntervalAdded",
        "HistoricalLoaded",
        "SessionBarsLoaded",
        "SessionBarsLoaded",
        "SessionBarsLoaded",
        "IndicatorRegistered",
        "IndicatorRegistered",
        "QualityCalculated",
        "RequestCompleted",
    ]
    coordinator.start_streaming()
    stream_to_close(coordinator)
    coordinator.end_day()
    ended = coordinator.ended_state
    assert ended is not None
    for symbol in ("AAPL", "MSFT"):
        data = ended.symbols[symbol]  # the whole day, recorded when it ended
        assert data.quality is not None and data.quality.expected == calendar.expected_bars(DAY1, "1m")
        assert data.bars["1m"].count == data.quality.present
        assert data.bars["1m"].quality == data.quality.present / data.quality.expected
    assert replay(sink.events(DAY1)).symbols == {}


def test_flow_2_scanner_adds_an_indicator_for_an_unknown_symbol(make_coordinator, calendar):
    coordinator, sink = make_coordinator()
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    stream_until(coordinator, 60)
    now = coordinator.clock.now()

    outcome = coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")

    assert outcome.status == "completed"
    tsla = coordinator.state.symbols["TSLA"]
    assert tsla.state == "adhoc"
    assert tsla.auto_provisioned is True
    assert tsla.added_by == "scanner"
    assert tsla.meets_session_config_requirements is False
    assert tsla.added_at == now
    assert list(tsla.bars) == ["1m", "5m"]  # only the indicator's interval and its base
    assert tsla.historical is not None
    assert (tsla.historical.sessions, tsla.historical.end) == (1, calendar.previous_session(DAY1))  # warm-up only
    assert tsla.quality is None  # no quality for adhoc loading
    assert list(tsla.indicators) == ["sma_20_5m"]
    assert tsla.indicators["sma_20_5m"].valid
    assert _planned_steps(sink, DAY1, "TSLA") == [
        [
            "create_symbol adhoc",
            "add_interval 1m",
            "add_interval 5m",
            "load_historical 1m x1 sessions",
            "load_session 1m",
            "load_session 5m",
            "register_indicator sma_20_5m",
        ]
    ]
    assert coordinator.view.indicator("TSLA", "sma_20_5m") is not None
    assert len(coordinator.view.bars("TSLA", "5m")) == 12  # an hour of 5m bars has closed


def test_flow_3_strategy_upgrades_the_adhoc_symbol(make_coordinator, calendar):
    coordinator, sink = make_coordinator()
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    stream_until(coordinator, 60)
    coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
    added_at = coordinator.state.symbols["TSLA"].added_at
    stream_until(coordinator, 120)

    outcome = coordinator.add_symbol("TSLA", source="strategy")

    assert outcome.status == "completed"
    tsla = coordinator.state.symbols["TSLA"]
    assert tsla.state == "full"
    assert tsla.upgraded_from_adhoc is True
    assert tsla.meets_session_config_requirements is True
    assert tsla.added_by == "strategy"
    assert tsla.auto_provisioned is True  # it was auto-provisioned; the upgrade does not rewrite history
    assert tsla.added_at == added_at
    assert list(tsla.bars) == ["1m", "5m", "15m"]
    assert tsla.historical is not None and tsla.historical.sessions == 3  # full history, not just warm-up
    assert sorted(tsla.indicators) == ["rsi_14_1m", "sma_20_5m"]
    assert tsla.quality is not None
    assert _planned_steps(sink, DAY1, "TSLA")[-1] == [
        "upgrade_symbol",
        "add_interval 15m",
        "load_historical 1m x2 sessions joining 1 held",  # the adhoc warm-up holds the last session already
        "load_session 15m",
        "register_indicator rsi_14_1m",
        "calculate_quality 1m",
    ]
    assert coordinator.add_symbol("TSLA", source="strategy").status == "skipped"


def test_flow_4_three_days_and_nothing_persists(make_coordinator):
    coordinator, sink = make_coordinator()
    symbols_by_day = {}
    for day in (DAY1, DAY2, DAY3):
        coordinator.begin_day(day)
        assert coordinator.state.symbols == {}
        coordinator.load_config_symbols()
        coordinator.start_streaming()
        if day == DAY1:
            stream_until(coordinator, 30)
            coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
        stream_to_close(coordinator)
        symbols_by_day[day] = dict(coordinator.view.symbols())
        assert replay(sink.events(day)) == coordinator.state
        coordinator.end_day()
        assert coordinator.state.symbols == {}
        assert replay(sink.events(day)) == coordinator.state
        ended = coordinator.ended_state
        assert ended is not None and ended.phase == "ended" and ended.symbols.keys() == symbols_by_day[day].keys()
        at_end = next(i for i, e in enumerate(sink.events(day)) if e.kind == "SessionEnded")
        assert replay(sink.events(day)[: at_end + 1]) == ended

    assert symbols_by_day == {
        DAY1: {"AAPL": "full", "MSFT": "full", "TSLA": "adhoc"},
        DAY2: {"AAPL": "full", "MSFT": "full"},
        DAY3: {"AAPL": "full", "MSFT": "full"},
    }
    assert sink.dates() == [DAY1, DAY2, DAY3]
    for day, held in symbols_by_day.items():
        events = sink.events(day)
        assert events[0].kind == "TeardownStarted" and events[1].kind == "LoadingStarted"
        ended = _kinds(events).index("SessionEnded")
        assert _kinds(events)[ended + 1] == "TeardownStarted"
        torn_down = [e.symbol for e in events[ended + 2 :]]
        assert _kinds(events[ended + 2 :]) == ["SymbolTornDown"] * len(held)
        assert torn_down == sorted(held)
        streamed = [e for e in events if isinstance(e, ev.SymbolStreamed)]
        assert [e.symbol for e in streamed] == sorted(held)
        assert all(e.bars["5m"] == coordinator.calendar.expected_bars(day, "5m") for e in streamed)
    assert "TSLA" not in {e.symbol for e in sink.events(DAY2)}
