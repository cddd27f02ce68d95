"""SessionState.apply refuses events that cannot follow what came before, naming the symbol and why;
the lifecycle rules (ARCHITECTURE.md) are the oracle: one creation per symbol per day, each interval and
indicator once, nothing for an absent symbol, teardown only while tearing down, symbol values only while
streaming, each request received once."""

from __future__ import annotations

import datetime as dt

import pytest

from specs import events as ev
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from statemachine.state import InvalidEvent, SessionState

DAY = dt.date(2013, 10, 8)
OPEN = dt.datetime(2013, 10, 8, 13, 30, tzinfo=dt.UTC)
CLOSE = dt.datetime(2013, 10, 8, 20, 0, tzinfo=dt.UTC)
SMA = IndicatorSpec(type="sma", period=5, interval=Interval("1m"))


def loading_with_spy() -> SessionState:
    return SessionState().apply_all(
        [
            ev.TeardownStarted(session_date=DAY),
            ev.LoadingStarted(session_date=DAY, open=OPEN, close=CLOSE, config_symbols=["SPY"]),
            ev.SymbolCreated(
                symbol="SPY",
                mode="full",
                base_interval=Interval("1m"),
                added_by="config",
                auto_provisioned=False,
                meets_session_config_requirements=True,
            ),
            ev.IntervalAdded(symbol="SPY", interval=Interval("1m"), derived=False),
            ev.IndicatorRegistered(symbol="SPY", indicator=SMA, warmup_bars=5),
        ]
    )


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            ev.SymbolCreated(
                symbol="SPY",
                mode="adhoc",
                base_interval=Interval("1m"),
                added_by="scanner",
                auto_provisioned=True,
                meets_session_config_requirements=False,
            ),
            "SPY: created while it is full",
        ),
        (ev.IntervalAdded(symbol="SPY", interval=Interval("1m"), derived=False), "SPY: interval 1m added twice"),
        (
            ev.HistoricalLoaded(symbol="SPY", interval=Interval("5m"), sessions=3, rows=0, digest=""),
            "SPY: HistoricalLoaded for interval 5m, which was never added",
        ),
        (
            ev.IndicatorRegistered(symbol="SPY", indicator=SMA, warmup_bars=5),
            "SPY: indicator sma_5_1m registered twice",
        ),
        (
            ev.IntervalAdded(symbol="IBM", interval=Interval("1m"), derived=False),
            "IBM: IntervalAdded for a symbol that is absent",
        ),
        (
            ev.SymbolTornDown(symbol="SPY", previous_state="full"),
            "SPY: torn down while the session is loading, not tearing_down",
        ),
        (ev.SymbolStreamed(symbol="SPY"), "SPY: SymbolStreamed while the session is loading, not streaming"),
        (
            ev.RequestReceived(operation="symbol", source="config", symbol="SPY"),
            "RequestReceived without a request_id",
        ),
    ],
)
def test_an_event_that_cannot_follow_is_refused_and_changes_nothing(event, message):
    state = loading_with_spy()
    applied = state.events_applied
    with pytest.raises(InvalidEvent) as info:
        state.apply(event)
    assert str(info.value) == message
    assert state.events_applied == applied
    assert list(state.symbols) == ["SPY"] and list(state.symbols["SPY"].bars) == ["1m"]


def test_a_request_is_received_once():
    state = loading_with_spy()
    request = ev.RequestReceived(operation="symbol", source="strategy", symbol="IBM", request_id="r1")
    state.apply(request)
    with pytest.raises(InvalidEvent, match=r"^request r1 received twice$"):
        state.apply(request)


def test_a_value_for_an_indicator_never_registered_is_refused():
    state = loading_with_spy()
    state.apply(ev.StreamingStarted(symbols=["SPY"]))
    streamed = ev.SymbolStreamed(symbol="SPY", indicators={"ema_3_1m": {"current_value": 1.0}})
    with pytest.raises(InvalidEvent, match=r"^SPY: value for indicator ema_3_1m, which was never registered$"):
        state.apply(streamed)
