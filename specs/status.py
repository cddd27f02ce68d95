"""The statuses a run, a day and a request end in, as the log stores and the CLI prints them.

Each is a `StrEnum`: a member is equal to its string (`RunStatus.COMPLETED == "completed"`), so what is
written to the log, to JSON and to the terminal is the same text as before they had names.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """A run in the log's `runs` table."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"


class DayStatus(StrEnum):
    """How one session day of a run finished (a `DayResult`, a stream's status)."""

    ENDED = "ended"
    FAILED = "failed"
    ABORTED = "aborted"


class RequestStatus(StrEnum):
    """Where a request is: received, planned and validated on the way; completed, skipped, rejected or
    failed at its end (the `Outcome` of a request and the status `explain` prints)."""

    RECEIVED = "received"
    PLANNED = "planned"
    VALIDATED = "validated"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    FAILED = "failed"


#: The ends of a request.
REQUEST_OUTCOMES: tuple[RequestStatus, ...] = (
    RequestStatus.COMPLETED,
    RequestStatus.SKIPPED,
    RequestStatus.REJECTED,
    RequestStatus.FAILED,
)
