"""Where events go: the event-sink interface the executor writes through.

The coordinator appends the events of one request (or one phase change) as
one batch, so a crash loses at most the request in flight. The in-memory
sink serves tests; `eventlog` provides the SQL one.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Protocol

from specs.events import EventBase


class EventSink(Protocol):
    def append(self, session_date: dt.date, events: Sequence[EventBase]) -> list[int]:
        """Append a batch to the day's stream atomically; return the seq numbers given (contiguous from 1)."""
        ...


class InMemorySink:
    """Keeps every stream in lists; thread-safe; the reference sink for tests."""

    def __init__(self) -> None:
        self._streams: dict[dt.date, list[EventBase]] = {}
        self._lock = threading.Lock()

    def append(self, session_date: dt.date, events: Sequence[EventBase]) -> list[int]:
        with self._lock:
            stream = self._streams.setdefault(session_date, [])
            first = len(stream) + 1
            stream.extend(events)
            return list(range(first, first + len(events)))

    def events(self, session_date: dt.date) -> list[EventBase]:
        with self._lock:
            return list(self._streams.get(session_date, []))

    def dates(self) -> list[dt.date]:
        with self._lock:
            return sorted(self._streams)

    def all_events(self) -> list[tuple[dt.date, int, EventBase]]:
        with self._lock:
            return [(d, i + 1, e) for d in sorted(self._streams) for i, e in enumerate(self._streams[d])]
