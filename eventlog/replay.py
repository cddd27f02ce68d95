"""Replay a day's stream into `SessionState` through statemachine's `apply`, the same function the live run used.

The replay checks itself: each row's seq must be the one after the last (a gap is a ReplayError
naming the missing seq), and an event that does not apply is a ReplayError naming the row. By
default a day is replayed to its SessionEnded: "the session state of a day" is the state when the
session closed, before its own teardown; `until_seq` / `until_time` stop anywhere, teardown included.
`replay_day` verifies the day's whole stream first (`eventlog.chain`), unless told not to.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from eventlog.collector import collector_paused
from eventlog.errors import PayloadError, ReplayError
from eventlog.reading import verified_stream
from eventlog.store import EventStore
from eventlog.upcast import parse_payload
from specs.events import CURRENT_SCHEMA_VERSION, EVENT_ADAPTER, EventBase
from statemachine.errors import IllegalTransition, InvalidEvent
from statemachine.state import SessionState


def read_payload(payload: str | bytes) -> EventBase:
    """The event of a stored payload: pydantic's JSON parser first; an older version (or one the
    current model rejects) goes through the upcasters."""
    try:
        event: EventBase = EVENT_ADAPTER.validate_json(payload)
    except ValueError:
        event = None  # type: ignore[assignment]
    if event is not None and CURRENT_SCHEMA_VERSION[event.kind] == event.schema_version:
        return event
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError(f"payload is a JSON {type(data).__name__}, not an object")
    return parse_payload(str(data.get("kind")), data.get("schema_version", 1), payload)


def _kind_of(payload: str | bytes) -> str:
    try:
        return str(json.loads(payload).get("kind", "?"))
    except (ValueError, AttributeError):
        return "?"


def replay_rows(
    session_date: dt.date,
    rows: Iterable[tuple[int, str | bytes]],
    *,
    until_time: dt.datetime | None = None,
) -> SessionState:
    """Apply (seq, payload_json) rows in order to a fresh state.

    With `until_time`, stop before the first event whose simulated time is later; events without a
    simulated time belong to the moment of the event before them.
    """
    with collector_paused():
        return _apply_rows(session_date, rows, until_time)


def _apply_rows(
    session_date: dt.date, rows: Iterable[tuple[int, str | bytes]], until_time: dt.datetime | None
) -> SessionState:
    state = SessionState()
    apply = state.apply
    # The adapter's own validator: `TypeAdapter.validate_json` is a Python wrapper around it that
    # costs a tenth of a parse.
    validate_json = EVENT_ADAPTER.validator.validate_json
    current = CURRENT_SCHEMA_VERSION
    expected = 1
    event: EventBase
    for seq, payload in rows:
        if seq != expected:
            raise ReplayError(
                session_date, expected, _kind_of(payload), f"seq {expected} is missing: the next row is seq {seq}"
            )
        expected += 1
        try:
            event = validate_json(payload)
            if current[event.kind] != event.schema_version:
                event = read_payload(payload)
        except (ValueError, KeyError):
            try:
                event = read_payload(payload)
            except PayloadError as exc:
                raise ReplayError(session_date, seq, _kind_of(payload), f"unreadable payload: {exc}") from None
        if until_time is not None and event.sim_time is not None and event.sim_time > until_time:
            break
        try:
            apply(event)
        except (IllegalTransition, InvalidEvent) as exc:
            raise ReplayError(session_date, seq, event.kind, str(exc)) from None
    return state


def replay_day(
    store: EventStore,
    run_id: str,
    session_date: dt.date,
    until_seq: int | None = None,
    until_time: dt.datetime | None = None,
    *,
    verify: bool = True,
) -> SessionState:
    """The session state of (run, date) after `until_seq` or at `until_time` (default: at SessionEnded).

    With `verify` the day's whole stream is read and its hash chain checked before anything is
    applied (TamperedStream names the first bad event); without, only the rows replayed are read.
    """
    with collector_paused():
        if not verify:
            if until_seq is None and until_time is None:
                until_seq = store.session_end_seq(run_id, session_date)
            rows = store.stream_payloads(run_id, session_date, until_seq)
            return replay_rows(session_date, rows, until_time=until_time)
        verified = verified_stream(store, run_id, session_date)
        if until_seq is None and until_time is None:
            until_seq = next((row[0] for row in verified if row[1] == "SessionEnded"), None)
        if until_seq is not None:
            verified = verified[:until_seq]
        return replay_rows(session_date, [(row[0], row[2]) for row in verified], until_time=until_time)


def parse_until(text: str, tz: dt.tzinfo = dt.UTC, day: dt.date | None = None) -> int | dt.datetime:
    """`--until SEQ|TIME`: a positive integer is a seq; anything else a time. A time with an offset
    (`2013-10-09T14:00-04:00`, `...Z`) is that instant; a naive one is wall time in `tz` (the run's
    exchange time, the time plugins see); a bare `HH:MM[:SS]` is that wall time on `day`."""
    value = text.strip()
    if value.isdigit():
        seq = int(value)
        if seq < 1:
            raise ValueError(f"--until {text!r}: a seq starts at 1")
        return seq
    moment: dt.datetime | None = None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        if day is not None:
            try:
                moment = dt.datetime.combine(day, dt.time.fromisoformat(value))
            except ValueError:
                moment = None
    if moment is None:
        raise ValueError(
            f"--until {text!r}: expected a seq (e.g. 42), a time of day in exchange time (e.g. 14:00), or an "
            "ISO 8601 time (e.g. 2013-10-10T14:30, exchange time, or 2013-10-10T14:30-04:00 with an offset)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
