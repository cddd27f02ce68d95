"""The hash chain of one stream, checked one way by the audit and by every reader.

A stream is sound when its seqs run 1, 2, 3, ... with no gap, each row's `prev_hash` is the hash of
the row before (the genesis hash for seq 1), each `hash` is sha256(prev_hash + payload_json) of the
canonical text, and it ends at the seq the log's `sessions` table recorded for it: the chain alone
cannot see its own tail cut off, the recorded last seq can. The log stores no prev_hash (the store
gives each row the hash of the row before), so a row moved, replaced or edited shows as a hash that
does not match its payload chained from the row before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from eventlog.hashing import genesis_hash

#: A stored row as the chain sees it: (seq, kind, payload_json, prev_hash, hash).
ChainRow = tuple[int, str, str, str, str]


@dataclass(frozen=True)
class BadEvent:
    """The first thing wrong in a log: a row of a stream, or (date and seq None) the run itself."""

    session_date: dt.date | None
    seq: int | None
    kind: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        stream = self.session_date.isoformat() if self.session_date else None
        return {"stream": stream, "seq": self.seq, "kind": self.kind, "why": self.why}

    def __str__(self) -> str:
        if self.session_date is None:
            return f"the run: {self.why}"
        where = self.session_date.isoformat() + (f" seq {self.seq}" if self.seq is not None else "")
        return f"{where} ({self.kind}): {self.why}"


@dataclass(frozen=True)
class ChainCheck:
    """How far a stream links up from its genesis: the rows that do, the hash of the last of them,
    and the first bad row (None when the whole stream is sound)."""

    linked: int
    head: str
    bad: BadEvent | None


def check_chain(session_date: dt.date, rows: Sequence[ChainRow], last_seq: int | None = None) -> ChainCheck:
    """Check a stream's (seq, kind, payload_json, prev_hash, hash) rows, in seq order.

    With `last_seq` (what the `sessions` table recorded), a stream that stops short of it or goes
    past it is bad too.
    """
    running = genesis_hash(session_date)
    expected = 1
    for seq, kind, payload, prev_hash, stored in rows:
        if seq != expected:
            if seq > expected:
                why = f"missing: the stream goes from seq {expected - 1} to seq {seq}"
                return ChainCheck(expected - 1, running, BadEvent(session_date, expected, "?", why))
            return ChainCheck(expected - 1, running, BadEvent(session_date, expected, kind, "out of order"))
        if prev_hash != running:
            why = "prev_hash does not link to the row before (a row was moved, dropped or rewritten)"
            return ChainCheck(seq - 1, running, BadEvent(session_date, seq, kind, why))
        if sha256((prev_hash + payload).encode()).hexdigest() != stored:
            why = "hash does not match the payload chained from the row before (the row was edited, moved or replaced)"
            return ChainCheck(seq - 1, running, BadEvent(session_date, seq, kind, why))
        running = stored
        expected += 1
    linked = expected - 1
    if last_seq is not None and last_seq != linked:
        if last_seq > linked:
            why = (
                f"missing: the stream ends at seq {linked} but the log recorded it up to seq {last_seq} "
                "(events were cut off its end)"
            )
            return ChainCheck(linked, running, BadEvent(session_date, linked + 1, "?", why))
        why = f"the stream goes on past seq {last_seq}, where the log recorded its end"
        return ChainCheck(last_seq, running, BadEvent(session_date, last_seq + 1, rows[last_seq][1], why))
    return ChainCheck(linked, running, None)
