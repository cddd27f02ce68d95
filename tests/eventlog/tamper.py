"""What an attacker (or a careless hand) does to a log, in SQL, and an independent reference of the seal.

Nothing here calls the code under test to decide what is right: hashes are recomputed with hashlib
from the stored text, and the seal is rebuilt from its documented definition. Rows are read and written
in the stored layout as documented (eventlog/schema.py, eventlog/codec.py): a stored payload is the JSON
text itself (which is how a forger writes one here) or a magicless zstd frame against the shipped
dictionary; the hash is 32 bytes; a row's prev_hash is not stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import zstandard
from sqlalchemy import delete, func, select, update

from eventlog.kinds import KIND_NAMES
from eventlog.schema import events, runs, sessions
from eventlog.store import EventStore

_DICTIONARY = zstandard.ZstdCompressionDict(files("eventlog").joinpath("data/payloads-1.zdict").read_bytes())
_DECOMPRESS = zstandard.ZstdDecompressor(dict_data=_DICTIONARY, format=zstandard.FORMAT_ZSTD1_MAGICLESS).decompress


@dataclass(frozen=True)
class Row:
    """A stored row as a forger reads it: the kind by name, the payload's text and the hash in hex."""

    session_date: dt.date
    seq: int
    kind: str
    symbol: str | None
    request_id: str | None
    sim_time: dt.datetime | None
    recorded_at: dt.datetime
    payload_json: str
    hash: str


def stored_text(payload: bytes) -> str:
    return (payload if payload[:1] == b"{" else _DECOMPRESS(payload)).decode()


def stored_payload(text: str) -> bytes:
    """A payload as a forger stores it: the text as it is."""
    return text.encode()


def run_key(store: EventStore, run_id: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(runs.c.run_key).where(runs.c.run_id == run_id)).scalar_one())


def genesis(day: dt.date) -> str:
    return hashlib.sha256(day.isoformat().encode()).hexdigest()


def rows_of(store: EventStore, run_id: str, day: dt.date) -> list[Row]:
    key = run_key(store, run_id)
    with store.engine.connect() as conn:
        query = select(events).where(events.c.run_key == key, events.c.session_date == day).order_by(events.c.seq)
        return [
            Row(
                session_date=row.session_date,
                seq=row.seq,
                kind=KIND_NAMES[row.kind - 1],
                symbol=row.symbol,
                request_id=row.request_id,
                sim_time=row.sim_time,
                recorded_at=row.recorded_at,
                payload_json=stored_text(row.payload),
                hash=row.hash.hex(),
            )
            for row in conn.execute(query)
        ]


def last_seq(store: EventStore, run_id: str, day: dt.date) -> int:
    key = run_key(store, run_id)
    with store.engine.connect() as conn:
        query = select(func.max(events.c.seq)).where(events.c.run_key == key, events.c.session_date == day)
        return int(conn.execute(query).scalar_one())


def delete_events(store: EventStore, run_id: str, day: dt.date, after_seq: int = 0) -> None:
    """Delete the day's events after `after_seq` (all of them by default), leaving `sessions` as it was."""
    key = run_key(store, run_id)
    with store.engine.begin() as conn:
        conn.execute(
            delete(events).where(events.c.run_key == key, events.c.session_date == day, events.c.seq > after_seq)
        )


def set_recorded(store: EventStore, run_id: str, day: dt.date, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(sessions).where(sessions.c.run_id == run_id, sessions.c.session_date == day).values(**values)
        )


def set_run(store: EventStore, run_id: str, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))


def stored_values(**values: Any) -> dict[str, Any]:
    """Row values as a reader sees them (kind by name, payload text, hex hash) in the stored layout."""
    stored = dict(values)
    if "kind" in stored:
        stored["kind"] = KIND_NAMES.index(stored["kind"]) + 1
    if "payload_json" in stored:
        stored["payload"] = stored_payload(stored.pop("payload_json"))
    if "hash" in stored:
        stored["hash"] = bytes.fromhex(stored["hash"])
    return stored


def set_event(store: EventStore, run_id: str, day: dt.date, seq: int, **values: Any) -> None:
    key = run_key(store, run_id)
    with store.engine.begin() as conn:
        conn.execute(
            update(events)
            .where(events.c.run_key == key, events.c.session_date == day, events.c.seq == seq)
            .values(**stored_values(**values))
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
    """Recompute every hash of the day from the stored payloads, as a careful forger would."""
    running = genesis(day)
    for row in rows_of(store, run_id, day):
        digest = hashlib.sha256((running + row.payload_json).encode()).hexdigest()
        set_event(store, run_id, day, row.seq, hash=digest)
        running = digest


def reference_seal(store: EventStore, run_id: str) -> str:
    """The seal by its definition: sha256 of sorted-key compact JSON of the manifest and each day's
    [date, last seq, hash of the last event]."""
    with store.engine.connect() as conn:
        run = conn.execute(select(runs).where(runs.c.run_id == run_id)).one()
        rows = list(conn.execute(select(events).where(events.c.run_key == run.run_key)))
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
        "days": [[day.isoformat(), last[day].seq, last[day].hash.hex()] for day in sorted(last)],
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
