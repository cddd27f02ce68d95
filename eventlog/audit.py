"""Audit a run: every stream's hash chain, seq contiguity from 1, the envelope columns against the
payload, and every transition legal under the lifecycle tables (by replaying through `apply`).

The audit stops at the first bad event of the run (streams in date order) and names it: an edited
payload fails its own hash; a deleted row leaves its seq missing; rows moved out of order break
the link of `prev_hash` to the row before.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventlog.collector import collector_paused
from eventlog.hashing import event_hash, genesis_hash
from eventlog.reading import dates, resolve_run_id, stream_rows
from eventlog.schema import sqlite_time, to_utc
from eventlog.store import EventStore
from eventlog.upcast import PayloadError, parse_payload
from specs.events import CURRENT_SCHEMA_VERSION, EventBase
from statemachine.machines import IllegalTransition
from statemachine.state import InvalidEvent, SessionState


@dataclass(frozen=True)
class BadEvent:
    session_date: dt.date
    seq: int
    kind: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.session_date.isoformat(), "seq": self.seq, "kind": self.kind, "why": self.why}

    def __str__(self) -> str:
        return f"{self.session_date.isoformat()} seq {self.seq} ({self.kind}): {self.why}"


@dataclass
class AuditReport:
    run_id: str
    streams: int = 0
    events: int = 0
    first_bad: BadEvent | None = None
    checked: list[str] = field(default_factory=lambda: ["hash chain", "seq contiguity", "envelope", "transitions"])

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "streams": self.streams,
            "events": self.events,
            "checked": self.checked,
            "first_bad": self.first_bad.as_dict() if self.first_bad else None,
        }


def _envelope_mismatch(row: tuple[Any, ...], event: EventBase) -> str | None:
    """Why the row's columns disagree with its payload, or None."""
    _seq, kind, version, symbol, request_id, sim_time, payload, _prev, _hash = row
    if event.kind != kind:  # type: ignore[attr-defined]
        return f"column kind {kind!r} but the payload is a {event.kind}"  # type: ignore[attr-defined]
    if version == CURRENT_SCHEMA_VERSION[kind]:
        written = event.schema_version
    else:
        written = json.loads(payload).get("schema_version", 1)
    if written != version:
        return f"column schema_version {version} but the payload says {written}"
    if symbol != event.symbol:
        return f"column symbol {symbol!r} but the payload says {event.symbol!r}"
    if request_id != event.request_id:
        return f"column request_id {request_id!r} but the payload says {event.request_id!r}"
    if event.sim_time is None:
        if sim_time is not None:
            return f"column sim_time {sim_time} but the payload has none"
    else:
        if isinstance(sim_time, str):  # SQLite keeps fixed-width UTC text
            same = sim_time == sqlite_time(event.sim_time)
        else:
            same = sim_time is not None and to_utc(sim_time) == to_utc(event.sim_time)
        if not same:
            return f"column sim_time {sim_time} but the payload says {event.sim_time.isoformat()}"
    return None


def audit_stream(store: EventStore, run_id: str, session_date: dt.date) -> tuple[int, BadEvent | None]:
    """(events checked, first bad event or None) for one stream."""
    with collector_paused():
        return _audit_rows(session_date, stream_rows(store, run_id, session_date))


def _audit_rows(session_date: dt.date, rows: Sequence[tuple[Any, ...]]) -> tuple[int, BadEvent | None]:
    state = SessionState()
    running = genesis_hash(session_date)
    expected = 1
    for row in rows:
        seq, kind, version, _symbol, _request, _time, payload, prev_hash, stored_hash = row
        if seq != expected:
            why = f"missing: the stream goes from seq {expected - 1} to seq {seq}" if seq > expected else "out of order"
            return expected - 1, BadEvent(session_date, expected, kind if seq < expected else "?", why)
        if prev_hash != running:
            why = "prev_hash does not link to the row before (a row was moved, dropped or rewritten)"
            return seq - 1, BadEvent(session_date, seq, kind, why)
        if event_hash(prev_hash, payload) != stored_hash:
            return seq - 1, BadEvent(session_date, seq, kind, "hash does not match the payload (the row was edited)")
        running = stored_hash
        try:
            event = parse_payload(kind, version, payload)
        except PayloadError as exc:
            return seq - 1, BadEvent(session_date, seq, kind, f"unreadable payload: {exc}")
        mismatch = _envelope_mismatch(row, event)
        if mismatch:
            return seq - 1, BadEvent(session_date, seq, kind, mismatch)
        try:
            state.apply(event)
        except (IllegalTransition, InvalidEvent) as exc:
            return seq - 1, BadEvent(session_date, seq, kind, f"illegal: {exc}")
        expected += 1
    return expected - 1, None


def audit_run(store: EventStore, run_id: str) -> AuditReport:
    """Audit every stream of the run in date order; stop at the first bad event."""
    run_id = resolve_run_id(store, run_id)
    report = AuditReport(run_id=run_id)
    for session_date in dates(store, run_id):
        checked, bad = audit_stream(store, run_id, session_date)
        report.streams += 1
        report.events += checked
        if bad is not None:
            report.first_bad = bad
            break
    return report
