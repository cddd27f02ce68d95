"""The event log's domain errors; each message names the log, run, stream or seq it is about."""

from __future__ import annotations

import datetime as dt

from specs.errors import DaytapeError


class EventLogError(DaytapeError):
    """Base of every error the event log raises on purpose."""


class LogNotFound(EventLogError):
    """No event log at the URL (reading never creates one)."""


class LogUnavailable(EventLogError):
    """The log cannot be opened: no server answers, no such database, a file that is not a SQLite
    database, a folder where the file should be, or a folder that does not exist."""


class UnsupportedLogURL(EventLogError):
    """A URL whose scheme is neither sqlite:/// nor postgresql[+psycopg]://."""


class SchemaBehind(EventLogError):
    """The log's schema is older than this daytape; the message prints the command that fixes it."""

    def __init__(self, url: str, current: str | None, head: str) -> None:
        self.url, self.current, self.head = url, current, head
        super().__init__(
            f"the event log {url} has schema revision {current or 'none'}, this daytape needs {head}; "
            f"run: daytape db upgrade --log {url}"
        )


class SchemaAhead(EventLogError):
    """The log was migrated by a newer daytape than this one."""


class UnknownRun(EventLogError):
    def __init__(self, run_id: str, detail: str = "") -> None:
        self.run_id = run_id
        super().__init__(f"unknown run id {run_id!r}{detail}")


class StreamConflict(EventLogError):
    """A second writer appended to the same (run, date) stream first: optimistic concurrency on seq."""

    def __init__(self, run_id: str, session_date: dt.date, seq: int, detail: str) -> None:
        self.run_id, self.session_date, self.seq = run_id, session_date, seq
        super().__init__(f"stream conflict on run {run_id} date {session_date.isoformat()} at seq {seq}: {detail}")


class PayloadError(EventLogError, ValueError):
    """A stored payload that cannot be read as an event; the message says why."""


class ReplayError(EventLogError):
    """The stream cannot be replayed: a gap in seq, or an event that does not apply."""

    def __init__(self, session_date: dt.date, seq: int, kind: str, why: str) -> None:
        self.session_date, self.seq, self.kind, self.why = session_date, seq, kind, why
        super().__init__(f"cannot replay {session_date.isoformat()} at seq {seq} ({kind}): {why}")


class NoSuchStream(EventLogError):
    def __init__(self, run_id: str, session_date: dt.date, dates: list[dt.date]) -> None:
        self.run_id, self.session_date = run_id, session_date
        known = ", ".join(d.isoformat() for d in dates) or "none"
        super().__init__(f"run {run_id} has no stream for {session_date.isoformat()} (dates: {known})")


class TamperedStream(EventLogError):
    """A stream a reader was asked to read fails verification: its first bad event and why."""

    def __init__(self, run_id: str, session_date: dt.date, seq: int | None, kind: str, why: str) -> None:
        self.run_id, self.session_date, self.seq, self.kind, self.why = run_id, session_date, seq, kind, why
        at = f" seq {seq}" if seq is not None else ""
        super().__init__(
            f"run {run_id}: the stream {session_date.isoformat()} fails verification at{at} ({kind}): {why}"
        )


class LogWriteFailed(EventLogError):
    """The database did not take a write: the disk is full, an I/O or sync error, the server went away.

    The batch may or may not have reached the disk; `daytape run --resume` redoes an unfinished day
    from its start either way."""
