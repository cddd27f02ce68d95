"""The event store's interface: what every backend promises, and `open_store`, which picks one by URL.

The backends are peer modules behind this one interface: `eventlog.sqlite` (a file; the default) and
`eventlog.postgres` (many workers), both built on the SQL they share in `eventlog.sqlstore`. Every
backend runs the same contract suite (tests/eventlog/store_contract.py).

Writes:
- `create_run` / `finish_run` keep a run's record; `finish_run` seals a run that ended (`eventlog.seal`).
- `append(run_id, date, events, expected_seq=None)` adds a batch to a (run, date) stream atomically: it
  numbers the batch after the stream's head and chains the hashes. With `expected_seq` it is
  optimistic: the writer says which seq it last saw, and if the stream moved on the append fails with
  `StreamConflict`, as it does when two writers race past that check. Writers on different streams
  never touch the same rows.
- `delete_stream` drops one day's stream (the one deletion: `daytape run --resume` redoes that day).

Reads give the stored rows as they are; the readers (`eventlog.reading`, `replay`, `audit`, `diff`,
`explain`) verify and interpret them, and reach the log only through these methods, never with SQL of
their own (an import-linter contract holds them to it).
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from specs.status import DayStatus, RunStatus

if TYPE_CHECKING:
    from eventlog.chain import ChainRow
    from eventlog.manifest import RunManifest
    from eventlog.sink import RunSink
    from specs.events import EventBase

RUN_STATUSES: tuple[str, ...] = tuple(RunStatus)
#: The statuses of a run that ended: `finish_run` seals these (a running or interrupted run is open).
SEALED_STATUSES: tuple[str, ...] = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.ABORTED)
#: Session statuses: a stream is running until its SessionEnded, SessionFailed or SessionAborted.
SESSION_STATUS_BY_KIND: dict[str, str] = {
    "SessionEnded": DayStatus.ENDED,
    "SessionFailed": DayStatus.FAILED,
    "SessionAborted": DayStatus.ABORTED,
}

#: A stream's row with every column the audit checks, the chain's columns first:
#: (seq, kind, payload_json, prev_hash, hash, schema_version, symbol, request_id, sim_time); as every
#: reader gets rows, prev_hash is the hash of the row before (it is not stored), the hashes are hex and
#: the payload is the canonical text that was hashed.
AuditRow = tuple[int, str, str, str, str, int, str | None, str | None, dt.datetime | str | None]


def scope_summary(data_scope: str | None) -> dict[str, Any]:
    """What a run's listing says of its data scope (`runs.data_scope`, written by daytape.datascope): the
    scope's name and how many files it covers; for a run that recorded none, the whole store, whose files
    were not counted."""
    if data_scope is None:
        return {"scope": "store", "files": None}
    document = json.loads(data_scope)
    return {"scope": document["scope"], "files": len(document["files"])}


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
    data_scope: str | None = None

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
            "data_scope": scope_summary(self.data_scope),
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
class EventFilter:
    """Which of a run's events to read; every bound is inclusive, and None does not filter."""

    session_date: dt.date | None = None
    kinds: tuple[str, ...] | None = None
    symbol: str | None = None
    request_id: str | None = None
    seq_from: int | None = None
    seq_to: int | None = None
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None


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
        from eventlog.upcast import parse_payload  # the event models: only a reader of payloads pays for them

        return parse_payload(self.kind, self.schema_version, self.payload_json)


class EventStore(ABC):
    """A log at one URL. Open it with `open_store(url)`; close it (or use `with`) when done."""

    url: str

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @abstractmethod
    def close(self) -> None: ...

    def sink(self, run_id: str, *, resume: bool = False) -> RunSink:
        """The statemachine EventSink that appends this run's batches (see eventlog.sink.RunSink)."""
        from eventlog.sink import RunSink

        return RunSink(self, run_id, resume=resume)

    # --- runs ----------------------------------------------------------------------------------

    @abstractmethod
    def create_run(
        self,
        manifest: RunManifest,
        *,
        run_id: str | None = None,
        started_at: dt.datetime | None = None,
        status: str = "running",
    ) -> str:
        """Record a new run and return its id (a fresh uuid4 hex unless given); `started_at` defaults
        to the database's clock."""

    @abstractmethod
    def finish_run(self, run_id: str, status: str, *, finished_at: dt.datetime | None = None) -> str | None:
        """Set a run's status (one of RUN_STATUSES, else ValueError) and when it finished; return its
        seal. A run that ended (SEALED_STATUSES) is sealed over its streams as they stand; setting it
        running or interrupted again (a resume) clears the seal. UnknownRun for an unknown id."""

    @abstractmethod
    def list_runs(self) -> list[RunInfo]:
        """Every run, oldest first, with its number of session streams."""

    @abstractmethod
    def run(self, run_id: str) -> RunInfo | None:
        """The run with exactly this id, or None."""

    @abstractmethod
    def match_run_ids(self, text: str, limit: int) -> list[str]:
        """`[text]` when a run has exactly that id, else up to `limit` ids that start with `text`."""

    # --- streams -------------------------------------------------------------------------------

    @abstractmethod
    def head(self, run_id: str, session_date: dt.date) -> tuple[int, str]:
        """The stream's last seq and hash: (0, genesis) for a stream not yet written."""

    @abstractmethod
    def append(
        self,
        run_id: str,
        session_date: dt.date,
        events: Sequence[EventBase],
        *,
        expected_seq: int | None = None,
    ) -> list[int]:
        """Append a batch to the (run, date) stream atomically; return the seqs given to it.

        `expected_seq` is the last seq the writer knows of (0 for a new stream); if the stream is
        elsewhere the append fails with StreamConflict and writes nothing. UnknownRun for a run that
        was not created; LogWriteFailed when the database does not take the write.
        """

    @abstractmethod
    def delete_stream(self, run_id: str, session_date: dt.date) -> int:
        """Drop a (run, date) stream and its record; return how many events it had."""

    @abstractmethod
    def streams(self, run_id: str) -> list[StreamInfo]:
        """The run's streams by date, counted from their events (the status from their records)."""

    @abstractmethod
    def recorded_sessions(self, run_id: str) -> dict[dt.date, tuple[str, int, int | None]]:
        """The days the run's records list, each as (status, last seq, SessionEnded seq), read without
        consulting the events (the audit checks one against the other)."""

    @abstractmethod
    def events(self, run_id: str, where: EventFilter = EventFilter()) -> list[StoredEvent]:
        """The run's stored events in (date, seq) order, those `where` lets through."""

    @abstractmethod
    def stream_payloads(
        self, run_id: str, session_date: dt.date, until_seq: int | None = None
    ) -> Sequence[tuple[int, bytes]]:
        """(seq, canonical payload) of one stream in seq order, up to `until_seq`: the replay's hot path."""

    @abstractmethod
    def stream_rows(self, run_id: str, session_date: dt.date) -> Sequence[AuditRow]:
        """Every stored column the audit checks (`AuditRow`), in seq order. A time column that does
        not read as a time comes back as the text stored."""

    @abstractmethod
    def chain_rows(self, run_id: str, session_date: dt.date) -> tuple[list[ChainRow], int | None]:
        """A stream's (seq, kind, payload_json, prev_hash, hash) rows in seq order, and the last seq its
        record holds (None if the run records no such stream).

        The recorded last seq is read first and the rows after it are left out: an append that lands
        between the two reads only adds rows past it, so a stream being written reads as it stood.
        """

    @abstractmethod
    def session_end_seq(self, run_id: str, session_date: dt.date) -> int | None:
        """The seq of the stream's first SessionEnded, or None if the session never ended."""


def open_store(url: str, *, create: bool = True, read_only: bool = False) -> EventStore:
    """Open the log at `url` (sqlite:///PATH, postgresql+psycopg://..., postgresql://...).

    With `create` (writing) a missing SQLite file or an empty database becomes a new log at the
    head schema revision; without it a missing log is `LogNotFound`. A new SQLite file is made only
    in a folder that exists. `read_only` (reading) opens a SQLite log without writing to it, so a
    log in a read-only folder can be read. A log whose schema is behind is refused with
    `SchemaBehind` either way; a log that cannot be reached or is not a log is `LogUnavailable`.
    """
    from eventlog.engine import normalize_url

    if normalize_url(url).drivername.startswith("sqlite"):
        from eventlog.sqlite import SQLiteEventStore

        return SQLiteEventStore.open(url, create=create, read_only=read_only and not create)
    from eventlog.postgres import PostgresEventStore

    return PostgresEventStore.open(url, create=create)
