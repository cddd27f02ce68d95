"""Reading the log: runs, the streams of a run, and events with filters.

Every function takes an open `EventStore`. Event payloads are parsed (and upcast) only when asked:
`StoredEvent.event()`. Readers of events verify the hash chain of each stream they read
(`verified_stream`, on by default, `verify=False` skips it) and raise `TamperedStream` naming the
first bad event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from eventlog.chain import ChainRow, check_chain
from eventlog.errors import NoSuchStream, TamperedStream, UnknownRun
from eventlog.schema import events, runs, sessions
from eventlog.store import EventStore
from eventlog.upcast import parse_payload
from specs.events import EventBase


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    name: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    config_json: str
    config_hash: str
    data_digest: str | None
    code_version: str
    seed: int | None
    sessions: int
    seal: str | None = None

    def summary(self) -> dict[str, Any]:
        """The `daytape runs --json` shape: CONTRACT.md's keys, then what the run was made from."""
        return {
            "run_id": self.run_id,
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "sessions": self.sessions,
            "config_hash": self.config_hash,
            "data_digest": self.data_digest,
            "code_version": self.code_version,
            "seed": self.seed,
            "seal": self.seal,
        }


@dataclass(frozen=True)
class StreamInfo:
    """One (run, date) stream: how many events, its status and the seq of its SessionEnded."""

    session_date: dt.date
    events: int
    last_seq: int
    status: str
    end_seq: int | None


@dataclass(frozen=True)
class StoredEvent:
    run_id: str
    session_date: dt.date
    seq: int
    kind: str
    schema_version: int
    symbol: str | None
    request_id: str | None
    sim_time: dt.datetime | None
    recorded_at: dt.datetime
    payload_json: str
    prev_hash: str
    hash: str

    def event(self) -> EventBase:
        """The event model, upcast to its kind's current version."""
        return parse_payload(self.kind, self.schema_version, self.payload_json)


def _run_info(row: Any, session_count: int) -> RunInfo:
    return RunInfo(
        run_id=row.run_id,
        name=row.name,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        config_json=row.config_json,
        config_hash=row.config_hash,
        data_digest=row.data_digest,
        code_version=row.code_version,
        seed=row.seed,
        sessions=session_count,
        seal=row.seal,
    )


def list_runs(store: EventStore) -> list[RunInfo]:
    """Every run, oldest first, with its number of session streams (from `sessions`, which the
    appends keep in the same transactions, so listing never scans the events)."""
    counts = select(sessions.c.run_id, func.count().label("n")).group_by(sessions.c.run_id).subquery()
    query = (
        select(runs, func.coalesce(counts.c.n, 0).label("n"))
        .select_from(runs.outerjoin(counts, counts.c.run_id == runs.c.run_id))
        .order_by(runs.c.started_at, runs.c.run_id)
    )
    with store.engine.connect() as conn:
        return [_run_info(row, int(row.n)) for row in conn.execute(query)]


def resolve_run_id(store: EventStore, text: str) -> str:
    """A full run id, given the id or a unique prefix of it; UnknownRun otherwise."""
    text = text.strip()
    with store.engine.connect() as conn:
        exact = conn.execute(select(runs.c.run_id).where(runs.c.run_id == text)).first()
        if exact is not None:
            return exact.run_id
        if not text:
            raise UnknownRun(text, f" in {store.url}")
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches = conn.execute(
            select(runs.c.run_id).where(runs.c.run_id.like(escaped + "%", escape="\\")).limit(6)
        ).all()
    if len(matches) == 1:
        return matches[0].run_id
    if matches:
        shown = ", ".join(m.run_id for m in matches[:5])
        raise UnknownRun(text, f": the prefix matches several runs ({shown}); give more of the id")
    raise UnknownRun(text, f" in {store.url}")


def get_run(store: EventStore, run_id: str) -> RunInfo:
    run_id = resolve_run_id(store, run_id)
    with store.engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.run_id == run_id)).one()
        count = conn.execute(select(func.count()).where(sessions.c.run_id == run_id)).scalar_one()
    return _run_info(row, int(count))


def streams(store: EventStore, run_id: str) -> list[StreamInfo]:
    """The run's streams by date, counted from the events (the status comes from `sessions`)."""
    counted = (
        select(
            events.c.session_date,
            func.count().label("n"),
            func.max(events.c.seq).label("last_seq"),
        )
        .where(events.c.run_id == run_id)
        .group_by(events.c.session_date)
        .subquery()
    )
    query = (
        select(counted, sessions.c.status, sessions.c.end_seq)
        .select_from(
            counted.outerjoin(
                sessions,
                (sessions.c.run_id == run_id) & (sessions.c.session_date == counted.c.session_date),
            )
        )
        .order_by(counted.c.session_date)
    )
    with store.engine.connect() as conn:
        return [
            StreamInfo(
                session_date=row.session_date,
                events=int(row.n),
                last_seq=int(row.last_seq),
                status=row.status or "running",
                end_seq=row.end_seq,
            )
            for row in conn.execute(query)
        ]


def recorded_sessions(store: EventStore, run_id: str) -> dict[dt.date, tuple[str, int, int | None]]:
    """The days the run lists in `sessions`, each as (status, last seq, SessionEnded seq), read
    without consulting the events (the audit checks one against the other)."""
    query = select(sessions.c.session_date, sessions.c.status, sessions.c.last_seq, sessions.c.end_seq).where(
        sessions.c.run_id == run_id
    )
    with store.engine.connect() as conn:
        return {row.session_date: (row.status, int(row.last_seq), row.end_seq) for row in conn.execute(query)}


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
    query = select(events).where(events.c.run_id == run_id)
    if session_date is not None:
        query = query.where(events.c.session_date == session_date)
    if kinds is not None:
        query = query.where(events.c.kind.in_(list(kinds)))
    if symbol is not None:
        query = query.where(events.c.symbol == symbol)
    if request_id is not None:
        query = query.where(events.c.request_id == request_id)
    if seq_from is not None:
        query = query.where(events.c.seq >= seq_from)
    if seq_to is not None:
        query = query.where(events.c.seq <= seq_to)
    if time_from is not None:
        query = query.where(events.c.sim_time >= time_from)
    if time_to is not None:
        query = query.where(events.c.sim_time <= time_to)
    query = query.order_by(events.c.session_date, events.c.seq)
    with store.engine.connect() as conn:
        found = [
            StoredEvent(
                run_id=row.run_id,
                session_date=row.session_date,
                seq=row.seq,
                kind=row.kind,
                schema_version=row.schema_version,
                symbol=row.symbol,
                request_id=row.request_id,
                sim_time=row.sim_time,
                recorded_at=row.recorded_at,
                payload_json=row.payload_json,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
            for row in conn.execute(query)
        ]
    if verify:
        ends: dict[dt.date, int] = {}
        for day in sorted({row.session_date for row in found}):
            verified = verified_stream(store, run_id, day)
            ends[day] = verified[-1][0] if verified else 0
        # rows past a stream's recorded end were never verified (appended since, or forged): left out
        found = [row for row in found if row.seq <= ends[row.session_date]]
    return found


def stream_payloads(
    store: EventStore, run_id: str, session_date: dt.date, until_seq: int | None = None
) -> Sequence[tuple[int, str]]:
    """(seq, payload_json) of one stream in seq order: the replay's hot path reads nothing else."""
    sql = "SELECT seq, payload_json FROM events WHERE run_id = ? AND session_date = ?"
    params: list[Any] = [run_id, store.db_date(session_date)]
    if until_seq is not None:
        sql += " AND seq <= ?"
        params.append(until_seq)
    return store.fetch(sql + " ORDER BY seq", params)


def stream_rows(store: EventStore, run_id: str, session_date: dt.date) -> Sequence[tuple[Any, ...]]:
    """Every stored column the audit checks, in seq order, the chain's columns first:
    (seq, kind, payload_json, prev_hash, hash, schema_version, symbol, request_id, sim_time)."""
    return store.fetch(
        "SELECT seq, kind, payload_json, prev_hash, hash, schema_version, symbol, request_id, sim_time "
        "FROM events WHERE run_id = ? AND session_date = ? ORDER BY seq",
        (run_id, store.db_date(session_date)),
    )


def chain_rows(store: EventStore, run_id: str, session_date: dt.date) -> tuple[list[ChainRow], int | None]:
    """A stream's (seq, kind, payload_json, prev_hash, hash) rows in seq order, and the last seq the
    `sessions` table recorded for it (None if it lists no such stream).

    The recorded last seq is read first and the rows after it are left out: an append that lands
    between the two reads only adds rows past it, so a stream being written reads as it stood.
    """
    day = store.db_date(session_date)
    recorded = store.fetch("SELECT last_seq FROM sessions WHERE run_id = ? AND session_date = ?", (run_id, day))
    last_seq = int(recorded[0][0]) if recorded else None
    sql = "SELECT seq, kind, payload_json, prev_hash, hash FROM events WHERE run_id = ? AND session_date = ?"
    params: list[Any] = [run_id, day]
    if last_seq is not None:
        sql += " AND seq <= ?"
        params.append(last_seq)
    return store.fetch(sql + " ORDER BY seq", params), last_seq  # type: ignore[return-value]


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
    rows, last_seq = chain_rows(store, run_id, session_date)
    verify_rows(run_id, session_date, rows, last_seq)
    return rows
