"""Random multi-day histories against the real coordinator, a real SQLite log and the generated Parquet store.

A hypothesis `RuleBasedStateMachine` walks the sessions around Thanksgiving 2023 (a holiday, an early close)
in order. Each example draws a session config (AAA and PART in full, 1m + 5m [+ 15m], one or two
indicators, one or two trailing sessions) and then a history of moves:

- begin the next session, load the config symbols, start streaming, stream k clock steps, end the day;
- `add_symbol` / `add_bar` / `add_indicator` from the scanner, the strategy or ad hoc, on stored symbols,
  on PART (missing some days) and on ZZZZ (never stored), with unsupported intervals (1s, 5s), history
  the store cannot cover, a negative `days`, and duplicates;
- symbol moves drawn from `SYMBOL_TRANSITIONS` (create full, create ad hoc, upgrade) and session moves
  drawn from `SESSION_TRANSITIONS` (begin, start streaming, end, abort): legal ones are made, illegal ones
  must be refused without changing anything, as must calls the day's phase does not allow;
- an injected failure of one step kind (the coordinator's `faults` hook) for the next request only.

The test keeps its own model of what each symbol should be (lifecycle state, the five metadata fields,
intervals, indicators, history start) and predicts each request's outcome, plan and target state from the
calendar and the days it generated, never from the code it checks. Its numbers come from an independent
oracle (tests/properties/oracle.py): history spans counted from the calendar's open and close, bars read
with pandas and resampled in bins anchored at the session open and cut at the close, indicators as plain
loops, quality counted minute by minute. After every step the `@invariant` methods below hold: state and
data agree, symbols are what their requests made, full symbols carry the session config, upgrades were ad
hoc earlier that day, nothing survives a teardown, the log replays to the live state and audits clean, and
plugins see the oracle's closed bars, its indicator values at the last of them and, for full symbols, its
quality of the minutes due by now; an ended day records the oracle's whole-day counts and quality.

Budget: under the `ci` profile 30 examples of up to 50 steps; other profiles keep their own numbers
(`.venv/bin/pytest tests/properties --hypothesis-profile=deep` runs 1000 examples of up to 80 steps).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from eventlog.audit import audit_run
from eventlog.manifest import RunManifest
from eventlog.replay import read_payload, replay_day, replay_rows
from eventlog.sink import RunSink
from eventlog.store import EventFilter, EventStore, open_store
from marketdata.bars import SessionBars
from marketdata.clock import SimulatedClock
from marketdata.sources.storecache import StoreCache
from specs.config import SessionConfig
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.lifecycle import (
    SESSION_TRANSITIONS,
    SYMBOL_ADDING_PHASES,
    SYMBOL_TRANSITIONS,
    SessionPhase,
    SymbolState,
    symbol_transition,
)
from specs.plan import Operation, ProvisioningStep, Source
from statemachine.coordinator import Outcome, SessionCoordinator
from statemachine.errors import SessionPhaseError, StatemachineError
from statemachine.export import state_json
from statemachine.machines import IllegalTransition, allowed_triggers
from statemachine.state import SessionState
from tests.properties import oracle
from tests.properties.conftest import FULL_SYMBOLS, PARTIAL_SYMBOL, UNKNOWN_SYMBOL, PropertyStore

ABSENT, ADHOC, FULL = (s.value for s in SymbolState)
CONFIG_SYMBOLS = (FULL_SYMBOLS[0], PARTIAL_SYMBOL)
STORED_SYMBOLS = (*FULL_SYMBOLS, PARTIAL_SYMBOL)
REQUEST_SYMBOLS = (*STORED_SYMBOLS, UNKNOWN_SYMBOL)
REQUEST_SOURCES = tuple(s.value for s in Source if s is not Source.CONFIG)
ADHOC_SOURCES = (Source.SCANNER.value, Source.ADHOC.value)
BAR_INTERVALS = ("1m", "5m", "15m", "30m", "1h", "5s", "1s")
HISTORY_DAYS = (0, 1, 2, 3, 12, -1)
#: add_bar's scopes; "history" with 0 days and "session" with days are refused before anything is written
BAR_SCOPES = ("both", "history", "session")
INDICATOR_KEYS = ("sma_20_5m", "rsi_14_1m", "ema_10_15m", "macd_12_26_9_5m", "atr_14_30m", "vwap_1m")
CONFIG_INDICATORS = ("sma_20_5m", "rsi_14_1m", "ema_10_15m")
#: Every step kind of a provisioning plan, from the typed steps in specs.
STEP_KINDS = tuple(step.model_fields["step"].default for step in typing.get_args(typing.get_args(ProvisioningStep)[0]))
#: Mostly no fault; sometimes one step kind fails for the next request.
FAULTS = (None, None, None, None, *STEP_KINDS)
#: The session triggers a coordinator call causes (begin_day writes TeardownStarted and LoadingStarted on a
#: fresh state; SessionFailed comes from a load where every config symbol failed).
SESSION_MOVES: dict[str, str] = {
    "TeardownStarted": "begin_day",
    "StreamingStarted": "start_streaming",
    "SessionEnded": "end_day",
    "SessionAborted": "abort",
}
#: The symbol triggers a request causes (tear_down comes with end_day).
SYMBOL_MOVES = tuple(t.trigger for t in SYMBOL_TRANSITIONS if t.trigger != "tear_down")
REFUSABLE_CALLS = ("add_symbol", "add_bar", "add_indicator", "load_config_symbols", "begin_day")

assert set(SESSION_MOVES) <= {t.trigger for t in SESSION_TRANSITIONS}


class InjectedFault(RuntimeError):
    """The failure the `faults` hook raises."""


@dataclass
class Expected:
    """What the test expects one symbol of the day to be."""

    state: str
    added_by: str
    auto_provisioned: bool
    meets: bool
    upgraded: bool
    added_at: datetime | None
    intervals: set[str]
    indicators: set[str]
    history: dict[str, date] = field(default_factory=dict)  # base interval -> first history session loaded
    #: the intervals whose session bars were loaded (the others are held for their history only)
    sessions: set[str] = field(default_factory=set)
    #: indicator key -> the first session of the history it was warmed up on (None: no history)
    warmed_from: dict[str, date | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Forecast:
    """A request's predicted outcome: its status, the step kinds of its plan, and the symbol afterwards."""

    status: str
    kinds: frozenset[str]
    after: Expected | None
    target: str | None = None


def machine_settings() -> settings:
    """30 examples of up to 50 steps under the `ci` profile; every other profile as it is registered."""
    if settings.get_current_profile_name() == "ci":
        return settings(max_examples=30, stateful_step_count=50)
    return settings()


def assert_same_value(seen: Any, expected: Any, what: str) -> None:
    message = f"{what}: the view shows {seen!r}, the bars closed by now give {expected!r}"
    if expected is None or seen is None:
        assert seen is None and expected is None, message
        return
    assert isinstance(seen, dict) == isinstance(expected, dict), message
    pairs = list(zip(seen.values(), expected.values(), strict=True)) if isinstance(seen, dict) else [(seen, expected)]
    for a, b in pairs:
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), message


class SessionMachine(RuleBasedStateMachine):
    """The coordinator, its SQLite log and the test's model of the day, moved by rules, checked by invariants."""

    def __init__(self, data: PropertyStore) -> None:
        super().__init__()
        self.data = data
        self.cal = data.calendar
        self.folder = Path(tempfile.mkdtemp(prefix="daytape-properties-"))
        self.log: EventStore = open_store(f"sqlite:///{self.folder / 'log.db'}")
        self.fault: tuple[str, str] | None = None
        self.model: dict[str, Expected] = {}
        self.adhoc_today: set[str] = set()
        self.days: tuple[date, ...] = ()
        self.day_index = -1
        self.loaded = False
        self.requests_today = 0
        self.indicator_cache: dict[tuple[str, date, str, date | None], tuple[dict[str, list[float]], int]] = {}
        self.arrays_cache: dict[tuple[str, date, str], dict[str, np.ndarray]] = {}

    # --- set-up ------------------------------------------------------------------------------------

    @initialize(
        trailing=st.integers(1, 2),
        derived=st.sampled_from((("5m",), ("5m", "15m"), ("15m", "1h"))),
        indicators=st.lists(st.sampled_from(CONFIG_INDICATORS), min_size=1, max_size=2, unique=True),
        first=st.integers(0, 3),
    )
    def configure(self, trailing: int, derived: tuple[str, ...], indicators: list[str], first: int) -> None:
        self.days = self.data.sessions[first:]
        self.config = SessionConfig.model_validate(
            {
                "name": "property-sessions",
                "start": self.days[0],
                "end": self.days[-1],
                "store": str(self.data.root),
                "symbols": list(CONFIG_SYMBOLS),
                "streams": ["1m"],
                "derived": list(derived),
                "historical": {"enabled": True, "trailing_days": trailing},
                "indicators": [IndicatorSpec.parse_key(k).model_dump(exclude_none=True) for k in indicators],
            }
        )
        self.run_id = self.log.create_run(RunManifest.for_config("property-sessions", self.config.to_yaml_dict()))
        clock = SimulatedClock(self.cal.open(self.days[0]) - timedelta(hours=1))
        self.coordinator = SessionCoordinator(
            self.config,
            StoreCache(self.data.bar_store(), self.cal),
            self.cal,
            RunSink(self.log, self.run_id),
            clock,
            self._inject,
        )
        self._begin_next_day()

    def teardown(self) -> None:
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _inject(self, symbol: str, step: ProvisioningStep) -> None:
        if self.fault is not None and self.fault == (symbol, step.step):
            raise InjectedFault(f"injected failure of {step.step} for {symbol}")

    # --- what the test reads ---------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        return self.coordinator.state.phase

    @property
    def day(self) -> date:
        return self.days[self.day_index]

    def _head(self) -> int:
        return self.log.head(self.run_id, self.day)[0]

    def _rows_after(self, seq: int) -> list[tuple[Any, ...]]:
        rows = self.log.events(self.run_id, EventFilter(session_date=self.day, seq_from=seq + 1))
        return [(row.seq, row.kind, row.request_id, row.symbol, row.payload_json) for row in rows]

    def _book_summary(self) -> dict[str, Any]:
        """The book's entries by identity: a changed, added or re-made array shows."""
        book = self.coordinator.book
        summary = {}
        for symbol in book.symbols():
            entry = book.get(symbol)
            assert entry is not None
            summary[symbol] = {
                part: {key: id(value) for key, value in getattr(entry, part).items()}
                for part in ("intervals", "histories", "indicators", "session_ts")
            }
        return summary

    def _snapshot(self) -> dict[str, Any]:
        return {"state": state_json(self.coordinator.state), "book": self._book_summary()}

    def _symbols_snapshot(self) -> dict[str, Any]:
        """The symbols, the phase and the book, without the export's records of what was refused and why."""
        export = state_json(self.coordinator.state)
        return {"symbols": export["symbols"], "phase": export["session_state"], "book": self._book_summary()}

    def _everything(self) -> dict[str, Any]:
        """The state, the book, every stream's head and the clock: what a refused call must leave alone."""
        heads = {d: self.log.head(self.run_id, d)[0] for d in self.days}
        return {**self._snapshot(), "heads": heads, "now": self.coordinator.clock.now()}

    # --- the forecast ------------------------------------------------------------------------------------

    def _full_history_start(self) -> date:
        """The first session a full symbol's 1m history must reach: trailing sessions or the longest warm-up."""
        starts = [self.cal.previous_sessions(self.day, self.config.trailing_days)[0]]
        starts += [self._warmup_start(spec) for spec in self.config.indicators]
        return min(starts)

    def _warmup_start(self, spec: IndicatorSpec) -> date:
        bars = math.ceil(spec.warmup_bars() * self.config.warmup_multiplier)
        return oracle.sessions_for_bars(self.cal, self.day, oracle.minutes_of(str(spec.interval)), bars)[0]

    def _validates(
        self, symbol: str, new_intervals: set[str], history: tuple[str, date] | None, new_sessions: set[str]
    ) -> bool:
        """Whether the generated data holds what the request is about to load."""
        stored = self.data.stored.get(symbol)
        if not stored:
            return False
        if any(Interval(i).base != Interval("1m") for i in new_intervals):
            return False
        if new_sessions and self.day not in stored:
            return False
        if history is not None:
            base, start = history
            needed = self.cal.sessions(start, self.cal.previous_session(self.day))
            if base != "1m" or any(d not in stored for d in needed):
                return False
        return True

    def _forecast(
        self,
        operation: Operation,
        symbol: str,
        source: str,
        interval: Interval | None = None,
        days: int = 0,
        spec: IndicatorSpec | None = None,
        fault: str | None = None,
        scope: str = "both",
    ) -> Forecast:
        have = self.model.get(symbol)
        indicators: set[str] = set()
        start: date | None = None
        base = "1m"
        if operation is Operation.SYMBOL:
            mode = FULL if source in (Source.CONFIG, Source.STRATEGY) else ADHOC
            intervals = {"1m"}
            if mode == FULL:
                intervals |= {str(i) for i in self.config.full_intervals()}
                indicators = {s.key for s in self.config.indicators}
                start = self._full_history_start()
        elif operation is Operation.BAR:
            assert interval is not None
            mode, intervals, base = ADHOC, {str(interval.base), str(interval)}, str(interval.base)
            start = self.cal.previous_sessions(self.day, days)[0] if days else None
        else:
            assert spec is not None
            mode, intervals, indicators = ADHOC, {str(spec.interval.base), str(spec.interval)}, {spec.key}
            base, start = str(spec.interval.base), self._warmup_start(spec)
        current = have.state if have is not None else ABSENT
        target = FULL if FULL in (current, mode) else mode
        new_intervals = intervals - (have.intervals if have is not None else set())
        sessions = set() if scope == "history" else intervals
        new_sessions = sessions - (have.sessions if have is not None else set())
        new_indicators = indicators - (have.indicators if have is not None else set())
        have_start = have.history.get(base) if have is not None else None
        loads_history = start is not None and (have_start is None or have_start > start)
        kinds: set[str] = set()
        if have is None:
            kinds.add("create_symbol")
        elif current == ADHOC and target == FULL:
            kinds.add("upgrade_symbol")
        if new_intervals:
            kinds.add("add_interval")
        if new_sessions:
            kinds.add("load_session")
        if loads_history:
            kinds.add("load_historical")
        if new_indicators:
            kinds.add("register_indicator")
        if mode == FULL and current != FULL:
            kinds.add("calculate_quality")
        if not kinds:
            return Forecast("skipped", frozenset(), None)
        if not self._validates(symbol, new_intervals, (base, start) if loads_history and start else None, new_sessions):
            return Forecast("rejected", frozenset(kinds), None, target)
        if fault in kinds:
            return Forecast("failed", frozenset(kinds), None, target)
        history = {base: start} if loads_history and start is not None else {}
        histories = {**(have.history if have is not None else {}), **history}
        warmed = {key: histories.get(str(IndicatorSpec.parse_key(key).interval.base)) for key in new_indicators}
        if have is None:
            now = self.coordinator.clock.now() if self.phase == SessionPhase.STREAMING else None
            after = Expected(
                state=target,
                added_by=source,
                auto_provisioned=target == ADHOC,
                meets=target == FULL,
                upgraded=False,
                added_at=now,
                intervals=intervals,
                indicators=indicators,
                history=history,
                warmed_from=warmed,
                sessions=sessions,
            )
        else:
            after = replace(
                have,
                intervals=have.intervals | intervals,
                indicators=have.indicators | indicators,
                history=histories,
                warmed_from={**have.warmed_from, **warmed},
                sessions=have.sessions | sessions,
            )
            if "upgrade_symbol" in kinds:
                after = replace(after, state=FULL, meets=True, upgraded=True, added_by=source)
        return Forecast("completed", frozenset(kinds), after, target)

    # --- requests --------------------------------------------------------------------------------------

    def _check_request(self, outcome: Outcome, forecast: Forecast, fault: str | None, rows: list[Any]) -> None:
        """The outcome is the forecast one, and its events in the log are the protocol's, all tied to it."""
        self.requests_today += 1
        note(f"{outcome.request_id} {outcome.symbol}: {outcome.status} ({outcome.reason})")
        assert outcome.request_id == f"{self.day:%Y%m%d}-{self.requests_today:04d}"
        assert outcome.status == forecast.status, f"expected {forecast.status}, got {outcome.status}: {outcome.reason}"
        if outcome.plan is not None and forecast.status != "skipped":
            planned = {label.split()[0] for label in outcome.plan.step_labels}
            assert planned == forecast.kinds, f"planned {outcome.plan.step_labels}, expected kinds {forecast.kinds}"
            assert outcome.plan.target_state == forecast.target, f"plan's target {outcome.plan.target_state}"
            [logged] = [read_payload(row[4]) for row in rows if row[1] == "RequestPlanned"]
            assert logged.target_state == forecast.target  # type: ignore[attr-defined]
        kinds = [row[1] for row in rows]
        assert {row[2] for row in rows} == {outcome.request_id} and {row[3] for row in rows} == {outcome.symbol}
        assert kinds[0] == "RequestReceived"
        if outcome.status == "skipped":
            assert kinds == ["RequestReceived", "RequestSkipped"]
        elif outcome.status == "rejected":
            assert kinds[-1] == "SymbolRejected" and kinds[1:-1] in ([], ["RequestPlanned"])
            assert self.coordinator.state.rejected.get(outcome.symbol) == outcome.reason
        elif outcome.status == "failed":
            assert kinds == ["RequestReceived", "RequestPlanned", "SymbolValidated", "ProvisioningFailed"]
            assert outcome.failed_step is not None and outcome.failed_step.split()[0] == fault
        else:
            assert outcome.plan is not None
            assert kinds[:3] == ["RequestReceived", "RequestPlanned", "SymbolValidated"]
            assert kinds[-1] == "RequestCompleted" and len(kinds) == 4 + len(outcome.plan.steps)
        if forecast.after is not None:
            self.model[outcome.symbol] = forecast.after
            if forecast.after.state == ADHOC:
                self.adhoc_today.add(outcome.symbol)

    def _request(
        self,
        operation: Operation,
        symbol: str,
        source: str,
        fault: str | None,
        call: Callable[[], Outcome],
        interval: Interval | None = None,
        days: int = 0,
        spec: IndicatorSpec | None = None,
        scope: str = "both",
    ) -> Outcome | None:
        if days < 0 or (scope == "history" and days == 0) or (scope == "session" and days > 0):
            everything = self._everything()
            with pytest.raises(ValueError, match="days"):
                call()
            assert self._everything() == everything, "a refused request changed something"
            return None
        before, head = self._symbols_snapshot(), self._head()
        forecast = self._forecast(operation, symbol, source, interval, days, spec, fault, scope)
        self.fault = (symbol, fault) if fault else None
        try:
            outcome = call()
        finally:
            self.fault = None
        if outcome.status != "completed":
            assert self._symbols_snapshot() == before, f"a {outcome.status} request changed more than the log"
        self._check_request(outcome, forecast, fault, self._rows_after(head))
        return outcome

    def _add_symbol(self, symbol: str, source: str, fault: str | None) -> Outcome | None:
        call = partial(self.coordinator.add_symbol, symbol, source)
        return self._request(Operation.SYMBOL, symbol, source, fault, call)

    def _add_bar(
        self, symbol: str, interval: str, days: int, source: str, fault: str | None, scope: str = "both"
    ) -> Outcome | None:
        call = partial(self.coordinator.add_bar, symbol, interval, days, source, scope=scope)
        return self._request(Operation.BAR, symbol, source, fault, call, Interval(interval), days, scope=scope)

    def _add_indicator(self, symbol: str, key: str, source: str, fault: str | None) -> Outcome | None:
        spec = IndicatorSpec.parse_key(key)
        call = partial(self.coordinator.add_indicator, symbol, key, source)
        return self._request(Operation.INDICATOR, symbol, source, fault, call, spec=spec)

    # --- rules: the day ----------------------------------------------------------------------------------

    @precondition(lambda self: self.phase not in SYMBOL_ADDING_PHASES and self.day_index + 1 < len(self.days))
    @rule()
    def begin_day(self) -> None:
        self._begin_next_day()

    def _begin_next_day(self) -> None:
        self.day_index += 1
        self.coordinator.begin_day(self.day)
        self.model, self.adhoc_today, self.loaded, self.requests_today = {}, set(), False, 0
        state = self.coordinator.state
        assert state.phase == SessionPhase.LOADING and state.session_date == self.day
        assert not state.symbols and not self.coordinator.book.symbols(), "a symbol survived into a new day"
        assert self.coordinator.clock.now() == self.cal.open(self.day)
        assert [row[1] for row in self._rows_after(0)] == ["TeardownStarted", "LoadingStarted"]

    @precondition(lambda self: self.phase == SessionPhase.LOADING and not self.loaded)
    @rule(fault=st.sampled_from(FAULTS), fault_on=st.sampled_from(CONFIG_SYMBOLS))
    def load_config(self, fault: str | None, fault_on: str) -> None:
        head = self._head()
        exports = {s: self._snapshot()["state"]["symbols"].get(s) for s in CONFIG_SYMBOLS}
        forecasts = {
            symbol: self._forecast(
                Operation.SYMBOL, symbol, Source.CONFIG.value, fault=fault if symbol == fault_on else None
            )
            for symbol in self.config.symbols
        }
        self.fault = (fault_on, fault) if fault else None
        try:
            outcomes = self.coordinator.load_config_symbols()
        finally:
            self.fault = None
        self.loaded = True
        rows = self._rows_after(head)
        for outcome in outcomes:
            mine = [row for row in rows if row[2] == outcome.request_id]
            self._check_request(outcome, forecasts[outcome.symbol], fault, mine)
            if not outcome.ok:
                assert self._snapshot()["state"]["symbols"].get(outcome.symbol) == exports[outcome.symbol]
        state = self.coordinator.state
        validated = {o.symbol for o in outcomes if o.ok}
        assert {s for s in self.config.symbols if state.symbol_state(s) == FULL} == validated
        assert set(state.rejected) >= {o.symbol for o in outcomes if o.status == "rejected"}
        if validated:
            assert state.phase == SessionPhase.LOADING
        else:
            assert state.phase == SessionPhase.FAILED and rows[-1][1] == "SessionFailed"

    @precondition(lambda self: self.phase == SessionPhase.LOADING)
    @rule()
    def start_streaming(self) -> None:
        """Usually after the load; before it the day streams without its config symbols (the table allows it)."""
        self._start_streaming()

    def _start_streaming(self) -> None:
        head = self._head()
        self.coordinator.start_streaming()
        assert self.phase == SessionPhase.STREAMING
        [(_, kind, *_rest, payload)] = self._rows_after(head)
        assert kind == "StreamingStarted" and read_payload(payload).symbols == sorted(self.model)  # type: ignore[attr-defined]

    @precondition(
        lambda self: self.phase == SessionPhase.STREAMING and self.coordinator.clock.now() < self.cal.close(self.day)
    )
    @rule(k=st.integers(1, 60))
    def stream(self, k: int) -> None:
        """k steps of the clock: nothing but the clock moves."""
        before, head = self._snapshot(), self._head()
        now = self.coordinator.clock.now()
        for t in [t for t in self.coordinator.step_times() if t > now][:k]:
            self.coordinator.advance_to(t)
        assert self._snapshot() == before and self._head() == head
        note(f"clock at {self.coordinator.clock.now().isoformat()}")

    @precondition(lambda self: self.phase == SessionPhase.STREAMING)
    @rule()
    def end_day(self) -> None:
        self._end_day()

    def _end_day(self) -> None:
        self.coordinator.end_day()
        ended = self.coordinator.ended_state
        assert ended is not None and ended.phase == SessionPhase.ENDED
        self._assert_matches_model(ended, None)
        close = self.cal.close(self.day)
        minutes = oracle.session_minutes(self.cal, self.day)
        for symbol, expected in self.model.items():  # the whole day, recorded at its end, against the oracle
            data = ended.symbols[symbol]
            for key, bars in data.bars.items():
                if key not in expected.sessions:  # held for its history only: nothing streamed
                    assert bars.count == 0 and bars.digest is None, f"{symbol} {key}: history only"
                    continue
                assert bars.count == len(self._oracle_bars(symbol, key, self.day)), f"{symbol} {key}: day's count"
            if expected.state == FULL:
                quality = oracle.quality_at(self._path(symbol, self.day), self.cal, self.day, close)
                assert data.quality is not None and data.quality.expected == minutes == quality["expected"]
                assert_same_quality(state_json(ended)["symbols"][symbol]["bars"]["1m"], quality, f"{symbol} ended")
        assert state_json(replay_day(self.log, self.run_id, self.day)) == state_json(ended)
        assert self.phase == SessionPhase.TEARING_DOWN and self.coordinator.clock.now() == self.cal.close(self.day)
        self.model = {}

    @rule(trigger=st.sampled_from(tuple(SESSION_MOVES)))
    def session_move(self, trigger: str) -> None:
        """A session trigger from the table: made when the table allows it from this phase, refused otherwise.

        TeardownStarted is begin_day, which starts the next session from a fresh (idle) state, so it is legal
        from every phase but loading and streaming, where it is refused with SessionPhaseError.
        """
        if trigger == "TeardownStarted":
            if self.phase in SYMBOL_ADDING_PHASES:
                before = self._everything()
                with pytest.raises(SessionPhaseError, match=str(self.phase)):
                    self.coordinator.begin_day(self.days[-1])
                assert self._everything() == before, "a refused begin_day changed something"
            elif self.day_index + 1 < len(self.days):
                self._begin_next_day()
            return
        if trigger in allowed_triggers(SESSION_TRANSITIONS, self.phase):
            if trigger == "StreamingStarted":
                self._start_streaming()
            elif trigger == "SessionEnded":
                self._end_day()
            else:
                self.coordinator.abort("the property test aborts the day")
                assert self.phase == SessionPhase.ABORTED
                assert self._rows_after(self._head() - 1)[0][1] == "SessionAborted"
            return
        before = self._everything()
        with pytest.raises(IllegalTransition, match=trigger):
            getattr(self.coordinator, SESSION_MOVES[trigger])(*(["refused"] if trigger == "SessionAborted" else []))
        assert self._everything() == before, f"a refused {trigger} changed something"

    @rule(call=st.sampled_from(REFUSABLE_CALLS), symbol=st.sampled_from(STORED_SYMBOLS))
    def refused_call(self, call: str, symbol: str) -> None:
        """A call the day's phase does not allow is refused naming the phase, and changes nothing."""
        coordinator, phase = self.coordinator, self.phase
        adding = phase in SYMBOL_ADDING_PHASES
        calls: dict[str, tuple[bool, type[Exception], Callable[[], Any]]] = {
            "add_symbol": (not adding, SessionPhaseError, lambda: coordinator.add_symbol(symbol)),
            "add_bar": (not adding, SessionPhaseError, lambda: coordinator.add_bar(symbol, "5m")),
            "add_indicator": (
                not adding,
                SessionPhaseError,
                lambda: coordinator.add_indicator(symbol, "sma_20_5m", "scanner"),
            ),
            "load_config_symbols": (phase != SessionPhase.LOADING, SessionPhaseError, coordinator.load_config_symbols),
            "begin_day": (
                adding or coordinator.clock.now() > self.cal.open(self.day),
                StatemachineError,
                lambda: coordinator.begin_day(self.day),
            ),
        }
        refused, error, attempt = calls[call]
        if not refused:
            note(f"{call} is allowed while {phase}: nothing to refuse")
            return
        before = self._everything()
        with pytest.raises(error):
            attempt()
        assert self._everything() == before, f"a refused {call} changed something"

    # --- rules: requests -----------------------------------------------------------------------------------

    @precondition(lambda self: self.phase in SYMBOL_ADDING_PHASES)
    @rule(
        symbol=st.sampled_from(REQUEST_SYMBOLS),
        source=st.sampled_from(REQUEST_SOURCES),
        fault=st.sampled_from(FAULTS),
    )
    def add_symbol(self, symbol: str, source: str, fault: str | None) -> None:
        self._add_symbol(symbol, source, fault)

    @precondition(lambda self: self.phase in SYMBOL_ADDING_PHASES)
    @rule(
        symbol=st.sampled_from(REQUEST_SYMBOLS),
        interval=st.sampled_from(BAR_INTERVALS),
        days=st.sampled_from(HISTORY_DAYS),
        source=st.sampled_from(REQUEST_SOURCES),
        fault=st.sampled_from(FAULTS),
        scope=st.sampled_from(BAR_SCOPES),
    )
    def add_bar(self, symbol: str, interval: str, days: int, source: str, fault: str | None, scope: str) -> None:
        self._add_bar(symbol, interval, days, source, fault, scope)

    @precondition(lambda self: self.phase in SYMBOL_ADDING_PHASES)
    @rule(
        symbol=st.sampled_from(REQUEST_SYMBOLS),
        key=st.sampled_from(INDICATOR_KEYS),
        source=st.sampled_from(REQUEST_SOURCES),
        fault=st.sampled_from(FAULTS),
    )
    def add_indicator(self, symbol: str, key: str, source: str, fault: str | None) -> None:
        self._add_indicator(symbol, key, source, fault)

    @precondition(lambda self: self.phase in SYMBOL_ADDING_PHASES)
    @rule(
        trigger=st.sampled_from(SYMBOL_MOVES),
        symbol=st.sampled_from(STORED_SYMBOLS),
        via=st.sampled_from(tuple(Operation)),
        source=st.sampled_from(ADHOC_SOURCES),
        fault=st.sampled_from(FAULTS),
    )
    def symbol_move(self, trigger: str, symbol: str, via: Operation, source: str, fault: str | None) -> None:
        """A symbol transition from the table, on a symbol in one of its source states."""
        row = symbol_transition(trigger)
        current = self.model[symbol].state if symbol in self.model else ABSENT
        if current not in row.sources:
            note(f"{symbol} is {current}: {trigger} needs {' or '.join(row.sources)}")
            return
        if trigger in ("create_full", "upgrade"):
            outcome = self._add_symbol(symbol, Source.STRATEGY.value, fault)
        elif via is Operation.SYMBOL:
            outcome = self._add_symbol(symbol, source, fault)
        elif via is Operation.BAR:
            outcome = self._add_bar(symbol, "5m", 0, source, fault)
        else:
            outcome = self._add_indicator(symbol, "sma_20_5m", source, fault)
        if outcome is not None and outcome.status == "completed":
            assert self.coordinator.state.symbol_state(symbol) == row.dest

    # --- invariants --------------------------------------------------------------------------------------

    @invariant()
    def lifecycle_state_and_data_agree(self) -> None:
        state, book, view = self.coordinator.state, self.coordinator.book, self.coordinator.view
        assert set(book.symbols()) == set(state.symbols)
        for symbol in REQUEST_SYMBOLS:
            data = state.symbols.get(symbol)
            if data is None:
                assert state.symbol_state(symbol) == ABSENT and view.intervals(symbol) == []
                continue
            assert data.state in (ADHOC, FULL)
            assert (data.state == FULL) == data.meets_session_config_requirements
            if data.state == ADHOC:
                assert data.auto_provisioned and data.quality is None
                assert all(bars.quality is None for bars in data.bars.values())

    @invariant()
    def symbols_are_what_their_requests_made(self) -> None:
        self._assert_matches_model(self.coordinator.state, self.coordinator.book)

    def _assert_matches_model(self, state: SessionState, book: Any) -> None:
        assert set(state.symbols) == set(self.model)
        for symbol, expected in self.model.items():
            data = state.symbols[symbol]
            seen = (
                data.state,
                data.added_by,
                data.auto_provisioned,
                data.meets_session_config_requirements,
                data.upgraded_from_adhoc,
                data.added_at,
            )
            wanted = (
                expected.state,
                expected.added_by,
                expected.auto_provisioned,
                expected.meets,
                expected.upgraded,
                expected.added_at,
            )
            assert seen == wanted, f"{symbol}: (state, added_by, auto, meets, upgraded, added_at) {seen} != {wanted}"
            assert set(data.bars) == expected.intervals, f"{symbol}: intervals {sorted(data.bars)}"
            assert set(data.indicators) == expected.indicators, f"{symbol}: indicators {sorted(data.indicators)}"
            assert {base: h.start for base, h in data.histories.items()} == expected.history, symbol
            if book is not None:
                entry = book.get(symbol)
                assert set(entry.intervals) == expected.sessions and set(entry.indicators) == expected.indicators
                assert {key for key, bars in data.bars.items() if bars.session} == expected.sessions, symbol
                assert set(entry.histories) == set(expected.history)

    @invariant()
    def full_symbols_have_the_session_config(self) -> None:
        needed = {str(i) for i in self.config.full_intervals()}
        keys = {spec.key for spec in self.config.indicators}
        for symbol, data in self.coordinator.state.symbols.items():
            if data.state != FULL:
                continue
            assert needed <= set(data.bars) and keys <= set(data.indicators), symbol
            assert all(data.bars[key].session for key in needed), f"{symbol}: a full interval without session bars"
            assert data.quality is not None and data.bars["1m"].quality is not None, symbol
            history = data.histories.get("1m")
            assert history is not None and history.end == self.cal.previous_session(self.day), symbol
            assert history.start is not None and history.start <= self._full_history_start(), symbol
            entry = self.coordinator.book.get(symbol)
            assert entry.histories["1m"].sessions == tuple(self.cal.sessions(history.start, history.end))

    @invariant()
    def upgrades_were_adhoc_earlier_that_day(self) -> None:
        for symbol, data in self.coordinator.state.symbols.items():
            if not data.upgraded_from_adhoc:
                continue
            assert symbol in self.adhoc_today, f"{symbol} is upgraded_from_adhoc but was never adhoc today"
            created = self.log.events(
                self.run_id, EventFilter(session_date=self.day, kinds=("SymbolCreated",), symbol=symbol)
            )
            assert [read_payload(row.payload_json).mode for row in created] == [ADHOC], symbol  # type: ignore[attr-defined]

    @invariant()
    def nothing_survives_a_teardown(self) -> None:
        if self.phase == SessionPhase.TEARING_DOWN:
            assert not self.coordinator.state.symbols and not self.coordinator.book.symbols()

    @invariant()
    def replaying_the_log_gives_the_live_state(self) -> None:
        live = self.coordinator.state
        replayed = replay_rows(self.day, self.log.stream_payloads(self.run_id, self.day))
        assert state_json(replayed) == state_json(live)
        assert replayed == live

    @invariant()
    def the_log_audits_clean(self) -> None:
        report = audit_run(self.log, self.run_id, allow_open=True)  # audited mid-run: the run is open
        assert report.ok, f"audit: {report.first_bad}"
        assert report.events == sum(self.log.head(self.run_id, d)[0] for d in self.days)

    @invariant()
    def plugins_see_only_closed_bars(self) -> None:
        """The view shows the oracle's bars closed by now, indicator values at the last of them, and for full
        symbols the quality, count and gaps of the minutes due by now."""
        if self.phase not in SYMBOL_ADDING_PHASES:
            return
        view = self.coordinator.view
        now = view.now
        state = view.state["symbols"]
        now_ns = pd.Timestamp(now).value
        for symbol, expected in self.model.items():
            closed: dict[str, int] = {}
            for key in view.intervals(symbol):
                if key not in expected.sessions:  # held for its history only: no session bars to see
                    with pytest.raises(KeyError, match=f"{symbol} has {key} history only, no session bars"):
                        view.bars(symbol, key)
                    assert state[symbol]["bars"][key]["history_only"] is True
                    continue
                wanted = self._oracle_arrays(symbol, key)
                closed[key] = int(np.searchsorted(wanted["bar_close"], now_ns, "right"))
                assert_same_bars(view.bars(symbol, key), wanted, closed[key], f"{symbol} {key} at {now}")
                assert state[symbol]["bars"][key]["count"] == closed[key], f"{symbol} {key}: count at {now}"
            for key in view.indicators(symbol):
                spec = IndicatorSpec.parse_key(key)
                outputs, history = self._oracle_indicator(symbol, spec, expected.warmed_from[key])
                wanted = oracle.value_at(outputs, history + closed[str(spec.interval)] - 1)
                assert_same_value(view.indicator(symbol, key), wanted, f"{symbol} {key} at {now}")
            if expected.state == FULL:
                quality = oracle.quality_at(self._path(symbol, self.day), self.cal, self.day, now)
                assert_same_quality(state[symbol]["bars"]["1m"], quality, f"{symbol} at {now}")

    def _path(self, symbol: str, day: date) -> Path:
        return self.data.bar_store().day_file(symbol, "1m", day)

    def _oracle_bars(self, symbol: str, interval: str, day: date) -> Any:
        return oracle.session_bars(self._path(symbol, day), self.cal, day, interval)

    def _oracle_arrays(self, symbol: str, interval: str) -> dict[str, np.ndarray]:
        """The oracle's bars of the day as arrays (ns times), made once per symbol, day and interval."""
        key = (symbol, self.day, interval)
        if key not in self.arrays_cache:
            bars = self._oracle_bars(symbol, interval, self.day)
            arrays = {name: bars[name].to_numpy(dtype=float) for name in ("open", "high", "low", "close", "volume")}
            arrays["ts"] = bars.index.as_unit("ns").asi8
            arrays["bar_close"] = pd.DatetimeIndex(bars["bar_close"]).as_unit("ns").asi8
            self.arrays_cache[key] = arrays
        return self.arrays_cache[key]

    def _oracle_indicator(
        self, symbol: str, spec: IndicatorSpec, warmed_from: date | None
    ) -> tuple[dict[str, list[float]], int]:
        """The oracle's outputs over the warm-up sessions and the whole day, and how many bars came before it."""
        key = (symbol, self.day, spec.key, warmed_from)
        if key not in self.indicator_cache:
            before = self.cal.sessions(warmed_from, self.cal.previous_session(self.day)) if warmed_from else []
            interval = str(spec.interval)
            history = [self._oracle_bars(symbol, interval, d) for d in before]
            bars = pd.concat([*history, self._oracle_bars(symbol, interval, self.day)])
            self.indicator_cache[key] = (oracle.indicator(spec, bars), sum(len(h) for h in history))
        return self.indicator_cache[key]


def assert_same_bars(seen: SessionBars, wanted: dict[str, np.ndarray], closed: int, what: str) -> None:
    """The view's bars are the oracle's first `closed` (those closed by now)."""
    assert len(seen) == closed, f"{what}: the view shows {len(seen)} bars, the oracle {closed}"
    assert np.array_equal(seen.ts, wanted["ts"][:closed]), f"{what}: bar open times differ"
    assert np.array_equal(seen.bar_close, wanted["bar_close"][:closed]), f"{what}: bar close times differ"
    for name in ("open", "high", "low", "close", "volume"):
        assert np.allclose(getattr(seen, name), wanted[name][:closed], rtol=1e-12, atol=0), f"{what}: {name}"


def assert_same_quality(seen: dict[str, Any], wanted: dict[str, Any], what: str) -> None:
    gaps = [{"start": a.isoformat(), "end": b.isoformat(), "missing": n} for a, b, n in wanted["gaps"]]
    assert (seen["count"], seen["gaps"]) == (wanted["present"], gaps), f"{what}: count and gaps"
    assert math.isclose(seen["quality"], wanted["quality"], rel_tol=1e-12), f"{what}: quality {seen['quality']}"


def test_random_multi_day_sessions(property_store: PropertyStore) -> None:
    run_state_machine_as_test(lambda: SessionMachine(property_store), settings=machine_settings())
