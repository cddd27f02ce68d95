"""add_bar's scope (history and session, history only, session only) and upgrades that load only the missing
sessions, on the real LEAN bars of October 2013 (skipped where they are absent).

The oracles are the LEAN zips themselves (minutes counted from the raw files) and a second coordinator that
loads the symbol in full directly: an upgrade that joins the missing sessions onto the held ones must end
with the very history (rows, digest, bars) and indicator values the direct load gives.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from daytape.plugins import PluginContext
from marketdata.clock import SimulatedClock
from marketdata.importers import import_lean
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs import events as ev
from specs.plan import BarScope, Source
from statemachine.coordinator import SessionCoordinator
from statemachine.errors import RequestError
from statemachine.sink import InMemorySink
from statemachine.state import InvalidEvent, replay
from tests.marketdata.lean_minutes import lean_minute_frame
from tests.statemachine.support import book_values, seed_config, stream_to_close, stream_until

DAY = date(2013, 10, 9)
#: The LEAN sessions before DAY: 2013-10-04 (Friday), 10-07 and 10-08.
BEFORE = [date(2013, 10, 4), date(2013, 10, 7), date(2013, 10, 8)]


@pytest.fixture(scope="module")
def lean_store(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> BarStore:
    store = BarStore(tmp_path_factory.mktemp("lean-scope"))
    import_lean(lean_root, store, symbols=["SPY", "IBM"])
    return store


def _coordinator(store: BarStore, calendar, **config) -> tuple[SessionCoordinator, InMemorySink]:
    sink = InMemorySink()
    clock = SimulatedClock(calendar.open(DAY) - timedelta(hours=2))
    settings = {"symbols": ["SPY"], "start": DAY, "end": DAY, **config}
    coordinator = SessionCoordinator(seed_config(**settings), StoreCache(store, calendar), calendar, sink, clock)
    coordinator.begin_day(DAY)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    return coordinator, sink


def _regular_minutes(lean_root: Path, symbol: str, day: date, calendar) -> int:
    frame = lean_minute_frame(lean_root, symbol, day)
    return int(((frame.index >= calendar.open(day)) & (frame.index < calendar.close(day))).sum())


def _events(sink: InMemorySink, request_id: str) -> list[ev.EventBase]:
    return [e for e in sink.events(DAY) if e.request_id == request_id]


def _planned(sink: InMemorySink, request_id: str) -> list[str]:
    [planned] = [e for e in _events(sink, request_id) if isinstance(e, ev.RequestPlanned)]
    return planned.steps


# --- history only -----------------------------------------------------------------------------------------


def test_a_history_only_request_loads_the_history_and_no_session_bars(lean_store, lean_root, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    stream_until(coordinator, 30)

    outcome = coordinator.add_bar("IBM", "5m", days=2, source="scanner", scope="history")

    assert outcome.status == "completed"
    assert _planned(sink, outcome.request_id) == [
        "create_symbol adhoc",
        "add_interval 1m",
        "add_interval 5m",
        "load_historical 1m x2 sessions",
    ]
    [received] = [e for e in _events(sink, outcome.request_id) if isinstance(e, ev.RequestReceived)]
    assert received.scope is BarScope.HISTORY
    assert received.description == "scanner asked for 5m bars, 2 sessions of history only (no session bars) of IBM"
    ibm = coordinator.state.symbols["IBM"]
    assert (ibm.state, ibm.auto_provisioned, ibm.added_by) == ("adhoc", True, "scanner")
    assert [(key, bars.session) for key, bars in ibm.bars.items()] == [("1m", False), ("5m", False)]
    minutes = sum(_regular_minutes(lean_root, "IBM", d, calendar) for d in BEFORE[1:])
    assert ibm.historical is not None
    assert (ibm.historical.start, ibm.historical.end, ibm.historical.rows) == (BEFORE[1], BEFORE[2], minutes)
    # the plugin reads the history, and is told why there are no session bars
    assert len(coordinator.view.history("IBM", "1m")) == minutes
    assert coordinator.view.history("IBM", "5m").ts[0] == int(calendar.open(BEFORE[1]).timestamp() * 1e9)
    with pytest.raises(KeyError, match="IBM has 5m history only, no session bars"):
        coordinator.view.bars("IBM", "5m")
    assert coordinator.view.state["symbols"]["IBM"]["bars"]["5m"]["history_only"] is True


def test_session_bars_join_an_interval_held_for_its_history_and_the_day_tears_it_down(lean_store, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    stream_until(coordinator, 30)
    coordinator.add_bar("IBM", "5m", days=2, source="scanner", scope="history")
    stream_until(coordinator, 60)

    again = coordinator.add_bar("IBM", "5m", days=2, source="scanner", scope="history")
    both = coordinator.add_bar("IBM", "5m", source="scanner")

    assert again.status == "skipped"  # the history is held: a duplicate
    assert both.status == "completed"
    assert _planned(sink, both.request_id) == ["load_session 1m", "load_session 5m"]
    assert all(bars.session for bars in coordinator.state.symbols["IBM"].bars.values())
    assert len(coordinator.view.bars("IBM", "5m")) == 12  # an hour of 5m bars has closed
    stream_to_close(coordinator)
    coordinator.end_day()
    assert "IBM" not in coordinator.state.symbols
    torn = [e for e in sink.events(DAY) if isinstance(e, ev.SymbolTornDown) and e.symbol == "IBM"]
    assert [e.previous_state for e in torn] == ["adhoc"]
    assert replay(sink.events(DAY)).symbols == coordinator.state.symbols


def test_an_interval_held_for_its_history_streams_nothing_and_is_torn_down(lean_store, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    coordinator.add_bar("IBM", "1m", days=1, source="adhoc", scope="history")
    stream_to_close(coordinator)
    coordinator.end_day()

    [streamed] = [e for e in sink.events(DAY) if isinstance(e, ev.SymbolStreamed) and e.symbol == "IBM"]
    assert streamed.bars == {} and streamed.digests == {}
    ended = coordinator.ended_state
    assert ended is not None and ended.symbols["IBM"].bars["1m"].session is False
    assert "IBM" not in coordinator.state.symbols


def test_upgrading_a_symbol_held_for_history_loads_its_session_bars(lean_store, lean_root, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    coordinator.add_bar("IBM", "5m", days=1, source="scanner", scope="history")

    upgrade = coordinator.add_symbol("IBM", source="strategy")

    assert upgrade.status == "completed"
    assert _planned(sink, upgrade.request_id) == [
        "upgrade_symbol",
        "add_interval 15m",
        "load_historical 1m x2 sessions joining 1 held",
        "load_session 1m",
        "load_session 5m",
        "load_session 15m",
        "register_indicator sma_20_5m",
        "register_indicator rsi_14_1m",
        "calculate_quality 1m",
    ]
    ibm = coordinator.state.symbols["IBM"]
    assert ibm.state == "full" and all(bars.session for bars in ibm.bars.values())
    assert ibm.historical is not None and ibm.historical.rows == sum(
        _regular_minutes(lean_root, "IBM", d, calendar) for d in BEFORE
    )


# --- session only -----------------------------------------------------------------------------------------


def test_a_session_only_request_loads_no_history(lean_store, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    stream_until(coordinator, 90)

    outcome = coordinator.add_bar("IBM", "15m", source="scanner", scope="session")

    assert outcome.status == "completed"
    assert _planned(sink, outcome.request_id) == [
        "create_symbol adhoc",
        "add_interval 1m",
        "add_interval 15m",
        "load_session 1m",
        "load_session 15m",
    ]
    [received] = [e for e in _events(sink, outcome.request_id) if isinstance(e, ev.RequestReceived)]
    assert received.scope is BarScope.SESSION
    assert received.description == "scanner asked for 15m session bars only (no history) of IBM"
    ibm = coordinator.state.symbols["IBM"]
    assert ibm.histories == {} and ibm.historical is None
    assert len(coordinator.view.bars("IBM", "15m")) == 6
    with pytest.raises(KeyError, match="IBM has no 15m history"):
        coordinator.view.history("IBM", "15m")


def test_contradictory_or_unknown_scopes_are_refused_before_anything_is_written(lean_store, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    written = len(sink.events(DAY))

    with pytest.raises(RequestError, match="IBM: a session-only bar request takes no history: days must be 0, got 2"):
        coordinator.add_bar("IBM", "5m", days=2, scope="session")
    with pytest.raises(RequestError, match="IBM: a history-only bar request needs days >= 1, got 0"):
        coordinator.add_bar("IBM", "5m", scope="history")
    with pytest.raises(RequestError, match="IBM: scope must be one of 'both', 'history', 'session', got 'later'"):
        coordinator.add_bar("IBM", "5m", days=1, scope="later")

    assert len(sink.events(DAY)) == written


def test_a_plugin_asks_with_a_scope_and_the_log_names_it(lean_store, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    ctx = PluginContext(coordinator, coordinator.view, Source.SCANNER, calendar.tz, "tests.plugins:Scan")

    outcome = ctx.add_bar("ibm", "5m", days=1, scope="history")

    [received] = [e for e in _events(sink, outcome.request_id) if isinstance(e, ev.RequestReceived)]
    assert (received.symbol, received.source, received.plugin, received.scope) == (
        "IBM",
        Source.SCANNER,
        "tests.plugins:Scan",
        BarScope.HISTORY,
    )


# --- an upgrade loads only the missing sessions -------------------------------------------------------------


def test_an_upgrade_loads_only_the_sessions_the_adhoc_symbol_lacks(lean_store, calendar):
    """IBM holds 2013-10-08 from a scanner's request; the upgrade to three trailing sessions reads 10-04 and
    10-07 only, and ends with the history, indicators and quality a direct full load gives."""
    coordinator, sink = _coordinator(lean_store, calendar)
    coordinator.add_bar("IBM", "5m", days=1, source="scanner")
    stream_until(coordinator, 120)

    upgrade = coordinator.add_symbol("IBM", source="strategy")

    assert upgrade.status == "completed"
    [loaded] = [e for e in _events(sink, upgrade.request_id) if isinstance(e, ev.HistoricalLoaded)]
    assert (loaded.start, loaded.end, loaded.sessions) == (BEFORE[0], BEFORE[1], 2)
    assert loaded.joined is not None
    assert (loaded.joined.start, loaded.joined.end, loaded.joined.sessions) == (BEFORE[0], BEFORE[2], 3)
    every_load = [e for e in sink.events(DAY) if isinstance(e, ev.HistoricalLoaded) and e.symbol == "IBM"]
    assert [(e.start, e.end) for e in every_load] == [(BEFORE[2], BEFORE[2]), (BEFORE[0], BEFORE[1])]

    direct, _ = _coordinator(lean_store, calendar, symbols=["SPY", "IBM"])
    stream_until(direct, 120)
    joined, whole = coordinator.state.symbols["IBM"], direct.state.symbols["IBM"]
    assert joined.historical is not None and whole.historical is not None
    assert (joined.historical.start, joined.historical.end, joined.historical.sessions) == (
        whole.historical.start,
        whole.historical.end,
        whole.historical.sessions,
    )
    assert (joined.historical.rows, joined.historical.digest) == (whole.historical.rows, whole.historical.digest)
    assert loaded.joined.digest == whole.historical.digest
    assert book_values(coordinator)["IBM"][1]["histories"] == book_values(direct)["IBM"][1]["histories"]
    for key in ("rsi_14_1m", "sma_20_5m"):
        assert coordinator.view.indicator("IBM", key) == direct.view.indicator("IBM", key)
    assert joined.quality is not None and whole.quality is not None
    assert joined.quality.historical_quality == whole.quality.historical_quality

    # replay gives the same state, and the joined history's digest is the state's
    assert replay(sink.events(DAY)).symbols == coordinator.state.symbols


def test_a_join_that_does_not_add_up_is_refused_by_apply(lean_store, calendar):
    coordinator, sink = _coordinator(lean_store, calendar)
    coordinator.add_bar("IBM", "1m", days=1, source="scanner")
    upgrade = coordinator.add_symbol("IBM", source="strategy")
    events = sink.events(DAY)
    index = next(
        i for i, e in enumerate(events) if isinstance(e, ev.HistoricalLoaded) and e.request_id == upgrade.request_id
    )
    loaded = events[index]
    assert isinstance(loaded, ev.HistoricalLoaded) and loaded.joined is not None
    wrong = loaded.model_copy(update={"joined": loaded.joined.model_copy(update={"rows": loaded.joined.rows + 1})})

    says = r"joins 1 held sessions \(390 rows\) with 2 \(779\): the joined history says 3 \(1170\)"
    with pytest.raises(InvalidEvent, match=says):
        replay([*events[:index], wrong])
