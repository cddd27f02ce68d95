"""The coordinator's protocol: phases, duplicates, illegal triggers, threads, replay and determinism."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from specs import events as ev
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from statemachine.errors import SessionPhaseError, StatemachineError
from statemachine.machines import IllegalTransition, fire_symbol
from statemachine.state import SessionState, replay
from tests.statemachine.support import DAY1, DAY2, SMA_20_5M, stream_to_close, stream_until


def _streaming(make_coordinator, **kwargs):
    coordinator, sink = make_coordinator(**kwargs)
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    return coordinator, sink


def test_a_duplicate_request_is_a_recorded_noop(make_coordinator):
    coordinator, sink = _streaming(make_coordinator)
    stream_until(coordinator, 10)
    first = coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
    symbols = {s: d for s, d in coordinator.state.symbols.items()}
    before = len(sink.events(DAY1))

    again = coordinator.add_indicator("TSLA", "sma_20_5m", source="scanner")
    config_again = coordinator.add_symbol("AAPL", source="strategy")

    assert first.status == "completed"
    assert (again.status, config_again.status) == ("skipped", "skipped")
    written = sink.events(DAY1)[before:]
    assert [e.kind for e in written] == ["RequestReceived", "RequestSkipped"] * 2
    assert written[1].reason.endswith("already provisioned (TSLA is adhoc), nothing to do")
    assert coordinator.state.symbols == symbols
    assert coordinator.state.requests[again.request_id].status == "skipped"


def test_a_bar_on_a_full_symbol_adds_only_the_missing_interval(make_coordinator):
    coordinator, _ = _streaming(make_coordinator)
    outcome = coordinator.add_bar("AAPL", "30m", source="strategy")
    assert outcome.plan is not None and outcome.plan.step_labels == ["add_interval 30m", "load_session 30m"]
    aapl = coordinator.state.symbols["AAPL"]
    assert aapl.state == "full" and list(aapl.bars) == ["1m", "5m", "15m", "30m"]
    assert aapl.bars["30m"].count == 0  # as of the open, when it was asked: none of them has closed
    stream_to_close(coordinator)
    coordinator.end_day()
    assert coordinator.ended_state is not None and coordinator.ended_state.symbols["AAPL"].bars["30m"].count == 13


def test_history_is_extended_by_a_longer_bar_request(make_coordinator, calendar):
    coordinator, _ = _streaming(make_coordinator)
    shorter = coordinator.add_bar("AAPL", "1m", days=2)
    longer = coordinator.add_bar("AAPL", "1m", days=6)
    assert shorter.status == "skipped"
    # AAPL (a config symbol) holds 3 trailing sessions: only the 3 before them are read, then joined
    assert longer.plan is not None and longer.plan.step_labels == ["load_historical 1m x3 sessions joining 3 held"]
    six = calendar.previous_sessions(DAY1, 6)
    history = coordinator.state.symbols["AAPL"].historical
    assert history is not None and (history.start, history.end, history.sessions) == (six[0], six[-1], 6)
    assert coordinator.book.get("AAPL").histories["1m"].sessions == tuple(six)


def test_adding_outside_loading_or_streaming_raises_naming_the_phase(make_coordinator):
    coordinator, _ = make_coordinator()
    with pytest.raises(SessionPhaseError, match="the session is idle; allowed only while loading or streaming"):
        coordinator.add_symbol("AAPL")
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    coordinator.end_day()
    with pytest.raises(SessionPhaseError, match="cannot add TSLA: the session 2013-10-09 is tearing_down"):
        coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
    with pytest.raises(SessionPhaseError, match="tearing_down"):
        coordinator.load_config_symbols()


def test_an_illegal_trigger_names_the_subject_its_state_and_the_trigger(make_coordinator, calendar):
    coordinator, sink = _streaming(make_coordinator)
    written = len(sink.events(DAY1))
    with pytest.raises(IllegalTransition) as session_error:
        coordinator.start_streaming()
    assert str(session_error.value).startswith("session 2013-10-09: cannot StreamingStarted from state streaming")
    assert len(sink.events(DAY1)) == written  # nothing was written

    aapl = coordinator.state.symbols["AAPL"]
    with pytest.raises(IllegalTransition) as symbol_error:
        fire_symbol(aapl, "upgrade", "AAPL")
    assert (symbol_error.value.subject, symbol_error.value.state, symbol_error.value.trigger) == (
        "AAPL",
        "full",
        "upgrade",
    )
    assert "AAPL: cannot upgrade from state full" in str(symbol_error.value)

    replayed = replay(sink.events(DAY1))
    with pytest.raises(IllegalTransition, match="AAPL: cannot upgrade from state full"):
        replayed.apply(ev.SymbolUpgraded(symbol="AAPL", added_by="strategy"))


def test_phases_and_their_events(make_coordinator, calendar):
    coordinator, sink = make_coordinator()
    coordinator.begin_day(DAY1)
    assert coordinator.state.phase == "loading"
    assert coordinator.clock.now() == calendar.open(DAY1)
    loading = sink.events(DAY1)[1]
    assert isinstance(loading, ev.LoadingStarted)
    assert (loading.open, loading.close, loading.early_close) == (calendar.open(DAY1), calendar.close(DAY1), False)
    assert loading.config_symbols == ["AAPL", "MSFT"]
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    stream_to_close(coordinator)
    coordinator.end_day()
    events = sink.events(DAY1)
    ended = next(e for e in events if isinstance(e, ev.SessionEnded))
    assert ended.steps == len(coordinator.step_times()) == 390
    assert ended.symbols == {"AAPL": "full", "MSFT": "full"}
    assert coordinator.state.phase == "tearing_down"
    assert all(e.sim_time is not None for e in events)
    with pytest.raises(IllegalTransition, match="cannot StreamingStarted from state tearing_down"):
        coordinator.start_streaming()
    with pytest.raises(StatemachineError, match="is past its open"):
        coordinator.begin_day(calendar.previous_session(DAY1))


def test_step_times_follow_the_calendar_on_an_early_close(make_coordinator, calendar):
    christmas_eve = date(2015, 12, 24)
    coordinator, _ = make_coordinator(first_day=christmas_eve)
    coordinator.begin_day(christmas_eve)
    times = coordinator.step_times()
    assert len(times) == calendar.expected_bars(christmas_eve, "1m") == 210
    assert times[0] == calendar.open(christmas_eve) + timedelta(minutes=1)
    assert times[-1] == calendar.close(christmas_eve)
    assert coordinator.state.early_close is True


def test_abort_records_the_error(make_coordinator):
    coordinator, sink = _streaming(make_coordinator)
    coordinator.abort(RuntimeError("strategy blew up"))
    assert coordinator.state.phase == "aborted"
    assert sink.events(DAY1)[-1] == ev.SessionAborted(
        sim_time=coordinator.clock.now(), error="RuntimeError: strategy blew up"
    )
    with pytest.raises(SessionPhaseError):
        coordinator.add_symbol("IBM")


def test_request_ids_and_sim_times(make_coordinator):
    coordinator, sink = _streaming(make_coordinator)
    stream_until(coordinator, 30)
    outcome = coordinator.add_bar("IBM", "15m", days=1, source="scanner")
    assert outcome.request_id == "20131009-0003"
    assert {e.sim_time for e in sink.events(DAY1) if e.request_id == outcome.request_id} == {coordinator.clock.now()}
    assert coordinator.state.symbols["IBM"].added_at == coordinator.clock.now()
    assert coordinator.state.symbols["AAPL"].added_at is None


def test_a_second_run_writes_identical_events(make_coordinator):
    def run():
        coordinator, sink = make_coordinator()
        for day in (DAY1, DAY2):
            coordinator.begin_day(day)
            coordinator.load_config_symbols()
            coordinator.start_streaming()
            stream_until(coordinator, 20)
            coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
            stream_until(coordinator, 200)
            coordinator.add_symbol("TSLA", source="strategy")
            stream_to_close(coordinator)
            coordinator.end_day()
        return [(d, seq, e.model_dump(mode="json")) for d, seq, e in sink.all_events()]

    assert run() == run()


def test_replaying_the_stream_equals_the_live_state_at_every_phase(make_coordinator):
    coordinator, sink = make_coordinator()
    checkpoints = []
    coordinator.begin_day(DAY1)
    checkpoints.append(coordinator.state)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    stream_until(coordinator, 30)
    coordinator.add_indicator("TSLA", SMA_20_5M, source="scanner")
    coordinator.add_bar("IBM", "1h", days=2, source="scanner")
    assert replay(sink.events(DAY1)) == coordinator.state
    stream_to_close(coordinator)
    coordinator.end_day()
    fresh = SessionState()
    for event in sink.events(DAY1):
        fresh.apply(event)
    assert fresh == coordinator.state
    assert fresh.events_applied == len(sink.events(DAY1))


def test_requests_from_many_threads_are_atomic_batches(make_coordinator):
    coordinator, sink = _streaming(make_coordinator)
    stream_until(coordinator, 60)
    specs = [IndicatorSpec(type="sma", period=p, interval=i) for p in (5, 10) for i in ("1m", "5m", "15m")]
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker(n: int) -> None:
        try:
            start.wait()
            for k, spec in enumerate(specs):
                symbol = ("TSLA", "IBM", "AAPL")[(n + k) % 3]
                coordinator.add_indicator(symbol, spec, source="scanner")
                coordinator.add_bar(symbol, "30m", days=1 + n % 2, source="scanner")
                coordinator.view.indicator(symbol, spec.key)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    events = sink.events(DAY1)
    ids = [e.request_id for e in events if isinstance(e, ev.RequestReceived)]
    assert ids == [f"20131009-{n:04d}" for n in range(1, len(ids) + 1)]
    assert len(ids) == 2 + 6 * len(specs) * 2
    order = [e.request_id for e in events if e.request_id]
    assert order == sorted(order)  # each request's events are one contiguous batch
    for symbol in ("TSLA", "IBM", "AAPL"):
        assert set(coordinator.state.symbols[symbol].indicators) >= {s.key for s in specs}
        assert Interval("30m") in [b.interval for b in coordinator.state.symbols[symbol].bars.values()]
    assert replay(events) == coordinator.state


def test_the_asking_plugin_is_recorded_and_bad_input_consumes_no_request_id(make_coordinator):
    coordinator, sink = _streaming(make_coordinator)
    with pytest.raises(ValueError, match="days must be a whole number of sessions >= 0"):
        coordinator.add_bar("IBM", "5m", days=-1)
    with pytest.raises(ValueError, match="invalid symbol"):
        coordinator.add_symbol("NOT A SYMBOL")

    outcome = coordinator.add_indicator("ibm", "ema_10_15m", source="scanner", plugin="daytape.examples:ListScanner")

    assert (outcome.request_id, outcome.symbol, outcome.ok) == ("20131009-0003", "IBM", True)
    received = next(e for e in sink.events(DAY1) if e.request_id == outcome.request_id)
    assert isinstance(received, ev.RequestReceived)
    assert received.plugin == "daytape.examples:ListScanner"
    assert received.description == "scanner asked for indicator ema_10_15m of IBM"
