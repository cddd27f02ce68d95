"""Requirement analysis: one pure function turns any request into a typed provisioning plan.

`analyze` reads the request, the session config, the day's state and the calendar; it does no I/O and
has no clock, so the same inputs always give the same plan. It first says what the request *needs*
(the target mode, the intervals with their bases, the history per base interval, the indicators, and
whether quality is due), then subtracts what the symbol already has. What is left are the steps:

    create or upgrade the symbol, add each missing interval (bases first), load history (only to extend
    it: a history that already reaches back far enough is not loaded again, and one that does not is
    joined by exactly the sessions missing before it), load the session's bars (one LoadSession per
    interval without them, the derived ones computed from their base), register the missing indicators,
    calculate quality (full symbols, once).

A plan with no steps is a duplicate request: the coordinator records it as a no-op.

What each request needs:

- symbol from config or strategy: the symbol in full — every interval of `config.full_intervals()`,
  `trailing_days` sessions of history for each base stream (longer if a config indicator needs more to
  warm up), every config indicator, quality;
- symbol from scanner or adhoc: an adhoc symbol with the config's base interval and its session bars;
- bar: the interval and its base, `days` sessions of base history, by its scope: history and the
  session's bars (`both`, the default), history only (`history`, no LoadSession: the intervals are held
  for their history until a later request needs their session bars) or the session's bars only
  (`session`, no history);
- indicator: its interval and its base, `ceil(warmup_bars × warmup_multiplier)` bars of its interval
  as trading sessions through the calendar (early closes hold fewer bars, holidays none); no quality.

A bar or indicator asked for an absent symbol creates it adhoc (auto-provisioned, added by the source);
an adhoc symbol asked for in full is upgraded; a full symbol stays full and only gains what is missing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from marketdata.calendar import TradingCalendar
from marketdata.errors import CalendarError
from specs.config import SessionConfig
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.lifecycle import SymbolState
from specs.plan import (
    AddInterval,
    BarScope,
    CalculateQuality,
    CreateSymbol,
    HistoryRequirement,
    IntervalRequirement,
    LoadHistorical,
    LoadSession,
    Operation,
    ProvisioningRequirements,
    ProvisioningStep,
    RegisterIndicator,
    Request,
    Source,
    UpgradeSymbol,
)
from statemachine.errors import AnalysisError
from statemachine.state import HistoricalData, SessionState, SymbolSessionData

FULL_SOURCES: tuple[Source, ...] = (Source.CONFIG, Source.STRATEGY)

ADHOC = SymbolState.ADHOC.value
FULL = SymbolState.FULL.value
ABSENT = SymbolState.ABSENT.value


@dataclass
class _Needs:
    """What a request needs regardless of what exists."""

    mode: str
    intervals: list[Interval]
    history: dict[Interval, HistoryRequirement] = field(default_factory=dict)
    indicators: list[IndicatorSpec] = field(default_factory=list)
    quality: Interval | None = None
    notes: list[str] = field(default_factory=list)
    #: Whether the intervals need the session's bars (every request but a history-only bar request).
    session: bool = True
    #: The steps for a symbol that does not exist yet, by target state: the same for every such symbol that
    #: these needs (memoized per day for full symbols) serve, so they are worked out once.
    fresh_steps: dict[str, tuple[ProvisioningStep, ...]] = field(default_factory=dict)


def analyze(
    request: Request,
    state: SessionState,
    config: SessionConfig,
    calendar: TradingCalendar,
    session_date: dt.date,
    memo: dict[dt.date, Any] | None = None,
) -> ProvisioningRequirements:
    """The plan for `request` on `session_date` given what `state` already holds.

    Raises AnalysisError when the request is malformed or its history reaches outside the calendar. A caller
    that analyzes many requests with one config and calendar may pass a `memo` dict (empty at first, then
    the same one): what a full symbol needs on a day is then worked out once, not once per symbol.
    """
    existing = state.symbols.get(request.symbol)
    current = existing.state if existing is not None else ABSENT
    needs = _needs(request, config, calendar, session_date, memo)
    target = FULL if FULL in (current, needs.mode) else needs.mode
    base = existing.base_interval if existing is not None else min(i.base for i in needs.intervals)
    required = tuple(_interval_requirement(i) for i in _ordered(needs.intervals))
    steps = needs.fresh_steps.get(target) if existing is None else None
    if steps is None:
        steps = tuple(_steps(needs, existing, current, target, calendar))
        if existing is None:
            needs.fresh_steps[target] = steps
    meets, added_by, auto = _metadata(request.source, existing, current, target)
    primary = needs.history.get(base) or next(iter(needs.history.values()), None)
    plan_reason = "; ".join([request.describe(), *needs.notes]) if steps else _noop_reason(request, current)
    return ProvisioningRequirements(
        request=request,
        session_date=session_date,
        symbol_exists=existing is not None,
        current_state=current,  # type: ignore[arg-type]
        target_state=target,  # type: ignore[arg-type]
        base_interval=base,
        required_intervals=required,
        history=primary,
        indicator=request.indicator if request.operation is Operation.INDICATOR else None,
        steps=steps,
        meets_session_config_requirements=meets,
        added_by=added_by,
        auto_provisioned=auto,
        reason=plan_reason,
    )


# --- what a request needs ------------------------------------------------------------------------------


def _needs(
    request: Request, config: SessionConfig, calendar: TradingCalendar, day: dt.date, memo: dict[dt.date, Any] | None
) -> _Needs:
    if request.operation is Operation.SYMBOL:
        if request.source in FULL_SOURCES:
            if memo is None:
                return _full_needs(config, calendar, day)
            if day not in memo:
                memo[day] = _full_needs(config, calendar, day)
            return memo[day]  # type: ignore[no-any-return]
        return _Needs(mode=ADHOC, intervals=[config.base_interval], notes=[f"adhoc with {config.base_interval} bars"])
    if request.operation is Operation.BAR:
        if request.interval is None:
            raise AnalysisError(f"{request.symbol}: a bar request needs an interval")
        interval = request.interval
        scope = request.scope or BarScope.BOTH
        if scope is BarScope.HISTORY and not request.days:
            raise AnalysisError(f"{request.symbol}: a history-only bar request needs days >= 1")
        if scope is BarScope.SESSION and request.days:
            raise AnalysisError(f"{request.symbol}: a session-only bar request takes no history (days must be 0)")
        needs = _Needs(mode=ADHOC, intervals=_with_base(interval), session=scope is not BarScope.HISTORY)
        if scope is BarScope.HISTORY:
            needs.notes.append(f"history only: no {interval} session bars")
        elif scope is BarScope.SESSION:
            needs.notes.append(f"session bars only: no {interval.base} history")
        if request.days:
            needs.history[interval.base] = _sessions_history(
                calendar, day, interval.base, request.days, f"{request.days} sessions of {interval.base} asked for"
            )
            needs.notes.append(needs.history[interval.base].reason)
        return needs
    if request.indicator is None:
        raise AnalysisError(f"{request.symbol}: an indicator request needs an indicator spec")
    spec = request.indicator
    needs = _Needs(mode=ADHOC, intervals=_with_base(spec.interval), indicators=[spec])
    history = warmup_history(spec, config.warmup_multiplier, calendar, day)
    if history.sessions:
        needs.history[history.interval] = history
    needs.notes.append(history.reason)
    return needs


def _full_needs(config: SessionConfig, calendar: TradingCalendar, day: dt.date) -> _Needs:
    intervals: list[Interval] = []
    for interval in config.full_intervals():
        for needed in _with_base(interval):
            if needed not in intervals:
                intervals.append(needed)
    needs = _Needs(mode=FULL, intervals=intervals, indicators=list(config.indicators), quality=config.base_interval)
    trailing = config.trailing_days
    for base in sorted({i.base for i in intervals}):
        best = _sessions_history(calendar, day, base, trailing, f"{trailing} trailing sessions of {base}")
        for spec in config.indicators:
            if spec.interval.base == base:
                warmup = warmup_history(spec, config.warmup_multiplier, calendar, day)
                if warmup.sessions > best.sessions:
                    best = warmup
        if best.sessions:
            needs.history[base] = best
            needs.notes.append(best.reason)
    needs.notes.append(f"full: {', '.join(str(i) for i in _ordered(intervals))}")
    return needs


def warmup_history(
    spec: IndicatorSpec, multiplier: float, calendar: TradingCalendar, day: dt.date
) -> HistoryRequirement:
    """The base history an indicator needs: `ceil(warmup_bars × multiplier)` bars of its interval, as sessions.

    The calendar turns bars into sessions, so a warm-up that spans an early close or a holiday reaches
    further back than one over regular days.
    """
    bars = math.ceil(spec.warmup_bars() * multiplier)
    try:
        sessions = calendar.sessions_for_bars(day, spec.interval, bars)
    except CalendarError as exc:
        raise AnalysisError(f"{spec.key}: warm-up of {bars} bars of {spec.interval} before {day}: {exc}") from None
    span = _span(sessions)
    reason = (
        f"{bars} bars of {spec.interval} to warm up {spec.key} "
        f"({spec.warmup_bars()} x {multiplier:g}) = {len(sessions)} session{'s' if len(sessions) != 1 else ''}{span}"
    )
    return HistoryRequirement(
        interval=spec.interval.base,
        sessions=len(sessions),
        start=sessions[0] if sessions else None,
        end=sessions[-1] if sessions else None,
        bars_needed=bars,
        reason=reason,
    )


def _sessions_history(calendar: TradingCalendar, day: dt.date, base: Interval, n: int, why: str) -> HistoryRequirement:
    try:
        sessions = calendar.previous_sessions(day, n)
    except CalendarError as exc:
        raise AnalysisError(f"{n} sessions of history before {day}: {exc}") from None
    return HistoryRequirement(
        interval=base,
        sessions=len(sessions),
        start=sessions[0] if sessions else None,
        end=sessions[-1] if sessions else None,
        reason=f"{why}{_span(sessions)}" if sessions else why,
    )


def _span(sessions: list[dt.date]) -> str:
    if not sessions:
        return ""
    if len(sessions) == 1:
        return f" ({sessions[0]})"
    return f" ({sessions[0]}..{sessions[-1]})"


# --- what is missing -----------------------------------------------------------------------------------


def _steps(
    needs: _Needs, existing: SymbolSessionData | None, current: str, target: str, calendar: TradingCalendar
) -> list[ProvisioningStep]:
    steps: list[ProvisioningStep] = []
    if existing is None:
        steps.append(CreateSymbol(mode=target))  # type: ignore[arg-type]
    elif current == ADHOC and target == FULL:
        steps.append(UpgradeSymbol())
    have_bars = existing.bars if existing is not None else {}
    wanted_intervals = _ordered(needs.intervals)
    for interval in wanted_intervals:
        if str(interval) not in have_bars:
            spec = _interval_requirement(interval)
            steps.append(AddInterval(interval=spec.interval, derived=spec.derived, base=spec.base))
    for history_base in sorted(needs.history):
        wanted = needs.history[history_base]
        have = existing.histories.get(str(history_base)) if existing is not None else None
        if have is None:
            if not _covers(None, wanted):
                steps.append(LoadHistorical(history=wanted))
        elif not _covers(have.start, wanted):
            steps.append(LoadHistorical(history=_missing(wanted, have, calendar)))
    if needs.session:
        # an interval held for its history only (a history-only bar request) gets its session bars now
        steps.extend(
            LoadSession(interval=i)
            for i in wanted_intervals
            if str(i) not in have_bars or not have_bars[str(i)].session
        )
    have_indicators = set(existing.indicators) if existing is not None else set()
    steps.extend(RegisterIndicator(indicator=s) for s in needs.indicators if s.key not in have_indicators)
    has_quality = existing is not None and existing.quality is not None
    if needs.quality is not None and not has_quality:
        steps.append(CalculateQuality(interval=needs.quality))
    return steps


def _missing(wanted: HistoryRequirement, have: HistoricalData, calendar: TradingCalendar) -> HistoryRequirement:
    """The sessions of `wanted` before the held history `have` starts: what a joining load reads.

    Every history is a run of trailing sessions ending the session before the day, so what is missing is the
    run before the held start. A held history that does not end where the wanted one does (never written by
    this analysis) is loaded again whole rather than joined."""
    assert wanted.start is not None and wanted.end is not None and have.start is not None
    if have.end != wanted.end:
        return wanted
    sessions = [d for d in calendar.sessions(wanted.start, wanted.end) if d < have.start]
    return wanted.model_copy(
        update={
            "sessions": len(sessions),
            "start": sessions[0],
            "end": sessions[-1],
            "joins": have.sessions,
            "reason": f"{wanted.reason}: {len(sessions)} missing before the {have.sessions} held{_span(sessions)}",
        }
    )


def _covers(have_start: dt.date | None, wanted: HistoryRequirement) -> bool:
    """History is only ever extended: what reaches back to the wanted start already covers it."""
    if wanted.sessions == 0 or wanted.start is None:
        return True
    return have_start is not None and have_start <= wanted.start


def _metadata(
    source: Source, existing: SymbolSessionData | None, current: str, target: str
) -> tuple[bool, Source, bool]:
    """meets_session_config_requirements, added_by and auto_provisioned as the plan leaves them."""
    if existing is None:
        return (True, source, False) if target == FULL else (False, source, True)
    if current == ADHOC and target == FULL:
        return True, source, existing.auto_provisioned
    return existing.meets_session_config_requirements, Source(existing.added_by), existing.auto_provisioned


def _noop_reason(request: Request, current: str) -> str:
    return f"{request.describe()}: already provisioned ({request.symbol} is {current}), nothing to do"


# --- intervals -----------------------------------------------------------------------------------------


def _with_base(interval: Interval) -> list[Interval]:
    return [interval] if interval.is_base else [interval.base, interval]


def _ordered(intervals: list[Interval]) -> list[Interval]:
    """Bases first (a derived interval is computed from its base), then by length."""
    unique: list[Interval] = []
    for interval in intervals:
        if interval not in unique:
            unique.append(interval)
    return sorted(unique, key=lambda i: (not i.is_base, i.seconds))


def _interval_requirement(interval: Interval) -> IntervalRequirement:
    derived = not interval.is_base
    return IntervalRequirement(interval=interval, derived=derived, base=interval.base if derived else None)
