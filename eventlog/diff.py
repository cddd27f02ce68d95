"""The first divergent event between two runs, date stream by date stream.

Two events are the same when their kind and payload are, with run ids and recorded times ignored
(the payload never holds a recorded time; a run id inside a payload is read as `<run>`). Streams
are compared hash by hash first, since the genesis hash depends on the date alone: equal hashes mean
equal streams up to there, and only rows whose hashes differ are parsed and compared.

The report also names the manifest fields in which the two runs differ (config hash, data digest, code
version, seed): the likely reasons their events differ, or inputs that changed without changing them.
Each stream compared is verified first (its hash chain and recorded end), unless told not to: equal
hashes prove nothing about a forged stream.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from eventlog.reading import RunInfo, dates, get_run, resolve_run_id, verify_rows
from eventlog.store import EventStore

RUN_PLACEHOLDER = "<run>"
#: What two runs' manifests are compared on: the inputs that decide their events.
MANIFEST_FIELDS = ("config_hash", "data_digest", "code_version", "seed")


@dataclass(frozen=True)
class Divergence:
    session_date: dt.date
    seq: int | None
    why: str
    a: dict[str, Any] | None = None
    b: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.session_date.isoformat(), "seq": self.seq, "why": self.why, "a": self.a, "b": self.b}

    def __str__(self) -> str:
        where = f"{self.session_date.isoformat()}" + (f" seq {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.why}"


@dataclass
class DiffReport:
    run_a: str
    run_b: str
    streams: int = 0
    events: int = 0
    first: Divergence | None = None
    #: The manifest fields whose values differ between the runs, as (A's, B's): why their events may differ.
    manifest: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def same(self) -> bool:
        return self.first is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "same": self.same,
            "streams": self.streams,
            "events": self.events,
            "first_divergence": self.first.as_dict() if self.first else None,
            "manifest_differences": {name: {"a": a, "b": b} for name, (a, b) in self.manifest.items()},
        }


def manifest_differences(a: RunInfo, b: RunInfo) -> dict[str, tuple[Any, Any]]:
    return {
        name: (getattr(a, name), getattr(b, name)) for name in MANIFEST_FIELDS if getattr(a, name) != getattr(b, name)
    }


def _rows(store: EventStore, run_id: str, session_date: dt.date, verify: bool) -> list[tuple[Any, ...]]:
    """(seq, kind, payload_json, hash) of a stream, verified first when asked."""
    rows, last_seq = store.chain_rows(run_id, session_date)
    if verify:
        verify_rows(run_id, session_date, rows, last_seq)
    return [(seq, kind, payload, digest) for seq, kind, payload, _prev, digest in rows]


def _normalized(payload: str, run_id: str) -> Any:
    return json.loads(payload.replace(run_id, RUN_PLACEHOLDER))


def _side(kind: str, payload: str, run_id: str) -> dict[str, Any]:
    return {"kind": kind, "payload": _normalized(payload, run_id)}


def diff_streams(
    session_date: dt.date, rows_a: list[tuple[Any, ...]], rows_b: list[tuple[Any, ...]], run_a: str, run_b: str
) -> tuple[int, Divergence | None]:
    """(events compared, first divergence or None) of two streams of the same date."""
    for index, (row_a, row_b) in enumerate(zip(rows_a, rows_b, strict=False)):
        seq, kind_a, payload_a, hash_a = row_a
        _seq_b, kind_b, payload_b, hash_b = row_b
        if hash_a == hash_b:
            continue
        same = kind_a == kind_b and _normalized(payload_a, run_a) == _normalized(payload_b, run_b)
        if not same:
            why = f"{kind_a} in run A, {kind_b} in run B" if kind_a != kind_b else f"the {kind_a} payloads differ"
            sides = _side(kind_a, payload_a, run_a), _side(kind_b, payload_b, run_b)
            return index, Divergence(session_date, seq, why, *sides)
    common = min(len(rows_a), len(rows_b))
    if len(rows_a) == len(rows_b):
        return common, None
    longer, name, other = (rows_a, "A", "B") if len(rows_a) > len(rows_b) else (rows_b, "B", "A")
    seq, kind, payload, _hash = longer[common]
    why = f"run {other}'s stream ends at seq {common}; run {name} goes on with {kind}"
    side = _side(kind, payload, run_a if name == "A" else run_b)
    return common, Divergence(session_date, seq, why, side if name == "A" else None, side if name == "B" else None)


def diff_runs(
    store: EventStore, run_a: str, run_b: str, store_b: EventStore | None = None, *, verify: bool = True
) -> DiffReport:
    """Compare run A (in `store`) with run B (in `store_b`, by default the same log); with `verify`,
    a stream that fails verification raises TamperedStream."""
    store_b = store_b or store
    run_a = resolve_run_id(store, run_a)
    run_b = resolve_run_id(store_b, run_b)
    report = DiffReport(run_a=run_a, run_b=run_b)
    report.manifest = manifest_differences(get_run(store, run_a), get_run(store_b, run_b))
    dates_a, dates_b = set(dates(store, run_a)), set(dates(store_b, run_b))
    for session_date in sorted(dates_a | dates_b):
        if session_date not in dates_b or session_date not in dates_a:
            only = "A" if session_date in dates_a else "B"
            report.first = Divergence(session_date, None, f"the date is only in run {only}")
            return report
        compared, divergence = diff_streams(
            session_date,
            _rows(store, run_a, session_date, verify),
            _rows(store_b, run_b, session_date, verify),
            run_a,
            run_b,
        )
        report.streams += 1
        report.events += compared
        if divergence is not None:
            report.first = divergence
            return report
    return report
