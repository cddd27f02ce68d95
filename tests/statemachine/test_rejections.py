"""Validation and failure: what the user sees, and that every other symbol is untouched.

Unknown symbol, unsupported interval, history too short, a corrupt data file, a step that fails mid-plan;
graceful degradation of the config load (the day fails only when every configured symbol fails).
"""

from __future__ import annotations

import copy

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from marketdata.sources.storecache import StoreCache
from specs import events as ev
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.plan import LoadHistorical, Operation, RegisterIndicator, Request, Source
from statemachine.analysis import analyze
from statemachine.errors import SessionPhaseError
from statemachine.machines import IllegalTransition
from statemachine.state import replay
from statemachine.validation import validate
from tests.statemachine.support import DAY1, SMA_20_5M, book_values, seed_config, stream_to_close, stream_until


def _kinds(events) -> list[str]:
    return [e.kind for e in events]


def _request_events(sink, request_id: str) -> list[ev.EventBase]:
    return [e for e in sink.events(DAY1) if e.request_id == request_id]


def _streaming(make_coordinator, **kwargs):
    coordinator, sink = make_coordinator(**kwargs)
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    stream_until(coordinator, 45)
    return coordinator, sink


def _snapshot(coordinator):
    """The symbols' metadata and the book's numbers, by value, to compare before and after a request."""
    return copy.deepcopy(coordinator.state.symbols), book_values(coordinator)


def _assert_untouched(coordinator, snapshot) -> None:
    symbols, book = snapshot
    assert coordinator.state.symbols == symbols
    assert book_values(coordinator) == book


def test_an_unknown_config_symbol_is_rejected_and_the_day_goes_on(make_coordinator):
    coordinator, sink = make_coordinator(seed_config(symbols=["AAPL", "ZZZZ"]))
    coordinator.begin_day(DAY1)

    outcomes = coordinator.load_config_symbols()

    assert [(o.symbol, o.status) for o in outcomes] == [("AAPL", "completed"), ("ZZZZ", "rejected")]
    assert outcomes[1].reason == "ZZZZ: no 1m bars in the store"
    assert coordinator.state.rejected == {"ZZZZ": "ZZZZ: no 1m bars in the store"}
    assert list(coordinator.state.symbols) == ["AAPL"]
    assert _kinds(_request_events(sink, outcomes[1].request_id)) == [
        "RequestReceived",
        "RequestPlanned",
        "SymbolRejected",
    ]
    rejected = _request_events(sink, outcomes[1].request_id)[-1]
    assert rejected.result is not None and rejected.result.data_source_available is False
    coordinator.start_streaming()
    assert coordinator.state.phase == "streaming"


@pytest.mark.parametrize(
    ("interval", "reason"),
    [
        ("5s", "AAPL: unsupported interval 5s: it derives from 1s, and the store holds only 1m bars of AAPL"),
        ("1s", "AAPL: unsupported interval 1s: the store holds only 1m bars of AAPL"),
        ("1w", "AAPL: unsupported interval 1w: it derives from 1d, and the store holds only 1m bars of AAPL"),
    ],
)
def test_an_unsupported_interval_is_rejected_and_the_symbol_is_untouched(make_coordinator, interval, reason):
    coordinator, _ = _streaming(make_coordinator)
    before = _snapshot(coordinator)

    outcome = coordinator.add_bar("AAPL", interval, source="strategy")

    assert (outcome.status, outcome.reason) == ("rejected", reason)
    _assert_untouched(coordinator, before)


def test_a_session_without_bars_is_rejected(private_store, make_coordinator):
    (private_store.day_file("TSLA", "1m", DAY1)).unlink()
    coordinator, _ = _streaming(make_coordinator, bar_store=private_store)

    outcome = coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")

    assert outcome.reason == "TSLA: no 1m bars in the store for the session 2013-10-09"
    assert "TSLA" not in coordinator.state.symbols


def test_history_too_short_names_the_missing_sessions(private_store, make_coordinator, calendar):
    wanted = calendar.previous_sessions(DAY1, 3)
    for day in wanted[:2]:
        private_store.day_file("MSFT", "1m", day).unlink()
    coordinator, _ = make_coordinator(bar_store=private_store)
    coordinator.begin_day(DAY1)

    outcomes = coordinator.load_config_symbols()

    assert outcomes[1].status == "rejected"
    assert outcomes[1].reason == (
        f"MSFT: history too short: 1 of 3 sessions before 2013-10-09 (missing {wanted[0]}, {wanted[1]})"
    )
    assert coordinator.state.symbols["AAPL"].state == "full"
    assert "MSFT" not in coordinator.state.symbols


def test_a_long_list_of_missing_sessions_is_cut_short(store, calendar):
    config = seed_config()
    asked = Request(request_id="r", operation=Operation.BAR, symbol="AAPL", source=Source.ADHOC, interval="1m", days=40)
    state = replay(
        [
            ev.TeardownStarted(session_date=DAY1),
            ev.LoadingStarted(session_date=DAY1, open=calendar.open(DAY1), close=calendar.close(DAY1)),
        ]
    )
    plan = analyze(asked, state, config, calendar, DAY1)

    result = validate(plan, StoreCache(store, calendar), calendar)

    needed = calendar.previous_sessions(DAY1, 40)
    stored = set(store.days("AAPL", "1m"))
    missing = [d for d in needed if d not in stored]
    assert not result.can_proceed and not result.has_historical_data
    assert result.reason.startswith(f"AAPL: history too short: {40 - len(missing)} of 40 sessions before 2013-10-09")
    assert result.reason.endswith(f"and {len(missing) - 8} more)")
    assert str(missing[0]) in result.reason and str(missing[8]) not in result.reason


def test_a_passing_validation_says_what_is_there(store, calendar):
    state = replay(
        [
            ev.TeardownStarted(session_date=DAY1),
            ev.LoadingStarted(session_date=DAY1, open=calendar.open(DAY1), close=calendar.close(DAY1)),
        ]
    )
    asked = Request(request_id="r", operation=Operation.SYMBOL, symbol="AAPL", source=Source.CONFIG)
    result = validate(analyze(asked, state, seed_config(), calendar, DAY1), StoreCache(store, calendar), calendar)
    assert result.can_proceed and result.data_source_available and result.has_historical_data
    assert result.intervals_supported == ["1m", "5m", "15m"]
    assert result.meets_config_requirements is True
    assert result.data_source == f"parquet:{store.root}"


def test_a_corrupt_data_file_fails_the_step_that_reads_it(private_store, make_coordinator, calendar):
    damaged = private_store.day_file("MSFT", "1m", calendar.previous_session(DAY1))
    damaged.write_bytes(b"this is not parquet")
    coordinator, sink = make_coordinator(bar_store=private_store)
    coordinator.begin_day(DAY1)

    outcomes = coordinator.load_config_symbols()

    assert [o.status for o in outcomes] == ["completed", "failed"]
    failed = _request_events(sink, outcomes[1].request_id)
    assert _kinds(failed) == ["RequestReceived", "RequestPlanned", "SymbolValidated", "ProvisioningFailed"]
    event = failed[-1]
    assert event.step == "load_historical 1m x3 sessions"
    assert event.error.startswith(f"CorruptDataError: {damaged}: unreadable Parquet file")
    assert event.completed_steps == ["create_symbol full", "add_interval 1m", "add_interval 5m", "add_interval 15m"]
    assert outcomes[1].reason == f"MSFT: load_historical 1m x3 sessions failed: {event.error}"
    assert "MSFT" not in coordinator.state.symbols and coordinator.book.get("MSFT") is None
    assert coordinator.state.symbols["AAPL"].state == "full"
    assert coordinator.state.requests[outcomes[1].request_id].status == "failed"
    coordinator.start_streaming()


def test_a_step_that_fails_mid_plan_leaves_the_symbol_as_it_was(make_coordinator):
    armed = {"on": False}

    def fail_loading_history(symbol, step):
        if armed["on"] and symbol == "TSLA" and isinstance(step, LoadHistorical):
            raise OSError("disk went away")

    coordinator, sink = _streaming(make_coordinator, faults=fail_loading_history)
    coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
    stream_until(coordinator, 90)
    before = _snapshot(coordinator)
    value_before = coordinator.view.indicator("TSLA", "sma_20_5m")
    armed["on"] = True

    outcome = coordinator.add_symbol("TSLA", source="strategy")

    step = "load_historical 1m x2 sessions joining 1 held"
    assert (outcome.status, outcome.failed_step) == ("failed", step)
    assert outcome.reason == f"TSLA: {step} failed: OSError: disk went away"
    failure = _request_events(sink, outcome.request_id)[-1]
    assert isinstance(failure, ev.ProvisioningFailed)
    assert failure.completed_steps == ["upgrade_symbol", "add_interval 15m"]
    _assert_untouched(coordinator, before)
    assert coordinator.state.symbols["TSLA"].state == "adhoc"
    assert coordinator.view.indicator("TSLA", "sma_20_5m") == value_before
    assert replay(sink.events(DAY1)) == coordinator.state

    armed["on"] = False
    retry = coordinator.add_symbol("TSLA", source="strategy")
    assert retry.status == "completed" and coordinator.state.symbols["TSLA"].state == "full"


def test_a_step_failing_after_a_longer_history_was_loaded_leaves_the_old_history(make_coordinator, calendar):
    """The failure comes after a step that replaced the symbol's history with a longer one in the staged
    book; the book must still hold the old one, by value (a snapshot of the same objects would compare
    equal to itself whatever happened to them)."""
    armed = {"on": False}

    def fail_registering(symbol, step):
        if armed["on"] and symbol == "TSLA" and isinstance(step, RegisterIndicator):
            raise RuntimeError("indicator engine down")

    coordinator, sink = _streaming(make_coordinator, faults=fail_registering)
    assert coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner").status == "completed"
    history = coordinator.book.get("TSLA").histories["1m"]
    before = _snapshot(coordinator)
    armed["on"] = True

    outcome = coordinator.add_indicator("TSLA", IndicatorSpec(type="ema", period=30, interval="5m"), "scanner")

    assert (outcome.status, outcome.failed_step) == ("failed", "register_indicator ema_30_5m")
    completed = _request_events(sink, outcome.request_id)[-1].completed_steps
    assert [step.split()[0] for step in completed] == ["load_historical"]
    _assert_untouched(coordinator, before)
    assert coordinator.book.get("TSLA").histories["1m"].sessions == history.sessions
    assert replay(sink.events(DAY1)) == coordinator.state


def test_a_failing_indicator_step_during_config_load_drops_only_that_symbol(make_coordinator):
    def fail_msft_indicators(symbol, step):
        if symbol == "MSFT" and isinstance(step, RegisterIndicator):
            raise RuntimeError("indicator engine down")

    coordinator, _ = make_coordinator(faults=fail_msft_indicators)
    coordinator.begin_day(DAY1)
    outcomes = coordinator.load_config_symbols()
    assert [o.status for o in outcomes] == ["completed", "failed"]
    assert list(coordinator.state.symbols) == ["AAPL"]
    assert coordinator.book.symbols() == ["AAPL"]


def test_the_day_fails_only_when_every_configured_symbol_fails(make_coordinator):
    coordinator, sink = make_coordinator(seed_config(symbols=["ZZZZ", "YYYY"]))
    coordinator.begin_day(DAY1)

    outcomes = coordinator.load_config_symbols()

    assert [o.status for o in outcomes] == ["rejected", "rejected"]
    assert coordinator.state.phase == "failed"
    last = sink.events(DAY1)[-1]
    assert isinstance(last, ev.SessionFailed)
    assert last.reason == (
        "every configured symbol failed: ZZZZ: no 1m bars in the store; YYYY: no 1m bars in the store"
    )
    with pytest.raises(IllegalTransition, match="cannot StreamingStarted from state failed"):
        coordinator.start_streaming()
    with pytest.raises(SessionPhaseError, match="failed"):
        coordinator.add_symbol("AAPL")


def test_a_day_without_config_symbols_does_not_fail(make_coordinator):
    coordinator, _ = make_coordinator(seed_config(symbols=[]))
    coordinator.begin_day(DAY1)
    assert coordinator.load_config_symbols() == []
    coordinator.start_streaming()
    assert coordinator.add_indicator("IBM", IndicatorSpec(type="ema", period=5, interval="15m")).status == "completed"
    assert coordinator.state.symbols["IBM"].bars["15m"].base == Interval("1m")


def test_mid_session_failures_leave_every_symbol_and_the_book_as_they_were(private_store, make_coordinator):
    private_store.day_file("TSLA", "1m", DAY1).write_bytes(b"PAR1 but not really")
    daily = private_store.day_file("AAPL", "1d", DAY1)
    daily.parent.mkdir(parents=True)
    daily.write_bytes(b"garbage")
    coordinator, sink = _streaming(make_coordinator, bar_store=private_store)
    coordinator.add_bar("IBM", "15m", days=1, source="scanner")
    before = _snapshot(coordinator)

    corrupt_session = coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
    corrupt_listing = coordinator.add_bar("AAPL", "1d", days=2, source="strategy")
    unknown = coordinator.add_indicator("ZZZZ", SMA_20_5M, source="scanner")

    assert (corrupt_session.status, corrupt_session.failed_step) == ("failed", "load_session 1m")
    assert f"CorruptDataError: {private_store.day_file('TSLA', '1m', DAY1)}: unreadable Parquet file" in (
        corrupt_session.reason
    )
    assert corrupt_listing.status == "rejected"
    assert corrupt_listing.reason.startswith(f"AAPL: {daily}: unreadable Parquet file")
    assert (unknown.status, unknown.reason) == ("rejected", "ZZZZ: no 1m bars in the store")
    _assert_untouched(coordinator, before)
    assert replay(sink.events(DAY1)) == coordinator.state


def test_bad_bars_in_the_session_are_flagged_and_left_out(private_store, make_coordinator, calendar):
    table = private_store.read_days("IBM", "1m", [DAY1]).table
    close = table.column("close").to_numpy().copy()
    volume = table.column("volume").to_numpy().copy()
    close[100], volume[200] = float("nan"), -5.0
    damaged = table.set_column(4, "close", pa.array(close)).set_column(5, "volume", pa.array(volume))
    damaged = pa.concat_tables([damaged, damaged.slice(300, 1)])
    damaged = damaged.take(pc.sort_indices(damaged, [("ts", "ascending")]))
    private_store.day_file("IBM", "1m", DAY1).unlink()
    private_store.write("IBM", "1m", damaged)
    coordinator, sink = make_coordinator(seed_config(symbols=["IBM"]), bar_store=private_store)
    coordinator.begin_day(DAY1)

    assert coordinator.load_config_symbols()[0].status == "completed"

    loaded = next(e for e in sink.events(DAY1) if isinstance(e, ev.SessionBarsLoaded))
    assert (loaded.rows, loaded.flagged) == (0, {})  # at the open no bad bar has closed yet
    coordinator.start_streaming()
    stream_to_close(coordinator)
    coordinator.end_day()
    streamed = next(e for e in sink.events(DAY1) if isinstance(e, ev.SymbolStreamed))
    assert streamed.flagged == {"1m": {"duplicate": 1, "nan_price": 1, "negative_volume": 1}}
    opened, closed = calendar.open(DAY1), calendar.close(DAY1)
    ts = table.column("ts").to_pylist()
    regular = sum(1 for t in ts if opened <= t < closed)
    ended = coordinator.ended_state
    assert ended is not None and ended.symbols["IBM"].bars["1m"].count == streamed.bars["1m"] == regular - 2
    assert ended.symbols["IBM"].bars["1m"].flagged == streamed.flagged["1m"]
