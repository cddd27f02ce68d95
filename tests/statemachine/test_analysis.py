"""Requirement analysis: pure, on the real XNYS calendar (weekends, the 2015 Christmas holiday and early close)."""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime

import pytest

from specs import events as ev
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.plan import LoadHistorical, Operation, Request, Source
from statemachine.analysis import analyze, warmup_history
from statemachine.errors import AnalysisError
from statemachine.state import SessionState
from tests.statemachine.support import DAY1, SMA_20_5M, seed_config

CHRISTMAS_EVE = date(2015, 12, 24)  # early close
AFTER_CHRISTMAS = date(2015, 12, 28)  # Monday after the Friday holiday
T = datetime(2015, 1, 1, tzinfo=UTC)


def request(operation: Operation, symbol: str = "TSLA", source: Source = Source.SCANNER, **fields) -> Request:
    return Request(request_id="r-1", operation=operation, symbol=symbol, source=source, **fields)


def loading_state(day: date, calendar) -> SessionState:
    state = SessionState()
    state.apply(ev.TeardownStarted(session_date=day))
    state.apply(
        ev.LoadingStarted(session_date=day, open=calendar.open(day), close=calendar.close(day), config_symbols=[])
    )
    return state


def with_symbol(
    state: SessionState,
    symbol: str,
    mode: str,
    intervals: list[str],
    history: tuple[date, date, int] | None = None,
    indicators: list[IndicatorSpec] = (),
    quality: bool = False,
    history_only: tuple[str, ...] = (),
) -> SessionState:
    """Give `state` a symbol the way the executor would, through `apply` (`history_only` intervals get no
    session bars)."""
    env = {"symbol": symbol, "request_id": "setup"}
    state.apply(
        ev.SymbolCreated(
            **env,
            mode=mode,
            base_interval="1m",
            added_by="scanner" if mode == "adhoc" else "config",
            auto_provisioned=mode == "adhoc",
            meets_session_config_requirements=mode == "full",
        )
    )
    for name in intervals:
        interval = Interval(name)
        state.apply(ev.IntervalAdded(**env, interval=interval, derived=not interval.is_base, base=interval.base))
    for name in intervals:
        if name not in history_only:
            state.apply(ev.SessionBarsLoaded(**env, interval=name, rows=0, digest="x"))
    if history:
        start, end, sessions = history
        state.apply(
            ev.HistoricalLoaded(**env, interval="1m", sessions=sessions, start=start, end=end, rows=1, digest="x")
        )
    for spec in indicators:
        state.apply(ev.IndicatorRegistered(**env, indicator=spec, warmup_bars=spec.warmup_bars()))
    if quality:
        state.apply(ev.QualityCalculated(**env, interval="1m", expected=390, present=390, quality=1.0))
    return state


def test_warmup_across_a_weekend_takes_the_sessions_before_it(calendar):
    monday = date(2013, 10, 7)
    spec = IndicatorSpec(type="rsi", period=14, interval="5m")  # (5 x 14 + 1) x 2 = 142 bars of 5m

    history = warmup_history(spec, 2.0, calendar, monday)

    assert history.bars_needed == 142
    assert calendar.expected_bars(date(2013, 10, 4), "5m") == 78
    assert (history.sessions, history.start, history.end) == (2, date(2013, 10, 3), date(2013, 10, 4))


def test_warmup_across_the_christmas_holiday_and_early_close_reaches_further_back(calendar):
    spec = IndicatorSpec(type="sma", period=30, interval="5m")  # 60 bars of 5m
    assert calendar.expected_bars(CHRISTMAS_EVE, "5m") == 42  # 13:00 close: fewer bars than the 60 needed

    after_holiday = warmup_history(spec, 2.0, calendar, AFTER_CHRISTMAS)
    regular = warmup_history(spec, 2.0, calendar, date(2015, 12, 23))

    assert not calendar.is_session(date(2015, 12, 25))
    assert (after_holiday.sessions, after_holiday.start, after_holiday.end) == (2, date(2015, 12, 23), CHRISTMAS_EVE)
    assert (regular.sessions, regular.start, regular.end) == (1, date(2015, 12, 22), date(2015, 12, 22))


def test_an_early_close_still_holds_a_warmup_that_fits_it(calendar):
    rsi = IndicatorSpec(type="rsi", period=14, interval="1m")  # 142 bars of 1m; the early close holds 210
    plan = analyze(
        request(Operation.INDICATOR, indicator=rsi),
        loading_state(AFTER_CHRISTMAS, calendar),
        seed_config(),
        calendar,
        AFTER_CHRISTMAS,
    )
    assert plan.history is not None
    assert (plan.history.sessions, plan.history.start) == (1, CHRISTMAS_EVE)
    assert "142 bars of 1m" in plan.reason


def test_the_warmup_multiplier_scales_the_bars_and_rounds_up(calendar):
    spec = IndicatorSpec(type="ema", period=50, interval="15m")  # 150 bars of warm-up
    history = warmup_history(spec, 1.5, calendar, AFTER_CHRISTMAS)
    assert history.bars_needed == math.ceil(150 * 1.5)
    assert history.start == calendar.sessions_for_bars(AFTER_CHRISTMAS, "15m", 225)[0]


def test_a_config_symbol_needs_everything_in_order(calendar):
    config = seed_config(derived=["1h", "5m", "15m"])
    plan = analyze(
        request(Operation.SYMBOL, "AAPL", Source.CONFIG), loading_state(DAY1, calendar), config, calendar, DAY1
    )

    assert (plan.current_state, plan.target_state) == ("absent", "full")
    assert [str(r.interval) for r in plan.required_intervals] == ["1m", "5m", "15m", "1h"]
    assert plan.step_labels == [
        "create_symbol full",
        "add_interval 1m",
        "add_interval 5m",
        "add_interval 15m",
        "add_interval 1h",
        "load_historical 1m x3 sessions",
        "load_session 1m",
        "load_session 5m",
        "load_session 15m",
        "load_session 1h",
        "register_indicator sma_20_5m",
        "register_indicator rsi_14_1m",
        "calculate_quality 1m",
    ]
    assert (plan.meets_session_config_requirements, plan.added_by, plan.auto_provisioned) == (True, "config", False)


def test_full_history_is_the_longer_of_the_trailing_days_and_an_indicators_warmup(calendar):
    slow = IndicatorSpec(type="ema", period=50, interval="15m")
    config = seed_config(historical={"trailing_days": 1}, indicators=[slow.model_dump(exclude_none=True)])
    plan = analyze(
        request(Operation.SYMBOL, "AAPL", Source.CONFIG), loading_state(DAY1, calendar), config, calendar, DAY1
    )
    needed = calendar.sessions_for_bars(DAY1, "15m", 300)
    assert plan.history is not None and plan.history.sessions == len(needed) > 1
    assert plan.history.start == needed[0]


@pytest.mark.parametrize(
    ("interval", "expected"),
    [("5m", ["1m", "5m"]), ("1h", ["1m", "1h"]), ("5s", ["1s", "5s"]), ("1w", ["1d", "1w"]), ("1m", ["1m"])],
)
def test_a_bar_request_needs_its_interval_and_its_base(calendar, interval, expected):
    plan = analyze(
        request(Operation.BAR, interval=Interval(interval), days=2),
        loading_state(DAY1, calendar),
        seed_config(),
        calendar,
        DAY1,
    )
    assert [str(r.interval) for r in plan.required_intervals] == expected
    assert plan.step_labels[1 : 1 + len(expected)] == [f"add_interval {i}" for i in expected]
    assert plan.history is not None and plan.history.interval == Interval(expected[0]) and plan.history.sessions == 2
    assert plan.target_state == "adhoc" and "calculate_quality 1m" not in plan.step_labels


def test_unknown_symbols_from_scanner_strategy_and_config(calendar):
    state = loading_state(DAY1, calendar)
    config = seed_config()
    scanner = analyze(request(Operation.INDICATOR, indicator=SMA_20_5M), state, config, calendar, DAY1)
    strategy_symbol = analyze(request(Operation.SYMBOL, source=Source.STRATEGY), state, config, calendar, DAY1)
    strategy_bar = analyze(
        request(Operation.BAR, source=Source.STRATEGY, interval=Interval("5m")), state, config, calendar, DAY1
    )
    scanner_symbol = analyze(request(Operation.SYMBOL, source=Source.SCANNER), state, config, calendar, DAY1)

    assert (scanner.target_state, scanner.auto_provisioned, scanner.added_by) == ("adhoc", True, "scanner")
    assert scanner.meets_session_config_requirements is False
    assert (strategy_symbol.target_state, strategy_symbol.auto_provisioned, strategy_symbol.added_by) == (
        "full",
        False,
        "strategy",
    )
    assert (strategy_bar.target_state, strategy_bar.auto_provisioned, strategy_bar.added_by) == (
        "adhoc",
        True,
        "strategy",
    )
    assert scanner_symbol.step_labels == ["create_symbol adhoc", "add_interval 1m", "load_session 1m"]


def test_an_upgrade_adds_only_what_is_missing(calendar):
    before = calendar.previous_sessions(DAY1, 1)[0]
    state = with_symbol(loading_state(DAY1, calendar), "TSLA", "adhoc", ["1m", "5m"], (before, before, 1), [SMA_20_5M])

    plan = analyze(request(Operation.SYMBOL, source=Source.STRATEGY), state, seed_config(), calendar, DAY1)

    assert (plan.current_state, plan.target_state) == ("adhoc", "full")
    assert plan.step_labels == [
        "upgrade_symbol",
        "add_interval 15m",
        "load_historical 1m x2 sessions joining 1 held",
        "load_session 15m",
        "register_indicator rsi_14_1m",
        "calculate_quality 1m",
    ]
    assert (plan.meets_session_config_requirements, plan.added_by, plan.auto_provisioned) == (True, "strategy", True)


def test_history_is_only_extended_never_reloaded_when_it_covers_the_need(calendar):
    five = calendar.previous_sessions(DAY1, 5)
    state = with_symbol(loading_state(DAY1, calendar), "TSLA", "adhoc", ["1m", "5m"], (five[0], five[-1], 5))

    upgrade = analyze(request(Operation.SYMBOL, source=Source.STRATEGY), state, seed_config(), calendar, DAY1)
    longer = analyze(request(Operation.BAR, interval=Interval("1m"), days=8), state, seed_config(), calendar, DAY1)

    assert not any(isinstance(step, LoadHistorical) for step in upgrade.steps)  # 5 sessions cover the 3 trailing
    assert longer.step_labels == ["load_historical 1m x3 sessions joining 5 held"]
    [load] = longer.steps
    eight = calendar.previous_sessions(DAY1, 8)
    assert (load.history.start, load.history.end, load.history.joins) == (eight[0], eight[2], 5)


def test_a_duplicate_request_plans_nothing(calendar):
    before = calendar.previous_session(DAY1)
    state = with_symbol(loading_state(DAY1, calendar), "TSLA", "adhoc", ["1m", "5m"], (before, before, 1), [SMA_20_5M])
    again = analyze(request(Operation.INDICATOR, indicator=SMA_20_5M), state, seed_config(), calendar, DAY1)
    bars = analyze(request(Operation.BAR, interval=Interval("5m")), state, seed_config(), calendar, DAY1)
    assert again.is_noop and bars.is_noop
    assert "already provisioned" in again.reason


def test_a_bar_or_indicator_on_a_full_symbol_adds_just_that(calendar):
    full = seed_config()
    trailing = calendar.previous_sessions(DAY1, 3)
    state = with_symbol(
        loading_state(DAY1, calendar),
        "AAPL",
        "full",
        ["1m", "5m", "15m"],
        (trailing[0], trailing[-1], 3),
        list(full.indicators),
        quality=True,
    )
    bar = analyze(request(Operation.BAR, "AAPL", interval=Interval("30m")), state, full, calendar, DAY1)
    hourly_ema = IndicatorSpec(type="ema", period=10, interval="1h")
    indicator = analyze(request(Operation.INDICATOR, "AAPL", indicator=hourly_ema), state, full, calendar, DAY1)
    again = analyze(request(Operation.SYMBOL, "AAPL", Source.STRATEGY), state, full, calendar, DAY1)

    assert (bar.target_state, bar.step_labels) == ("full", ["add_interval 30m", "load_session 30m"])
    assert indicator.target_state == "full"
    assert indicator.step_labels[0] == "add_interval 1h" and indicator.step_labels[-1] == "register_indicator ema_10_1h"
    assert "calculate_quality 1m" not in indicator.step_labels
    assert again.is_noop


def test_analysis_is_pure(calendar):
    state = with_symbol(loading_state(DAY1, calendar), "TSLA", "adhoc", ["1m"])
    snapshot = copy.deepcopy(state)
    asked = request(Operation.SYMBOL, source=Source.STRATEGY)
    first = analyze(asked, state, seed_config(), calendar, DAY1)
    second = analyze(asked, state, seed_config(), calendar, DAY1)
    assert first == second
    assert state == snapshot


def test_history_before_the_calendar_is_an_analysis_error(calendar):
    early = calendar.first_session
    with pytest.raises(AnalysisError, match="before"):
        analyze(
            request(Operation.BAR, interval=Interval("1m"), days=5),
            loading_state(early, calendar),
            seed_config(),
            calendar,
            early,
        )
