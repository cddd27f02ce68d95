"""What an attacker (or a careless hand) does to a log, in SQL, and an independent reference of the seal.

Nothing here calls the code under test to decide what is right: hashes are recomputed with hashlib
from the stored text, and the seal is rebuilt from its documented definition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import delete, func, select, update

from eventlog.schema import events, runs, sessions
from eventlog.store import EventStore


def genesis(day: dt.date) -> str:
    return hashlib.sha256(day.isoformat().encode()).hexdigest()


def rows_of(store: EventStore, run_id: str, day: dt.date) -> list[Any]:
    with store.engine.connect() as conn:
        query = select(events).where(events.c.run_id == run_id, events.c.session_date == day).order_by(events.c.seq)
        return list(conn.execute(query))


def last_seq(store: EventStore, run_id: str, day: dt.date) -> int:
    with store.engine.connect() as conn:
        query = select(func.max(events.c.seq)).where(events.c.run_id == run_id, events.c.session_date == day)
        return int(conn.execute(query).scalar_one())


def delete_events(store: EventStore, run_id: str, day: dt.date, after_seq: int = 0) -> None:
    """Delete the day's events after `after_seq` (all of them by default), leaving `sessions` as it was."""
    with store.engine.begin() as conn:
        conn.execute(
            delete(events).where(events.c.run_id == run_id, events.c.session_date == day, events.c.seq > after_seq)
        )


def set_recorded(store: EventStore, run_id: str, day: dt.date, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(sessions).where(sessions.c.run_id == run_id, sessions.c.session_date == day).values(**values)
        )


def set_run(store: EventStore, run_id: str, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))


def set_event(store: EventStore, run_id: str, day: dt.date, seq: int, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(events)
            .where(events.c.run_id == run_id, events.c.session_date == day, events.c.seq == seq)
            .values(**values)
        )


def first_seq(store: EventStore, run_id: str, day: dt.date, kind: str, symbol: str | None = None) -> int:
    for row in rows_of(store, run_id, day):
        if row.kind == kind and (symbol is None or row.symbol == symbol):
            return int(row.seq)
    raise AssertionError(f"no {kind} of {symbol} on {day}")


def forge_payload(store: EventStore, run_id: str, day: dt.date, seq: int, old: str, new: str) -> None:
    """Edit one payload's text in place, hashes untouched (what finding 2 did: added_by config -> strategy)."""
    [row] = [r for r in rows_of(store, run_id, day) if r.seq == seq]
    assert old in row.payload_json
    set_event(store, run_id, day, seq, payload_json=row.payload_json.replace(old, new))


def rechain(store: EventStore, run_id: str, day: dt.date) -> None:
    """Recompute every prev_hash and hash of the day from the stored payloads, as a careful forger would."""
    running = genesis(day)
    for row in rows_of(store, run_id, day):
        digest = hashlib.sha256((running + row.payload_json).encode()).hexdigest()
        set_event(store, run_id, day, row.seq, prev_hash=running, hash=digest)
        running = digest


def reference_seal(store: EventStore, run_id: str) -> str:
    """The seal by its definition: sha256 of sorted-key compact JSON of the manifest and each day's
    [date, last seq, hash of the last event]."""
    with store.engine.connect() as conn:
        run = conn.execute(select(runs).where(runs.c.run_id == run_id)).one()
        rows = list(conn.execute(select(events).where(events.c.run_id == run_id)))
    last: dict[dt.date, Any] = {}
    for row in rows:
        if row.session_date not in last or row.seq > last[row.session_date].seq:
            last[row.session_date] = row
    document = {
        "seal": 1,
        "manifest": {
            "config_hash": run.config_hash,
            "data_digest": run.data_digest,
            "code_version": run.code_version,
            "seed": run.seed,
        },
        "days": [[day.isoformat(), last[day].seq, last[day].hash] for day in sorted(last)],
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
