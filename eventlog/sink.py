"""`RunSink`: statemachine's EventSink for one run, writing to the store.

The coordinator appends each request's events as one batch. The sink remembers the last seq it
wrote to each date and passes it to the store as `expected_seq`, so a second writer on the same
stream fails with StreamConflict instead of interleaving. A new sink expects every day it writes to
be empty (two workers given the same day by mistake collide at seq 1); `resume=True` continues the
streams where the log has them instead.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from specs.events import EventBase

if TYPE_CHECKING:
    from eventlog.store import EventStore


class RunSink:
    """Appends batches of one run; one instance may serve several threads."""

    def __init__(self, store: EventStore, run_id: str, *, resume: bool = False) -> None:
        self.store = store
        self.run_id = run_id
        self.resume = resume
        self._heads: dict[dt.date, int] = {}
        self._lock = threading.Lock()

    def append(self, session_date: dt.date, events: Sequence[EventBase]) -> list[int]:
        """Append a batch to the day's stream atomically; return the seq numbers given."""
        if not events:
            return []
        with self._lock:
            seqs = self.store.append(self.run_id, session_date, events, expected_seq=self._head(session_date))
            self._heads[session_date] = seqs[-1]
            return seqs

    def last_seq(self, session_date: dt.date) -> int:
        """The last seq this sink knows of in the day's stream."""
        with self._lock:
            return self._head(session_date)

    def _head(self, session_date: dt.date) -> int:
        if session_date not in self._heads:
            self._heads[session_date] = self.store.head(self.run_id, session_date)[0] if self.resume else 0
        return self._heads[session_date]
