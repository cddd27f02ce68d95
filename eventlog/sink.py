"""`RunSink`: statemachine's EventSink for one run, writing to the store.

The coordinator appends each request's events as one batch. The sink remembers the last seq it
wrote to each date and passes it as `expected_seq`, so a second writer on the same stream (two
workers given the same day by mistake) fails with StreamConflict instead of interleaving.
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

    def __init__(self, store: EventStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._heads: dict[dt.date, int] = {}
        self._lock = threading.Lock()

    def append(self, session_date: dt.date, events: Sequence[EventBase]) -> list[int]:
        """Append a batch to the day's stream atomically; return the seq numbers given."""
        if not events:
            return []
        with self._lock:
            expected = self._heads.get(session_date)
            if expected is None:
                expected = self.store.head(self.run_id, session_date)[0]
            seqs = self.store.append(self.run_id, session_date, events, expected_seq=expected)
            self._heads[session_date] = seqs[-1]
            return seqs

    def last_seq(self, session_date: dt.date) -> int:
        with self._lock:
            if session_date not in self._heads:
                self._heads[session_date] = self.store.head(self.run_id, session_date)[0]
            return self._heads[session_date]
