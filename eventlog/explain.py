"""Why a symbol, an interval or an indicator exists on a day (or why it does not).

Every step event carries the `request_id` of the request that caused it, so the explanation is the
events about the target grouped by request, each request walked back to its RequestReceived: who
asked (source, plugin), for what (description), and how it ended (completed, rejected, skipped,
failed, with the reason). "Present" is read from the day's state at its SessionEnded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from eventlog.reading import pick_date, read_events, resolve_run_id
from eventlog.replay import replay_day
from eventlog.store import EventStore
from specs import events as ev

OUTCOMES = {
    "SymbolValidated": "validated",
    "SymbolRejected": "rejected",
    "RequestSkipped": "skipped",
    "RequestCompleted": "completed",
    "ProvisioningFailed": "failed",
}


@dataclass(frozen=True)
class ExplainedEvent:
    seq: int
    kind: str
    sim_time: dt.datetime | None
    summary: str

    def as_dict(self) -> dict[str, Any]:
        when = self.sim_time.isoformat() if self.sim_time else None
        return {"seq": self.seq, "kind": self.kind, "sim_time": when, "summary": self.summary}


@dataclass
class ExplainedRequest:
    request_id: str
    source: str = "?"
    operation: str = "?"
    description: str = ""
    plugin: str | None = None
    sim_time: dt.datetime | None = None
    outcome: str = "received"
    reason: str = ""
    events: list[ExplainedEvent] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "source": self.source,
            "operation": self.operation,
            "description": self.description,
            "plugin": self.plugin,
            "sim_time": self.sim_time.isoformat() if self.sim_time else None,
            "outcome": self.outcome,
            "reason": self.reason,
            "events": [e.as_dict() for e in self.events],
        }


@dataclass
class Explanation:
    run_id: str
    session_date: dt.date
    symbol: str
    target_type: str
    target: str
    present: bool
    state: str
    requests: list[ExplainedRequest]
    why_not: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "date": self.session_date.isoformat(),
            "symbol": self.symbol,
            "target": {"type": self.target_type, "key": self.target},
            "present": self.present,
            "state": self.state,
            "requests": [r.as_dict() for r in self.requests],
            "why_not": self.why_not,
        }


def summarize(event: ev.EventBase) -> str:
    """One line saying what the event did."""
    e: Any = event
    match e.kind:
        case "RequestReceived":
            return e.description or f"{e.source.value} asked for {e.operation.value}"
        case "RequestPlanned":
            return f"planned to {e.target_state}: " + (", ".join(e.steps) or "nothing to do")
        case "SymbolValidated":
            return "validated: " + ("can proceed" if e.result.can_proceed else e.result.reason or "cannot proceed")
        case "SymbolRejected" | "RequestSkipped":
            return f"{OUTCOMES[e.kind]}: {e.reason}"
        case "RequestCompleted":
            return f"completed ({e.steps} steps)"
        case "ProvisioningFailed":
            return f"failed at {e.step}: {e.error}"
        case "SymbolCreated":
            auto = ", auto-provisioned" if e.auto_provisioned else ""
            return f"created {e.mode} (added by {e.added_by.value}{auto})"
        case "SymbolUpgraded":
            return f"upgraded adhoc -> full (by {e.added_by.value})"
        case "SymbolTornDown":
            return f"torn down (was {e.previous_state})"
        case "IntervalAdded":
            return f"added {e.interval}" + (f" (derived from {e.base})" if e.derived else " (read from the store)")
        case "HistoricalLoaded":
            span = f" {e.start}..{e.end}" if e.start else ""
            return f"loaded {e.sessions} sessions of {e.interval} history{span} ({e.rows} rows)"
        case "SessionBarsLoaded":
            flagged = ", ".join(f"{count} {reason}" for reason, count in sorted(e.flagged.items()))
            dropped = f"; bad bars flagged and left out: {flagged}" if flagged else ""
            return f"loaded {e.rows} {e.interval} bars of the session{dropped}"
        case "IndicatorRegistered":
            return f"registered {e.indicator.key} (warm-up {e.warmup_bars} bars, {e.bars_used} used)"
        case "QualityCalculated":
            return f"quality {e.quality:.4f} of {e.interval}: {e.present}/{e.expected} bars, {len(e.gaps)} gaps"
        case "SymbolStreamed":
            return "streamed: " + ", ".join(f"{k} {v} bars" for k, v in e.bars.items())
        case "FiguresReported":
            return f"{e.plugin} reported " + (", ".join(f"{k}={v}" for k, v in e.figures.items()) or "no figures")
    return e.kind


def _concerns(event: Any, target_type: str, target: str) -> bool:
    """Whether an event about the symbol is about the interval or indicator asked for."""
    if target_type == "symbol":
        return True
    if target_type == "interval":
        interval = getattr(event, "interval", None)
        if interval is not None and str(interval) == target:
            return True
        indicator = getattr(event, "indicator", None)
        return indicator is not None and str(indicator.interval) == target
    spec = getattr(event, "indicator", None)
    if spec is not None:
        return bool(spec.key == target)
    return event.kind == "SymbolStreamed" and target in event.indicators


def explain(
    store: EventStore,
    run_id: str,
    symbol: str,
    *,
    session_date: dt.date | None = None,
    interval: str | None = None,
    indicator: str | None = None,
    verify: bool = True,
) -> Explanation:
    """The events that made `symbol` (or its `interval` / `indicator`) on the day, by request; with
    `verify` the day's stream is verified first (TamperedStream names its first bad event)."""
    run_id = resolve_run_id(store, run_id)
    session_date = pick_date(store, run_id, session_date)
    if interval and indicator:
        raise ValueError("explain takes --interval or --indicator, not both")
    target_type, target = "symbol", symbol
    if interval:
        target_type, target = "interval", interval
    elif indicator:
        target_type, target = "indicator", indicator
    state = replay_day(store, run_id, session_date, verify=verify)
    data = state.symbols.get(symbol)
    if target_type == "symbol":
        present = data is not None
    elif target_type == "interval":
        present = data is not None and target in data.bars
    else:
        present = data is not None and target in data.indicators

    stored = read_events(store, run_id, session_date=session_date, symbol=symbol, verify=verify)
    parsed = [(row, row.event()) for row in stored]
    requests: dict[str, ExplainedRequest] = {}
    for _row, event in parsed:
        rid = event.request_id
        if rid is None:
            continue
        record = requests.setdefault(rid, ExplainedRequest(request_id=rid))
        if isinstance(event, ev.RequestReceived):
            record.source, record.operation = event.source.value, event.operation.value
            record.description, record.plugin, record.sim_time = event.description, event.plugin, event.sim_time
        elif event.kind in OUTCOMES:  # type: ignore[attr-defined]
            record.outcome = OUTCOMES[event.kind]  # type: ignore[attr-defined]
            record.reason = getattr(event, "reason", "") or getattr(event, "error", "") or ""

    involved: list[str] = []
    for _row, event in parsed:
        rid = event.request_id
        if rid is None or not _concerns(event, target_type, target):
            continue
        if rid not in involved:
            involved.append(rid)
    for row, event in parsed:
        rid = event.request_id
        if rid in involved:
            requests[rid].events.append(ExplainedEvent(row.seq, row.kind, row.sim_time, summarize(event)))
    chosen = [requests[rid] for rid in involved]
    why_not = [] if present else _why_not(state, symbol, target_type, target, chosen, session_date)
    return Explanation(
        run_id=run_id,
        session_date=session_date,
        symbol=symbol,
        target_type=target_type,
        target=target,
        present=present,
        state=state.symbol_state(symbol),
        requests=chosen,
        why_not=why_not,
    )


def _why_not(
    state: Any, symbol: str, target_type: str, target: str, requests: list[ExplainedRequest], day: dt.date
) -> list[str]:
    reasons = []
    if symbol in state.rejected:
        reasons.append(f"{symbol} was rejected: {state.rejected[symbol]}")
    for request in requests:
        if request.outcome in ("rejected", "failed", "skipped"):
            reasons.append(
                f"request {request.request_id} ({request.source}: {request.description}) {request.outcome}: "
                f"{request.reason}"
            )
    if not reasons:
        what = symbol if target_type == "symbol" else f"{target_type} {target} of {symbol}"
        if requests:
            reasons.append(f"{what} was asked for but is not in the state at the end of {day.isoformat()}")
        else:
            reasons.append(f"no request asked for {what} on {day.isoformat()}")
    return reasons
