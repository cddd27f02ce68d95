"""Reading the log: runs, the streams of a run, and events with filters.

Every function takes an open `EventStore`. Event payloads are parsed (and upcast) only when asked:
`StoredEvent.event()`. Readers of events verify the hash chain of each stream they read
(`verified_stream`, on by default, `verify=False` skips it) and raise `TamperedStream` naming the
first bad event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from eventlog.chain import ChainRow, check_chain
from eventlog.errors import NoSuchStream, TamperedStream, UnknownRun
from eventlog.store import EventFilter, EventStore, RunInfo, StoredEvent, StreamInfo

__all__ = [
    "RunInfo",
    "StoredEvent",
    "StreamInfo",
    "dates",
    "get_run",
    "list_runs",
    "pick_date",
    "read_events",
    "resolve_run_id",
    "streams",
    "verified_stream",
    "verify_rows",
]


def list_runs(store: EventStore) -> list[RunInfo]:
    """Every run, oldest first, with its number of session streams."""
    return store.list_runs()


def resolve_run_id(store: EventStore, text: str) -> str:
    """A full run id, given the id or a unique prefix of it; UnknownRun otherwise."""
    text = text.strip()
    if not text:
        raise UnknownRun(text, f" in {store.url}")
    matches = store.match_run_ids(text, 6)
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:5])
        raise UnknownRun(text, f": the prefix matches several runs ({shown}); give more of the id")
    raise UnknownRun(text, f" in {store.url}")


def get_run(store: EventStore, run_id: str) -> RunInfo:
    run_id = resolve_run_id(store, run_id)
    found = store.run(run_id)
    if found is None:  # deleted between the two reads
        raise UnknownRun(run_id, f" in {store.url}")
    return found


def streams(store: EventStore, run_id: str) -> list[StreamInfo]:
    """The run's streams by date, counted from the events (the status comes from `sessions`)."""
    return store.streams(run_id)


def dates(store: EventStore, run_id: str) -> list[dt.date]:
    return [s.session_date for s in streams(store, run_id)]


def pick_date(store: EventStore, run_id: str, session_date: dt.date | None) -> dt.date:
    """The given date (which must have a stream) or the run's last date."""
    known = dates(store, run_id)
    if session_date is None:
        if not known:
            raise NoSuchStream(run_id, dt.date.min, known)
        return known[-1]
    if session_date not in known:
        raise NoSuchStream(run_id, session_date, known)
    return session_date


def read_events(
    store: EventStore,
    run_id: str,
    *,
    session_date: dt.date | None = None,
    kinds: Iterable[str] | None = None,
    symbol: str | None = None,
    request_id: str | None = None,
    seq_from: int | None = None,
    seq_to: int | None = None,
    time_from: dt.datetime | None = None,
    time_to: dt.datetime | None = None,
    verify: bool = True,
) -> list[StoredEvent]:
    """The run's events in (date, seq) order, filtered; every bound is inclusive. With `verify`,
    the stream of each date they come from is verified up to its recorded end, and only events up
    to there are returned."""
    kinds = tuple(kinds) if kinds is not None else None
    where = EventFilter(session_date, kinds, symbol, request_id, seq_from, seq_to, time_from, time_to)
    found = store.events(run_id, where)
    if verify:
        ends: dict[dt.date, int] = {}
        for day in sorted({row.session_date for row in found}):
            verified = verified_stream(store, run_id, day)
            ends[day] = verified[-1][0] if verified else 0
        # rows past a stream's recorded end were never verified (appended since, or forged): left out
        found = [row for row in found if row.seq <= ends[row.session_date]]
    return found


def verify_rows(run_id: str, session_date: dt.date, rows: Sequence[ChainRow], last_seq: int | None) -> None:
    """TamperedStream naming the first bad event unless the rows are the sound, whole stream."""
    if last_seq is None:
        if rows:
            why = "the log's sessions table does not list this stream"
            raise TamperedStream(run_id, session_date, None, "?", why)
        return
    bad = check_chain(session_date, rows, last_seq).bad
    if bad is not None:
        raise TamperedStream(run_id, session_date, bad.seq, bad.kind, bad.why)


def verified_stream(store: EventStore, run_id: str, session_date: dt.date) -> list[ChainRow]:
    """A stream's `chain_rows`, verified (TamperedStream otherwise)."""
    rows, last_seq = store.chain_rows(run_id, session_date)
    verify_rows(run_id, session_date, rows, last_seq)
    return rows
