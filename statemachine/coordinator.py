"""The session coordinator: one trading day, from teardown to teardown, and every request in between.

    begin_day(d)          TeardownStarted, LoadingStarted         a fresh state and book: nothing survives a day
    load_config_symbols() a request per config symbol             the day fails only if every one of them fails
    start_streaming()     StreamingStarted
    advance_to(t)         (the clock)                             streaming moves nothing but the clock
    end_day()             SymbolStreamed.., SessionEnded, then TeardownStarted, SymbolTornDown..
                          (SymbolStreamed records the whole day's figures, known only now; `ended_state`
                          keeps the day as it ended, for exports)
    record_inputs(..)     BarReceived.., Feed.. (a live day's tape, while streaming)
    record_missing(..)    BarsMissing (a live step's symbols without a bar, while streaming)
    report_figures(..)    FiguresReported (a plugin's session-end figures, while streaming)
    abort(error)          SessionAborted

`add_symbol`, `add_bar` and `add_indicator` each make one request: analyze → validate → execute. The
request's events go to the sink in ONE append, and only after every step succeeded on a staging copy:

    completed  RequestReceived, RequestPlanned, SymbolValidated, <one event per step>, RequestCompleted
    failed     RequestReceived, RequestPlanned, SymbolValidated, ProvisioningFailed   (symbol as it was)
    rejected   RequestReceived, RequestPlanned, SymbolRejected                          (validation said no)
    skipped    RequestReceived, RequestSkipped                                          (a duplicate)

Every batch of events, a request's or a phase's, is recorded one way (`_record`): applied to a copy of
the state (the one `apply` a replay uses), written to the sink in one append, and only then the copy
becomes the live state (and a request's staged book entry is committed); a batch that does not apply or
a write that fails changes nothing. Everything public takes one re-entrant lock, so plugins may call
from several threads. Request ids are `YYYYMMDD-nnnn`, counted per day, and every event's sim_time is
the clock's now, so a re-run writes identical events.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marketdata.calendar import TradingCalendar
from marketdata.clock import SimulatedClock
from marketdata.quality import session_quality
from marketdata.sources import BarSource
from marketdata.timestamps import NS_PER_SECOND, utc_datetime
from specs import events as ev
from specs.config import SessionConfig, normalize_symbol
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.lifecycle import SESSION_TRANSITIONS, SYMBOL_ADDING_PHASES, SessionPhase
from specs.plan import BarScope, Operation, ProvisioningRequirements, Request, Source, SymbolValidationResult
from specs.status import RequestStatus
from statemachine.analysis import analyze
from statemachine.book import Book, SymbolBook, bars_digest
from statemachine.errors import AnalysisError, RequestError, SessionPhaseError, StatemachineError
from statemachine.executor import Envelope, Executor, FaultHook, StepFailed
from statemachine.intervalquality import derived_quality
from statemachine.machines import IllegalTransition, allowed_triggers
from statemachine.sink import EventSink
from statemachine.state import SessionState
from statemachine.validation import validate
from statemachine.view import SessionView


@dataclass(frozen=True)
class Outcome:
    """What became of one request."""

    status: RequestStatus  # one of REQUEST_OUTCOMES
    request_id: str
    symbol: str
    reason: str = ""
    plan: ProvisioningRequirements | None = None
    validation: SymbolValidationResult | None = None
    failed_step: str | None = None

    @property
    def ok(self) -> bool:
        """The request's ask is met: it completed or everything already existed."""
        return self.status in (RequestStatus.COMPLETED, RequestStatus.SKIPPED)


class SessionCoordinator:
    """Runs one session day at a time on a simulated clock; see the module docstring for the protocol."""

    def __init__(
        self,
        config: SessionConfig,
        store: BarSource,
        calendar: TradingCalendar,
        sink: EventSink,
        clock: SimulatedClock,
        faults: FaultHook | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.calendar = calendar
        self.sink = sink
        self.clock = clock
        self.executor = Executor(store, calendar, faults)
        self.lock = threading.RLock()
        self._state = SessionState()
        self._book = Book()
        self._requests = 0
        self._steps = 0
        self._ended_state: SessionState | None = None
        self._view = SessionView(self)
        self._needs_memo: dict[dt.date, object] = {}  # what a full symbol needs per day: one config, one calendar

    @property
    def state(self) -> SessionState:
        """The live state of the current day."""
        return self._state

    @property
    def ended_state(self) -> SessionState | None:
        """The day's state at SessionEnded, before its teardown (what a day's export shows); None until then."""
        return self._ended_state

    @property
    def book(self) -> Book:
        return self._book

    @property
    def view(self) -> SessionView:
        return self._view

    @property
    def session_date(self) -> dt.date | None:
        return self._state.session_date

    # --- the day's phases ----------------------------------------------------------------------------

    def begin_day(self, session_date: dt.date) -> None:
        """Start `session_date` with nothing from before: TeardownStarted, then LoadingStarted at the open."""
        with self.lock:
            if self._state.phase in (SessionPhase.LOADING, SessionPhase.STREAMING):
                raise SessionPhaseError(
                    f"begin {session_date}", self._state.phase, ("idle", "ended", "failed", "aborted", "tearing_down")
                )
            if self._state.session_date == session_date:
                raise StatemachineError(
                    f"cannot begin {session_date} again: this coordinator already wrote its stream "
                    f"(the day is {self._state.phase}); a day runs once"
                )
            open_, close = self.calendar.open(session_date), self.calendar.close(session_date)
            if self.clock.now() > open_:
                raise StatemachineError(
                    f"cannot begin {session_date}: the clock ({self.clock.now().isoformat()}) is past its open "
                    f"({open_.isoformat()}); days run in order on one clock"
                )
            self.clock.set(open_)
            self._state = SessionState()
            self._book = Book()
            self._requests = 0
            self._steps = 0
            self._ended_state = None
            self._phase(ev.TeardownStarted(sim_time=open_, session_date=session_date))
            self._phase(
                ev.LoadingStarted(
                    sim_time=open_,
                    session_date=session_date,
                    open=open_,
                    close=close,
                    early_close=self.calendar.is_early_close(session_date),
                    config_symbols=list(self.config.symbols),
                )
            )

    def load_config_symbols(self) -> list[Outcome]:
        """Provision every config symbol in full; SessionFailed (and the day stops) only if all of them fail."""
        with self.lock:
            self._require_phase("load config symbols", (SessionPhase.LOADING,))
            outcomes = [self.add_symbol(symbol, Source.CONFIG) for symbol in self.config.symbols]
            if outcomes and not any(o.ok for o in outcomes):
                reasons = "; ".join(o.reason for o in outcomes)
                self._phase(
                    ev.SessionFailed(sim_time=self.clock.now(), reason=f"every configured symbol failed: {reasons}")
                )
            return outcomes

    def start_streaming(self) -> None:
        with self.lock:
            self._phase(ev.StreamingStarted(sim_time=self.clock.now(), symbols=sorted(self._state.symbols)))

    def step_times(self) -> list[dt.datetime]:
        """The close times of the session's base-interval bars, from the calendar: where the clock stops."""
        day = self._current_day()
        base = self.config.base_interval
        step = base.seconds * NS_PER_SECOND
        _, close_ns = self.calendar.open_close_ns(day)
        opens = self.calendar.minutes(day, base.seconds).view("int64")
        return [utc_datetime(min(t + step, close_ns)) for t in opens.tolist()]

    def advance_to(self, t: dt.datetime) -> None:
        """Move the clock to `t` (never backwards)."""
        with self.lock:
            self.clock.set(t)
            if self._state.phase == SessionPhase.STREAMING:
                self._steps += 1

    def end_day(self) -> None:
        """At the close: what each symbol streamed, SessionEnded, then the teardown of every symbol."""
        with self.lock:
            self._check_trigger("SessionEnded")
            day = self._current_day()
            close = self.calendar.close(day)
            if self.clock.now() < close:
                self.clock.set(close)
            now = self.clock.now()
            batch: list[ev.EventBase] = [self._streamed(symbol, now) for symbol in sorted(self._state.symbols)]
            states = {symbol: data.state for symbol, data in sorted(self._state.symbols.items())}
            batch.append(ev.SessionEnded(sim_time=now, steps=self._steps, symbols=states))
            self._ended_state = self._record(batch)
            teardown: list[ev.EventBase] = [ev.TeardownStarted(sim_time=now, session_date=day)]
            teardown += [ev.SymbolTornDown(symbol=s, sim_time=now, previous_state=state) for s, state in states.items()]
            self._record(teardown)
            self._book.clear()

    def record_inputs(self, events: Sequence[ev.EventBase]) -> None:
        """A live day's tape (frames and feed notices, `FRAME_EVENT_KINDS`/`NOTICE_EVENT_KINDS`), recorded
        as it arrives through the one recording path, before anything it feeds runs (while streaming)."""
        with self.lock:
            self._require_phase("record live inputs", (SessionPhase.STREAMING,))
            kinds = (*ev.FRAME_EVENT_KINDS, *ev.NOTICE_EVENT_KINDS)
            for event in events:
                if event.kind not in kinds:
                    raise StatemachineError(f"{event.kind} is not a live input (a tape frame or feed notice)")
            self._record(list(events))

    def record_missing(self, minute: dt.datetime, symbols: Sequence[str], at: dt.datetime) -> None:
        """BarsMissing: a live step of `minute`, run at `at`, had no bar of `symbols` (while streaming)."""
        with self.lock:
            self._require_phase("record missing bars", (SessionPhase.STREAMING,))
            self._record([ev.BarsMissing(sim_time=at, minute=minute, symbols=sorted(symbols))])

    def report_figures(self, plugin: str, figures: dict[str, Any]) -> None:
        """FiguresReported: what `plugin` returned from its session-end hook (checked by the event's model:
        a pydantic ValidationError says what is wrong with it)."""
        with self.lock:
            self._record([ev.FiguresReported(sim_time=self.clock.now(), plugin=plugin, figures=figures)])

    def abort(self, error: str | BaseException) -> None:
        """SessionAborted with the error, from any phase that allows it."""
        with self.lock:
            if self._state.session_date is None:
                raise StatemachineError("cannot abort: no day has begun, so there is no day's stream to record it in")
            text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            self._phase(ev.SessionAborted(sim_time=self.clock.now(), error=text))

    # --- requests ------------------------------------------------------------------------------------

    def add_symbol(self, symbol: str, source: Source | str = Source.STRATEGY, plugin: str | None = None) -> Outcome:
        """The symbol in full (config, strategy) or adhoc with the base interval (scanner, adhoc).

        `plugin` names the scanner or strategy class that asked (`package.module:Class`), for `explain`.
        """
        return self._request(Operation.SYMBOL, symbol, Source(source), plugin=plugin)

    def add_bar(
        self,
        symbol: str,
        interval: Interval | str,
        days: int = 0,
        source: Source | str = Source.ADHOC,
        plugin: str | None = None,
        scope: BarScope | str = BarScope.BOTH,
    ) -> Outcome:
        """Bars of `interval` (and its base) with `days` sessions of history: for the session and its history
        (`scope` "both"), the history only ("history", days >= 1) or the session's bars only ("session", days 0)."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise RequestError(f"{symbol}: days must be a whole number of sessions >= 0, got {days!r}")
        try:
            scope = BarScope(scope)
        except ValueError:
            choices = ", ".join(repr(s.value) for s in BarScope)
            raise RequestError(f"{symbol}: scope must be one of {choices}, got {scope!r}") from None
        if scope is BarScope.HISTORY and days == 0:
            raise RequestError(f"{symbol}: a history-only bar request needs days >= 1, got 0")
        if scope is BarScope.SESSION and days:
            raise RequestError(f"{symbol}: a session-only bar request takes no history: days must be 0, got {days}")
        bar = Interval(interval)
        return self._request(Operation.BAR, symbol, Source(source), bar, days, plugin=plugin, scope=scope)

    def add_indicator(
        self, symbol: str, spec: IndicatorSpec | str, source: Source | str = Source.ADHOC, plugin: str | None = None
    ) -> Outcome:
        """An indicator (a spec or a key like `sma_20_5m`), with its bars and the history to warm it up."""
        spec = spec if isinstance(spec, IndicatorSpec) else IndicatorSpec.parse_key(spec)
        return self._request(Operation.INDICATOR, symbol, Source(source), indicator=spec, plugin=plugin)

    def _request(
        self,
        operation: Operation,
        symbol: str,
        source: Source,
        interval: Interval | None = None,
        days: int = 0,
        indicator: IndicatorSpec | None = None,
        plugin: str | None = None,
        scope: BarScope | None = None,
    ) -> Outcome:
        symbol = normalize_symbol(symbol)
        with self.lock:
            self._require_phase(f"add {symbol}", SYMBOL_ADDING_PHASES)
            day = self._current_day()
            request_id = f"{day:%Y%m%d}-{self._requests + 1:04d}"
            request = Request(
                request_id=request_id,
                operation=operation,
                symbol=symbol,
                source=source,
                interval=interval,
                days=days,
                indicator=indicator,
                scope=scope,
            )
            self._requests += 1
            envelope = Envelope(symbol, request_id, self.clock.now())
            env = envelope.fields()
            received = ev.RequestReceived(
                **env,
                operation=operation,
                source=source,
                interval=interval,
                days=days,
                indicator=indicator,
                description=request.describe(),
                plugin=plugin,
                scope=scope,
            )
            return self._provision(request, envelope, received)

    def _provision(self, request: Request, envelope: Envelope, received: ev.RequestReceived) -> Outcome:
        """Analyze, validate and execute one request; every path ends in one append to the sink."""
        symbol, request_id, env = request.symbol, request.request_id, envelope.fields()
        day = self._current_day()
        with self.lock:
            try:
                plan = analyze(request, self._state, self.config, self.calendar, day, self._needs_memo)
            except AnalysisError as exc:
                self._record([received, ev.SymbolRejected(**env, reason=str(exc))])
                return Outcome(RequestStatus.REJECTED, request_id, symbol, str(exc))
            if plan.is_noop:
                self._record([received, ev.RequestSkipped(**env, reason=plan.reason)])
                return Outcome(RequestStatus.SKIPPED, request_id, symbol, plan.reason, plan)
            planned = ev.RequestPlanned(
                **env,
                steps=plan.step_labels,
                target_state=plan.target_state,
                history_sessions=plan.history.sessions if plan.history else 0,
                history_bars=plan.history.bars_needed if plan.history else 0,
                reason=plan.reason,
            )
            result = validate(plan, self.store, self.calendar)
            if not result.can_proceed:
                self._record([received, planned, ev.SymbolRejected(**env, reason=result.reason, result=result)])
                return Outcome(RequestStatus.REJECTED, request_id, symbol, result.reason, plan, result)
            head: list[ev.EventBase] = [received, planned, ev.SymbolValidated(**env, result=result)]
            return self._execute(plan, result, envelope, head)

    def _execute(
        self,
        plan: ProvisioningRequirements,
        result: SymbolValidationResult,
        envelope: Envelope,
        head: list[ev.EventBase],
    ) -> Outcome:
        """Run the plan's steps on a copy of the state; record them all, or none and ProvisioningFailed."""
        symbol, request_id = envelope.symbol, envelope.request_id
        trial = self._state.trial_copy(head, changing=[symbol]).apply_all(head)
        staged = self._book.stage(symbol)
        added_at = envelope.sim_time if self._state.phase == SessionPhase.STREAMING else None
        try:
            steps = self.executor.run(plan, trial, staged, envelope, added_at)
        except StepFailed as failure:
            failed = ev.ProvisioningFailed(
                **envelope.fields(), step=failure.step, error=failure.error, completed_steps=failure.completed
            )
            self._record([*head, failed])
            reason = f"{symbol}: {failure.step} failed: {failure.error}"
            return Outcome(RequestStatus.FAILED, request_id, symbol, reason, plan, result, failure.step)
        done = ev.RequestCompleted(**envelope.fields(), steps=len(steps))
        trial.apply(done)
        self._record([*head, *steps, done], applied=trial)
        self._book.commit(symbol, staged)
        return Outcome(RequestStatus.COMPLETED, request_id, symbol, plan.reason, plan, result)

    # --- helpers ---------------------------------------------------------------------------------------

    def _streamed(self, symbol: str, now: dt.datetime) -> ev.SymbolStreamed:
        """The symbol's whole day, recorded now that it is over: counts, digests, flagged rows, quality, values."""
        book = self._book.get(symbol)
        if book is None:
            return ev.SymbolStreamed(symbol=symbol, sim_time=now)
        counts = book.closed_counts(now)
        digests = {key: bars_digest(series.bars[: counts[key]]) for key, series in sorted(book.intervals.items())}
        flagged = {key: rows for key in sorted(book.flagged) if (rows := book.day_flagged(key))}
        values: dict[str, ev.IndicatorValue] = {}
        for key in sorted(book.indicators):
            series = book.indicators[key]
            index = book.indicator_index(key, now)
            values[key] = ev.IndicatorValue(
                current_value=series.value_at(index), last_updated=series.time_at(index), valid=series.valid_at(index)
            )
        quality = self._day_quality(symbol, book)
        day = self._current_day()
        return ev.SymbolStreamed(
            symbol=symbol,
            sim_time=now,
            bars=counts,
            digests=digests,
            flagged=flagged,
            quality=quality,
            intervals={} if quality is None else derived_quality(book, self.calendar, day, quality.interval),
            indicators=values,
        )

    def _day_quality(self, symbol: str, book: SymbolBook) -> ev.SessionQuality | None:
        """The whole session's quality of a symbol whose quality was calculated (the day file's every row)."""
        data = self._state.symbols.get(symbol)
        if data is None or data.quality is None:
            return None
        interval = data.quality.interval
        ts = book.session_ts.get(str(interval))
        if ts is None:
            return None
        report = session_quality(ts, self.calendar, self._current_day(), interval)
        return ev.SessionQuality(
            interval=interval,
            expected=report.expected,
            present=report.present,
            quality=report.quality,
            gaps=[ev.Gap(start=g.start, end=g.end, missing=g.missing) for g in report.gaps],
            outside_session=report.outside_session,
        )

    def _current_day(self) -> dt.date:
        day = self._state.session_date
        if day is None:
            raise SessionPhaseError("do that before a day began", self._state.phase, ("loading", "streaming"))
        return day

    def _require_phase(self, action: str, phases: Sequence[str]) -> None:
        if self._state.phase not in phases:
            raise SessionPhaseError(action, self._state.phase, tuple(phases), str(self._state.session_date or ""))

    def _check_trigger(self, kind: str) -> None:
        """Raise IllegalTransition before anything is written if the day's table does not allow `kind` now."""
        allowed = allowed_triggers(SESSION_TRANSITIONS, self._state.phase)
        if kind not in allowed:
            subject = f"session {self._state.session_date or ''}".strip()
            raise IllegalTransition(subject, self._state.phase, kind, allowed)

    def _phase(self, event: ev.EventBase) -> None:
        self._check_trigger(event.kind)
        self._record([event])

    def _record(self, batch: list[ev.EventBase], applied: SessionState | None = None) -> SessionState:
        """The one way events are recorded: apply the batch to a copy of the state, write it to the sink in
        one append, swap the copy in. A batch that does not apply, or a write that fails, leaves the state
        as it was and nothing of the batch recorded. `applied` is a copy (`trial_copy`) the batch is already
        applied to (a request's steps are applied as they run). Returns the new state, which shares with the
        one before it only what the batch did not touch."""
        trial = self._state.trial_copy(batch).apply_all(batch) if applied is None else applied
        day = self._state.session_date or trial.session_date
        assert day is not None, "the first event of a day is TeardownStarted, which names it"
        self.sink.append(day, batch)
        self._state = trial.settle()
        return self._state
