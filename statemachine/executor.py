"""The provisioning executor: runs a plan's steps, one event per step, against a staging copy.

Each step reads what it needs (the store, the staged book), builds its event, and applies the event to a
scratch `SessionState` at once (the same `apply` the real state and the replay use), so a step that the
lifecycle would refuse fails here, before anything is committed. The staged book entries are built in a
`SymbolBook` copy. If a step raises, `StepFailed` carries its label, the error and the steps that had
completed; the caller throws the scratch state and the staging copy away, so the symbol stays exactly as
it was before the request.

The step events:

    CreateSymbol      → SymbolCreated        (mode, base interval, the five metadata fields)
    UpgradeSymbol     → SymbolUpgraded
    AddInterval       → IntervalAdded
    LoadHistorical    → HistoricalLoaded     (regular-session base bars of the sessions, sha256 digest; a load
                                              that joins held history reads only the missing sessions before
                                              them and records the joined whole)
    LoadSession       → SessionBarsLoaded    (the bars closed by now, their digest, bad rows flagged among them)
    RegisterIndicator → IndicatorRegistered  (warmed up over history: the value at the session open)
    CalculateQuality  → QualityCalculated    (the session's base bars due by now against the calendar, the derived
                                              intervals' bars due by now, complete or partial; history's)

The book gets the whole day (the view shows each bar once it has closed); the events say only what was so
at their sim_time, so nothing recorded before a bar closes depends on it. The whole day's figures are
recorded when the day ends (the coordinator's SymbolStreamed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marketdata.bars import SessionBars, frozen
from marketdata.calendar import TradingCalendar
from marketdata.quality import HistoricalQuality, session_quality_at
from marketdata.sources import BarSource, MissingBarsError
from marketdata.timestamps import as_ns
from specs import events as ev
from specs.intervals import Interval
from specs.plan import (
    AddInterval,
    CalculateQuality,
    CreateSymbol,
    LoadHistorical,
    LoadSession,
    ProvisioningRequirements,
    ProvisioningStep,
    RegisterIndicator,
    UpgradeSymbol,
    step_label,
)
from statemachine.book import HistorySeries, IntervalSeries, SymbolBook, bars_digest, compute_indicator
from statemachine.errors import ProvisioningError
from statemachine.intervalquality import derived_quality
from statemachine.state import SessionState

#: The fault-injection seam: called with the symbol and the step before each step runs (tests raise from it).
FaultHook = Callable[[str, ProvisioningStep], None]


class StepFailed(Exception):
    """A step raised: which one, the error as `Type: message`, and the steps completed before it."""

    def __init__(self, step: str, error: str, completed: list[str]) -> None:
        self.step, self.error, self.completed = step, error, completed
        super().__init__(f"{step}: {error}")


@dataclass(frozen=True)
class Envelope:
    """What every event of one request carries."""

    symbol: str
    request_id: str
    sim_time: dt.datetime

    def fields(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "request_id": self.request_id, "sim_time": self.sim_time}


class Executor:
    """Runs plans against one bar source and calendar; stateless between plans (the source keeps what it read,
    so the days of a run share it)."""

    def __init__(self, source: BarSource, calendar: TradingCalendar, faults: FaultHook | None = None) -> None:
        self.source = source
        self.calendar = calendar
        self.faults = faults

    def run(
        self,
        plan: ProvisioningRequirements,
        scratch: SessionState,
        staged: SymbolBook,
        envelope: Envelope,
        added_at: dt.datetime | None,
    ) -> list[ev.EventBase]:
        """Every step's event, in order, each already applied to `scratch`; StepFailed if a step raises."""
        run = _PlanRun(self, plan, staged, envelope, added_at)
        events: list[ev.EventBase] = []
        completed: list[str] = []
        for step in plan.steps:
            label = step_label(step)
            try:
                if self.faults is not None:
                    self.faults(plan.symbol, step)
                event = run.step(step)
                scratch.apply(event)
            except Exception as exc:
                raise StepFailed(label, f"{type(exc).__name__}: {exc}", completed) from exc
            events.append(event)
            completed.append(label)
        return events


class _PlanRun:
    """One plan's steps; holds the staged book entry they fill."""

    def __init__(
        self,
        executor: Executor,
        plan: ProvisioningRequirements,
        staged: SymbolBook,
        envelope: Envelope,
        added_at: dt.datetime | None,
    ) -> None:
        self.source, self.calendar = executor.source, executor.calendar
        self.plan, self.staged, self.env, self.added_at = plan, staged, envelope.fields(), added_at
        self.symbol, self.day = plan.symbol, plan.session_date

    def step(self, step: ProvisioningStep) -> ev.EventBase:
        if isinstance(step, CreateSymbol):
            return self.create(step)
        if isinstance(step, UpgradeSymbol):
            return ev.SymbolUpgraded(**self.env, added_by=self.plan.added_by)
        if isinstance(step, AddInterval):
            return ev.IntervalAdded(**self.env, interval=step.interval, derived=step.derived, base=step.base)
        if isinstance(step, LoadHistorical):
            return self.load_historical(step)
        if isinstance(step, LoadSession):
            return self.load_session(step)
        if isinstance(step, RegisterIndicator):
            return self.register_indicator(step)
        if isinstance(step, CalculateQuality):
            return self.calculate_quality(step)
        raise ProvisioningError(f"{self.symbol}: unknown step {step!r}")

    def create(self, step: CreateSymbol) -> ev.SymbolCreated:
        plan = self.plan
        return ev.SymbolCreated(
            **self.env,
            mode=step.mode,
            base_interval=plan.base_interval,
            added_by=plan.added_by,
            auto_provisioned=plan.auto_provisioned,
            meets_session_config_requirements=plan.meets_session_config_requirements,
            added_at=self.added_at,
        )

    def _history(self, interval: Interval, days: list[dt.date]) -> SessionBars:
        """The days' regular-session bars of `interval` from the source, one after the other."""
        try:
            return self.source.history(self.symbol, interval, days)
        except MissingBarsError as exc:
            raise ProvisioningError(str(exc)) from None

    def load_historical(self, step: LoadHistorical) -> ev.HistoricalLoaded:
        history = step.history
        assert history.start is not None and history.end is not None
        sessions = self.calendar.sessions(history.start, history.end)
        bars = frozen(self._history(history.interval, sessions))
        loaded = ev.HistoricalLoaded(
            **self.env,
            interval=history.interval,
            sessions=len(sessions),
            start=sessions[0],
            end=sessions[-1],
            rows=len(bars),
            digest=bars_digest(bars),
        )
        key = str(history.interval)
        if history.joins:
            held = self.staged.histories.get(key)
            if held is None or len(held.sessions) != history.joins or held.sessions[0] <= sessions[-1]:
                raise ProvisioningError(
                    f"{self.symbol}: the {history.joins} sessions of {key} history to join are not held"
                )
            sessions = [*sessions, *held.sessions]
            bars = frozen(SessionBars.concat([bars, held.bars]))
            joined = ev.JoinedHistory(
                sessions=len(sessions), start=sessions[0], end=sessions[-1], rows=len(bars), digest=bars_digest(bars)
            )
            loaded = loaded.model_copy(update={"joined": joined})
        self.staged.histories[key] = HistorySeries(history.interval, tuple(sessions), bars)
        return loaded

    def load_session(self, step: LoadSession) -> ev.SessionBarsLoaded:
        """The whole day's bars go to the staged book (the view shows them as they close); the event records
        them as they stand now: the bars closed and the rows flagged among them."""
        interval, key = step.interval, str(step.interval)
        if interval.is_base:
            stored = self.source.session(self.symbol, interval, self.day)
            if stored is None:
                raise ProvisioningError(f"{self.symbol}: no {interval} bars in the store for {self.day}")
            self.staged.session_ts[key] = stored.bars.ts
            self.staged.flagged[key] = stored.flagged
            self.staged.unsorted[key] = stored.unsorted
        elif str(interval.base) not in self.staged.intervals:
            raise ProvisioningError(f"{self.symbol}: {interval} needs the session bars of {interval.base} first")
        bars = frozen(self._history(interval, [self.day]))
        series = IntervalSeries(interval, bars)
        self.staged.intervals[key] = series
        now = self.env["sim_time"]
        closed = bars[: series.closed_count(as_ns(now))]
        return ev.SessionBarsLoaded(
            **self.env,
            interval=interval,
            rows=len(closed),
            digest=bars_digest(closed),
            flagged=self.staged.flagged_by(key, now),
        )

    def _history_of(self, interval: Interval) -> SessionBars:
        history = self.staged.histories.get(str(interval.base))
        if history is None:
            return SessionBars.empty()
        if interval.is_base:
            return history.bars
        return self._history(interval, list(history.sessions))

    def register_indicator(self, step: RegisterIndicator) -> ev.IndicatorRegistered:
        spec = step.indicator
        day = self.staged.intervals.get(str(spec.interval))
        if day is None:
            raise ProvisioningError(f"{self.symbol}: {spec.key} needs the session bars of {spec.interval} first")
        history = self._history_of(spec.interval)
        series = compute_indicator(spec, history, day.bars, self.calendar)
        self.staged.indicators[spec.key] = series
        at_open = series.history_bars - 1
        return ev.IndicatorRegistered(
            **self.env,
            indicator=spec,
            warmup_bars=spec.warmup_bars(),
            bars_used=series.history_bars,
            current_value=series.value_at(at_open),
            last_updated=series.time_at(at_open),
            valid=series.valid_at(at_open),
        )

    def calculate_quality(self, step: CalculateQuality) -> ev.QualityCalculated:
        interval = step.interval
        ts = self.staged.session_ts.get(str(interval))
        if ts is None:
            stored = self.source.session(self.symbol, interval, self.day)
            if stored is None:
                raise ProvisioningError(f"{self.symbol}: no {interval} bars in the store for {self.day}")
            ts = stored.bars.ts
        report = session_quality_at(ts, self.calendar, self.day, self.env["sim_time"], interval)
        history = self.staged.histories.get(str(interval))
        past: HistoricalQuality | None = None
        if history is not None and history.sessions:
            past = self.source.history_quality(self.symbol, interval, history.sessions, history.bars)
        return ev.QualityCalculated(
            **self.env,
            interval=interval,
            expected=report.expected,
            present=report.present,
            quality=report.quality,
            gaps=[ev.Gap(start=g.start, end=g.end, missing=g.missing) for g in report.gaps],
            outside_session=report.outside_session,
            historical_quality=None if past is None else past.quality,
            historical_expected=None if past is None else past.expected,
            historical_present=None if past is None else past.present,
            historical_gaps=None if past is None else sum(len(r.gaps) for r in past.reports),
            intervals=derived_quality(self.staged, self.calendar, self.day, interval, self.env["sim_time"]),
        )
