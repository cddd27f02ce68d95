"""Replay every day of a run: the states a resume, an export or a report of a whole run starts from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from eventlog.reading import dates, stream_payloads
from eventlog.replay import replay_rows
from eventlog.store import EventStore
from statemachine.state import SessionState


def end_seqs(store: EventStore, run_id: str) -> dict[dt.date, int]:
    """The seq of each stream's SessionEnded, for the streams whose session ended (one query)."""
    rows = store.fetch(
        "SELECT session_date, MIN(seq) FROM events WHERE run_id = ? AND kind = 'SessionEnded' GROUP BY session_date",
        (run_id,),
    )
    return {store.py_date(day): int(seq) for day, seq in rows}


def replay_days(
    store: EventStore, run_id: str, days: Sequence[dt.date] | None = None, *, whole_streams: bool = False
) -> dict[dt.date, SessionState]:
    """The state of each of `days` (default: every day of the run), in date order.

    Each day is read as `replay_day` reads it by default, at its SessionEnded (or after its last event if
    the session never ended); with `whole_streams`, after the stream's last event (teardown included).
    """
    chosen = sorted(dates(store, run_id) if days is None else days)
    until = {} if whole_streams else end_seqs(store, run_id)
    return {day: replay_rows(day, stream_payloads(store, run_id, day, until.get(day))) for day in chosen}
