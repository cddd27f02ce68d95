"""Audit a run: each stream and the run as a whole.

Each stream (in date order): the hash chain and seq contiguity from 1 (`eventlog.chain`), its end at
the seq the `sessions` table recorded, the envelope columns against the hashed payload, every
transition legal under the lifecycle tables (by replaying through `apply`), the recorded status and
SessionEnded seq against the events, and whether the day is closed (SessionEnded and its teardown,
or failed, or aborted). The run: `config_json` hashes to `config_hash`; every day the run lists (its
`sessions` rows, and the sessions of its config when the caller names them) has a stream; the run's
status agrees with its days; the stored seal matches the one computed from the log, and so does a
seal kept elsewhere when one is given.

The audit stops at the first bad event and names it: an edited payload fails its own hash; a deleted
row leaves its seq missing; a cut-off tail ends before the recorded last seq; rows moved out of order
break the link of `prev_hash` to the row before. A run that is still open (running, interrupted, or
with a day not closed) is not clean either: the report says which day is open.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventlog.chain import BadEvent, check_chain
from eventlog.collector import collector_paused
from eventlog.errors import PayloadError
from eventlog.manifest import config_digest
from eventlog.reading import RunInfo, get_run, streams
from eventlog.seal import StreamHead, seal_digest
from eventlog.store import SEALED_STATUSES, SESSION_STATUS_BY_KIND, EventStore
from eventlog.upcast import parse_payload
from specs.events import CURRENT_SCHEMA_VERSION, EventBase
from statemachine.errors import IllegalTransition, InvalidEvent
from statemachine.state import SessionState

__all__ = ["AuditReport", "BadEvent", "StreamAudit", "audit_run", "audit_stream"]

CHECKED = [
    "hash chain",
    "seq contiguity",
    "envelope",
    "transitions",
    "stream ends",
    "streams closed",
    "days listed",
    "run status",
    "config hash",
    "seal",
]


@dataclass(frozen=True)
class StreamAudit:
    """One stream's audit: events checked, the first bad one, its head, and how the day stands
    (`ended`, `failed`, `aborted`, or `open`)."""

    session_date: dt.date
    events: int
    bad: BadEvent | None
    head: StreamHead | None
    day_status: str


@dataclass
class AuditReport:
    run_id: str
    status: str = ""
    streams: int = 0
    events: int = 0
    first_bad: BadEvent | None = None
    #: The days that are not closed (or not yet written), and why the run is open (None if it is not).
    open_days: list[dt.date] = field(default_factory=list)
    open_reason: str | None = None
    allow_open: bool = False
    #: The seal computed from the log, the one stored in the run, and the one given to check against.
    seal: str | None = None
    stored_seal: str | None = None
    given_seal: str | None = None
    checked: list[str] = field(default_factory=lambda: list(CHECKED))

    @property
    def is_open(self) -> bool:
        return self.open_reason is not None

    @property
    def ok(self) -> bool:
        """Nothing bad found, and the run is closed (or an open one was allowed)."""
        return self.first_bad is None and (self.allow_open or not self.is_open)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "status": self.status,
            "streams": self.streams,
            "events": self.events,
            "checked": self.checked,
            "first_bad": self.first_bad.as_dict() if self.first_bad else None,
            "open": self.is_open,
            "open_days": [day.isoformat() for day in self.open_days],
            "open_reason": self.open_reason,
            "seal": self.seal,
            "stored_seal": self.stored_seal,
            "given_seal": self.given_seal,
        }


def _envelope_mismatch(row: Sequence[Any], event: EventBase) -> str | None:
    """Why the row's indexed columns disagree with its hashed payload, or None."""
    _seq, kind, payload, _prev, _hash, version, symbol, request_id, sim_time = row
    if event.kind != kind:
        return f"column kind {kind!r} but the payload is a {event.kind}"
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
        same = isinstance(sim_time, dt.datetime) and _utc(sim_time) == _utc(event.sim_time)
        if not same:
            return f"column sim_time {sim_time} but the payload says {event.sim_time.isoformat()}"
    return None


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _apply_rows(session_date: dt.date, rows: Sequence[Sequence[Any]]) -> tuple[SessionState, BadEvent | None]:
    """Parse each row, check its envelope and apply it; the state and the first bad row."""
    state = SessionState()
    for row in rows:
        seq, kind, payload, version = row[0], row[1], row[2], row[5]
        try:
            event = parse_payload(kind, version, payload)
        except PayloadError as exc:
            return state, BadEvent(session_date, seq, kind, f"unreadable payload: {exc}")
        mismatch = _envelope_mismatch(row, event)
        if mismatch:
            return state, BadEvent(session_date, seq, kind, mismatch)
        try:
            state.apply(event)
        except (IllegalTransition, InvalidEvent) as exc:
            return state, BadEvent(session_date, seq, kind, f"illegal: {exc}")
    return state, None


def _day_status(rows: Sequence[Sequence[Any]], state: SessionState) -> str:
    ended = any(row[1] == "SessionEnded" for row in rows)
    if ended and state.phase == "tearing_down" and not state.symbols:
        return "ended"
    if state.phase in ("failed", "aborted"):
        return state.phase
    return "open"


def _recorded_mismatch(
    session_date: dt.date, rows: Sequence[Sequence[Any]], status: str | None, end_seq: int | None
) -> BadEvent | None:
    """The `sessions` row's status and SessionEnded seq against what the events say."""
    written_status, written_end = "running", None
    for row in rows:
        if row[1] in SESSION_STATUS_BY_KIND:
            written_status = SESSION_STATUS_BY_KIND[row[1]]
            if row[1] == "SessionEnded" and written_end is None:
                written_end = row[0]
    if status != written_status:
        why = f"the log records the day as {status} but its events say {written_status}"
        return BadEvent(session_date, None, "?", why)
    if end_seq != written_end:
        why = f"the log records its SessionEnded at seq {end_seq} but the events have it at seq {written_end}"
        return BadEvent(session_date, end_seq or written_end, "SessionEnded", why)
    return None


def audit_stream(
    store: EventStore,
    run_id: str,
    session_date: dt.date,
    recorded: tuple[str, int, int | None] | None = None,
) -> StreamAudit:
    """Audit one stream; `recorded` is its `sessions` row (status, last seq, end seq), None if it has none."""
    with collector_paused():
        rows = store.stream_rows(run_id, session_date)
        if recorded is None:
            why = "the stream has events but the log's sessions table does not list it"
            return StreamAudit(session_date, 0, BadEvent(session_date, None, "?", why), None, "open")
        status, last_seq, end_seq = recorded
        if not rows:
            why = f"the run lists this day (recorded up to seq {last_seq}) but its stream has no events: deleted"
            return StreamAudit(session_date, 0, BadEvent(session_date, 1, "?", why), None, "open")
        chain = check_chain(session_date, [row[:5] for row in rows], last_seq)
        state, bad = _apply_rows(session_date, rows[: chain.linked])
        first = bad or chain.bad
        if first is not None:
            return StreamAudit(session_date, (first.seq or 1) - 1, first, None, "open")
        mismatch = _recorded_mismatch(session_date, rows, status, end_seq)
        head = (session_date, len(rows), chain.head)
        return StreamAudit(session_date, len(rows), mismatch, head, _day_status(rows, state))


def _status_mismatch(run: RunInfo, days: dict[dt.date, str]) -> BadEvent | None:
    """Whether the run's status says what its days do (an open run is judged elsewhere)."""
    if run.status == "completed":
        if not days:
            return BadEvent(None, None, "?", "the run says completed but has no days")
        for day, status in days.items():
            if status != "ended":
                return BadEvent(day, None, "?", f"the run says completed but this day is {status}")
    if run.status == "failed":
        for day, status in days.items():
            if status == "open":
                return BadEvent(day, None, "?", "the run says failed (it ended) but this day is not closed")
        if all(status == "ended" for status in days.values()):
            return BadEvent(None, None, "?", "the run says failed but every day ended")
    return None


def _open_reason(run: RunInfo, open_days: list[dt.date]) -> str | None:
    if not open_days and run.status not in ("running", "interrupted"):
        return None
    resume = f"resume with: daytape run FILE --resume {run.run_id}"
    if open_days:
        shown = ", ".join(day.isoformat() for day in open_days)
        return f"the run is open (status {run.status}): not closed: {shown}; {resume}"
    return f"the run is open (status {run.status}): it has not finished; {resume}"


def audit_run(
    store: EventStore,
    run_id: str,
    *,
    seal: str | None = None,
    allow_open: bool = False,
    listed_days: Sequence[dt.date] | None = None,
) -> AuditReport:
    """Audit every stream of the run in date order, then the run; stop at the first bad event.

    `seal` is a seal kept elsewhere to check the log against; `listed_days` the session dates the
    run's config names (the caller reads them from the calendar); `allow_open` lets an open run pass.
    """
    run = get_run(store, run_id)
    report = AuditReport(
        run_id=run.run_id, status=run.status, allow_open=allow_open, stored_seal=run.seal, given_seal=seal
    )
    if seal is not None:
        report.checked.append("given seal")
    if config_digest(run.config_json) != run.config_hash:
        report.first_bad = BadEvent(
            None, None, "?", "config_json does not hash to config_hash: the run's recorded config was altered"
        )
        return report
    recorded = store.recorded_sessions(run.run_id)
    with_events = {s.session_date for s in streams(store, run.run_id)}
    heads: list[StreamHead] = []
    days: dict[dt.date, str] = {}
    for session_date in sorted(set(recorded) | with_events):
        found = audit_stream(store, run.run_id, session_date, recorded.get(session_date))
        report.streams += 1
        report.events += found.events
        if found.bad is not None:
            report.first_bad = found.bad
            return report
        assert found.head is not None
        heads.append(found.head)
        days[session_date] = found.day_status
    for day in listed_days or ():
        if day not in days:
            if run.status in ("completed", "failed"):
                why = f"the run's config lists this session and the run says {run.status}, but it has no stream"
                report.first_bad = BadEvent(day, None, "?", why)
                return report
            days[day] = "open"
    report.first_bad = _status_mismatch(run, days)
    if report.first_bad is not None:
        return report
    report.seal = seal_digest(
        config_hash=run.config_hash,
        data_digest=run.data_digest,
        code_version=run.code_version,
        seed=run.seed,
        heads=heads,
    )
    if run.status in SEALED_STATUSES:
        if run.seal is None:
            report.first_bad = BadEvent(None, None, "?", f"the run ended ({run.status}) but has no seal stored")
            return report
        if run.seal != report.seal:
            why = f"the stored seal {run.seal} does not match the log, which seals to {report.seal}"
            report.first_bad = BadEvent(None, None, "?", why)
            return report
    if seal is not None and seal.strip().lower() != report.seal:
        why = (
            f"the log seals to {report.seal}, not to the seal given ({seal.strip()}): the log was rewritten "
            "after that seal was taken, or the seal is another run's"
        )
        report.first_bad = BadEvent(None, None, "?", why)
        return report
    report.open_days = sorted(day for day, status in days.items() if status == "open")
    report.open_reason = _open_reason(run, report.open_days)
    return report
