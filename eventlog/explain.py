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
from specs.status import RequestStatus

OUTCOMES = {
    "SymbolValidated": RequestStatus.VALIDATED,
    "SymbolRejected": RequestStatus.REJECTED,
    "RequestSkipped": RequestStatus.SKIPPED,
    "RequestCompleted": RequestStatus.COMPLETED,
    "ProvisioningFailed": RequestStatus.FAILED,
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
    scope: str | None = None
    sim_time: dt.datetime | None = None
    outcome: RequestStatus = RequestStatus.RECEIVED
    reason: str = ""
    events: list[ExplainedEvent] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "source": self.source,
            "operation": self.operation,
            "description": self.description,
            "plugin": self.plugin,
            "scope": self.scope,
            "sim_time": self.sim_time.isoformat() if self.sim_time else None,
            "outcome": self.outcome.value,
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
    """One line saying what the event did (every kind has its own words: no kind falls back to its name)."""
    summary = _SUMMARIES.get(event.kind)
    if summary is None:
        raise NotImplementedError(f"explain has no summary for {event.kind}")
    return summary(event)


def _day(text: str) -> str:
    return text[:16].replace("T", " ") if text else "?"


def _at(when: dt.datetime | None) -> str:
    return when.strftime("%H:%M") + " UTC" if when is not None else "then"


def _arrival(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _loading(e: Any) -> str:
    early = ", an early close" if e.early_close else ""
    return (
        f"loading of {e.session_date} began (open {_day(e.open.isoformat())}, close {_day(e.close.isoformat())} UTC"
        f"{early}; {_plural(len(e.config_symbols), 'config symbol')})"
    )


def _ended(e: Any) -> str:
    held = ", ".join(f"{symbol} {state}" for symbol, state in e.symbols.items()) or "no symbols"
    return f"the session ended after {_plural(e.steps, 'clock step')} ({held})"


def _validated(e: Any) -> str:
    return "validated: " + ("can proceed" if e.result.can_proceed else e.result.reason or "cannot proceed")


def _planned(e: Any) -> str:
    steps = ", ".join(e.steps) or "nothing to do"
    return f"planned {_plural(len(e.steps), 'step')} leaving the symbol {e.target_state}: {steps}"


def _created(e: Any) -> str:
    auto = ", auto-provisioned" if e.auto_provisioned else ""
    return f"created {e.mode} with base interval {e.base_interval} (added by {e.added_by.value}{auto})"


def _interval_added(e: Any) -> str:
    how = f"derived from {e.base}" if e.derived else "a base interval, read from the store"
    return f"added interval {e.interval} ({how})"


def _history_loaded(e: Any) -> str:
    span = f" {e.start}..{e.end}" if e.start else ""
    loaded = f"loaded {_plural(e.sessions, 'session')} of {e.interval} history{span} ({_plural(e.rows, 'row')})"
    if e.joined is None:
        return loaded
    j = e.joined
    now = f"{_plural(j.sessions, 'session')} {j.start}..{j.end} ({_plural(j.rows, 'row')})"
    return f"{loaded} before the held ones: the history is now {now}"


def _session_loaded(e: Any) -> str:
    flagged = ", ".join(f"{count} {reason}" for reason, count in sorted(e.flagged.items()))
    dropped = f"; bad bars flagged and left out: {flagged}" if flagged else ""
    return f"loaded the session's {e.interval} bars ({_plural(e.rows, 'bar')} closed by {_at(e.sim_time)}){dropped}"


def _registered(e: Any) -> str:
    ready = "valid" if e.valid else "not yet valid"
    return (
        f"registered {e.indicator.key}, warmed up over {_plural(e.bars_used, 'history bar')} "
        f"(it needs {e.warmup_bars}; {ready} at {_at(e.sim_time)})"
    )


def _quality(e: Any) -> str:
    derived = "".join(
        f"; {key} {q.quality:.4f}: {q.complete}/{q.expected} complete, {len(q.partial)} partial"
        for key, q in e.intervals.items()
    )
    past = f"; history {e.historical_quality:.4f}" if e.historical_quality is not None else ""
    if e.historical_quality is not None and e.historical_expected is not None:
        past += f" ({e.historical_present}/{e.historical_expected} bars, {_plural(e.historical_gaps, 'gap')})"
    return (
        f"quality of {e.interval} as of {_at(e.sim_time)} {e.quality:.4f}: {e.present}/{e.expected} bars due, "
        f"{_plural(len(e.gaps), 'gap')}{derived}{past}"
    )


def _streamed(e: Any) -> str:
    bars = ", ".join(f"{k} {v} bars" for k, v in e.bars.items()) or "no session bars"
    quality = f"; quality {e.quality.quality:.4f}" if e.quality is not None else ""
    return f"streamed the whole day: {bars}{quality}"


_SUMMARIES: dict[str, Any] = {
    "TeardownStarted": lambda e: "teardown began: every symbol goes (nothing is kept from one day to the next)",
    "LoadingStarted": _loading,
    "StreamingStarted": lambda e: f"streaming began with {_plural(len(e.symbols), 'symbol')}",
    "SessionEnded": _ended,
    "SessionFailed": lambda e: f"the session failed: {e.reason}",
    "FiguresReported": lambda e: (
        f"{e.plugin} reported " + (", ".join(f"{k}={v}" for k, v in e.figures.items()) or "no figures")
    ),
    "SessionAborted": lambda e: f"the session was aborted: {e.error}",
    "RequestReceived": lambda e: e.description or f"{e.source.value} asked for a {e.operation.value}",
    "RequestPlanned": _planned,
    "SymbolValidated": _validated,
    "SymbolRejected": lambda e: f"rejected, nothing provisioned: {e.reason}",
    "RequestSkipped": lambda e: f"skipped, a duplicate: {e.reason}",
    "RequestCompleted": lambda e: f"completed ({_plural(e.steps, 'step')})",
    "ProvisioningFailed": lambda e: f"failed at {e.step}: {e.error} (the symbol is as it was before the request)",
    "SymbolCreated": _created,
    "SymbolUpgraded": lambda e: f"upgraded adhoc -> full (by {e.added_by.value})",
    "SymbolTornDown": lambda e: f"torn down (was {e.previous_state})",
    "IntervalAdded": _interval_added,
    "HistoricalLoaded": _history_loaded,
    "SessionBarsLoaded": _session_loaded,
    "IndicatorRegistered": _registered,
    "QualityCalculated": _quality,
    "SymbolStreamed": _streamed,
    "BarReceived": lambda e: (
        f"{'backfilled' if e.backfilled else 'received'} the {_at(e.ts)} bar at {_arrival(e.received_at)}: "
        f"o {e.open:g} h {e.high:g} l {e.low:g} c {e.close:g} v {e.volume:g}"
    ),
    "BarUpdated": lambda e: (
        f"the {_at(e.ts)} bar was corrected at {_arrival(e.received_at)} (for later steps; earlier steps keep "
        f"what they saw): o {e.open:g} h {e.high:g} l {e.low:g} c {e.close:g} v {e.volume:g}"
    ),
    "DailyBarReceived": lambda e: (
        f"daily bar so far at {_arrival(e.received_at)}: o {e.open:g} h {e.high:g} l {e.low:g} c {e.close:g} "
        f"v {e.volume:g}"
    ),
    "TradingStatusReceived": lambda e: (
        f"trading status {e.status_code or '?'} ({e.status_message or 'no message'}) at {_arrival(e.received_at)}"
        + (f", reason {e.reason_code} ({e.reason_message})" if e.reason_code else "")
    ),
    "FeedConnected": lambda e: (
        f"the {e.feed} feed connected at {_arrival(e.at)} with {_plural(len(e.symbols), 'symbol')}"
    ),
    "FeedDisconnected": lambda e: (
        f"the feed was lost at {_arrival(e.at)} ({e.reason}{': ' + e.detail if e.detail else ''}); "
        + (f"the gap starts after the {_at(e.last_minute)} bar" if e.last_minute else "no bar had arrived")
    ),
    "FeedReconnected": lambda e: (
        f"the feed reconnected at {_arrival(e.at)}; "
        + (
            f"{_plural(e.missed_minutes, 'minute')} missed ({_at(e.missed_start)} .. {_at(e.missed_end)}), "
            + ("backfilled from history" if e.policy == "backfill" else "left as gaps")
            if e.missed_minutes
            else "no minute missed"
        )
    ),
    "FeedBackfilled": lambda e: (
        f"backfilled {_plural(e.minutes, 'minute')} ({_at(e.start)} .. {_at(e.end)}) from history: "
        f"{_plural(e.bars, 'bar')}"
    ),
    "FeedSubscribed": lambda e: (
        f"the feed was subscribed to {', '.join(e.symbols)} at {_arrival(e.at)} ({', '.join(e.kinds)})"
    ),
    "BarsMissing": lambda e: (
        f"the {_at(e.minute)} step ran without a bar of {', '.join(e.symbols)} (none by the grace deadline)"
    ),
}

assert set(_SUMMARIES) == set(ev.EVENT_TYPES), "every event kind in specs needs its own summary"


def _concerns(event: Any, target_type: str, target: str) -> bool:
    """Whether an event about the symbol is about the interval or indicator asked for."""
    if target_type == "symbol":
        return True
    if target_type == "interval":
        interval = getattr(event, "interval", None)
        if interval is not None and str(interval) == target:
            return True
        if target in (getattr(event, "intervals", None) or {}):
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
            record.scope = event.scope.value if event.scope is not None else None
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
        if request.outcome in (RequestStatus.REJECTED, RequestStatus.FAILED, RequestStatus.SKIPPED):
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
