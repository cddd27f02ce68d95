"""Validation: can the bar store provide what a plan is about to load?

Asked once per request, before any step runs, so a symbol that cannot be provisioned is rejected with
its reason and nothing half-made. The checks, in order:

1. the symbol is in the store at all (`TSLA: no 1m bars in the store`);
2. every interval the plan adds is derivable from what is stored: its base is there (a base interval that
   is not stored, such as 1s when only 1m is, is an unsupported interval);
3. the session day has bars of each base interval whose session bars the plan loads;
4. the history covers the range: each session the plan's history needs is stored.

Reasons are for users: they name the symbol, the interval and the dates. A corrupt file met while
listing the store rejects the symbol with the store's message (which names the file). Data that turns
out bad only when read inside a step is the executor's ProvisioningFailed, not a rejection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from marketdata.calendar import TradingCalendar
from marketdata.errors import MarketDataError
from marketdata.sources import BarSource
from specs.intervals import Interval
from specs.plan import (
    AddInterval,
    HistoryRequirement,
    LoadHistorical,
    LoadSession,
    ProvisioningRequirements,
    SymbolValidationResult,
)

#: How many missing dates a reason lists before it says "and N more".
MAX_LISTED_DATES = 8


def validate(plan: ProvisioningRequirements, store: BarSource, calendar: TradingCalendar) -> SymbolValidationResult:
    """The SymbolValidationResult for `plan`: can_proceed, or the reason it cannot.

    `has_historical_data` is True when every history session the plan loads is stored (and when it loads none).
    """
    symbol = plan.symbol
    source = f"parquet:{store.location}"
    try:
        return _validate(plan, store, calendar, source)
    except MarketDataError as exc:
        return SymbolValidationResult(
            symbol=symbol,
            can_proceed=False,
            reason=f"{symbol}: {exc}",
            data_source=source,
            meets_config_requirements=plan.meets_session_config_requirements,
        )


def _validate(
    plan: ProvisioningRequirements, store: BarSource, calendar: TradingCalendar, source: str
) -> SymbolValidationResult:
    symbol = plan.symbol
    stored = store.intervals(symbol)
    result = {
        "symbol": symbol,
        "data_source": source,
        "meets_config_requirements": plan.meets_session_config_requirements,
    }
    if not stored:
        return SymbolValidationResult(**result, reason=f"{symbol}: no {plan.base_interval} bars in the store")
    result["data_source_available"] = True
    problems: list[str] = []
    added = [s.interval for s in plan.steps if isinstance(s, AddInterval)]
    for base in _unique(i.base for i in added):
        if base not in stored:
            derived = [i for i in added if i.base == base and not i.is_base]
            problems.append(_unsupported(symbol, derived[0] if derived else base, stored))
    supported = [str(r.interval) for r in plan.required_intervals if r.interval.base in stored]
    result["intervals_supported"] = supported
    session_bases = _unique(s.interval.base for s in plan.steps if isinstance(s, LoadSession))
    days_of: dict[Interval, set[dt.date]] = {}
    for base in session_bases:
        if base not in stored:
            continue
        days_of[base] = set(store.days(symbol, base))
        if plan.session_date not in days_of[base]:
            problems.append(f"no {base} bars in the store for the session {plan.session_date}")
    histories = [s.history for s in plan.steps if isinstance(s, LoadHistorical)]
    history_ok = True
    for history in histories:
        if history.interval not in stored:
            if history.interval not in added:
                problems.append(_unsupported(symbol, history.interval, stored))
            history_ok = False
            continue
        if history.interval not in days_of:
            days_of[history.interval] = set(store.days(symbol, history.interval))
        missing = _missing_history(history, days_of[history.interval], calendar)
        if missing:
            history_ok = False
            problems.append(_too_short(history, missing, plan))
    if problems:
        return SymbolValidationResult(
            **result, reason=f"{symbol}: {'; '.join(problems)}", has_historical_data=history_ok
        )
    return SymbolValidationResult(
        **result, can_proceed=True, reason=_ok_reason(plan, session_bases, histories), has_historical_data=True
    )


def _unsupported(symbol: str, interval: Interval, stored: list[Interval]) -> str:
    held = ", ".join(str(i) for i in stored)
    if interval.is_base:
        return f"unsupported interval {interval}: the store holds only {held} bars of {symbol}"
    return (
        f"unsupported interval {interval}: it derives from {interval.base}, "
        f"and the store holds only {held} bars of {symbol}"
    )


def _missing_history(history: HistoryRequirement, days: set[dt.date], calendar: TradingCalendar) -> list[dt.date]:
    if not history.sessions or history.start is None or history.end is None:
        return []
    return [d for d in calendar.sessions(history.start, history.end) if d not in days]


def _too_short(history: HistoryRequirement, missing: list[dt.date], plan: ProvisioningRequirements) -> str:
    listed = ", ".join(str(d) for d in missing[:MAX_LISTED_DATES])
    if len(missing) > MAX_LISTED_DATES:
        listed += f" and {len(missing) - MAX_LISTED_DATES} more"
    present = history.sessions - len(missing)
    of = "" if history.interval == plan.base_interval else f" of {history.interval}"
    return (
        f"history too short: {present} of {history.sessions} sessions{of} before {plan.session_date} (missing {listed})"
    )


def _ok_reason(
    plan: ProvisioningRequirements, session_bases: list[Interval], histories: list[HistoryRequirement]
) -> str:
    parts = []
    if session_bases:
        parts.append(f"{', '.join(str(b) for b in session_bases)} bars for {plan.session_date}")
    for history in histories:
        parts.append(f"{history.sessions} sessions of {history.interval} history ({history.start}..{history.end})")
    return f"{plan.symbol}: " + ("; ".join(parts) if parts else "in the store") + " available"


def _unique(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for interval in intervals:
        if interval not in out:
            out.append(interval)
    return out
