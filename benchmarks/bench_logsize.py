"""The log's bytes per symbol-day, on a real run's SQLite file, with appends/s and replay/s beside it.

Workload: `bench_e2e`'s (100 symbols x 20 sessions; 4 x 2 with --quick) of generated 1m bars, derived 5m
and 15m, SMA 20 5m, RSI 14 1m, EMA 50 15m, a strategy reading the three every minute, run as a whole
`daytape run` on a SQLite log. `log_bytes_per_symbol_day` is the log's files (the database, its
write-ahead log and shared memory) as the run leaves them, over symbols x sessions; the breakdown says
where the bytes go (each table and index from SQLite's `dbstat`, the unused space in their pages, and the
stored bytes of each events column). Beside it, on the same events: `log_append_events_per_s`, the
run's events appended again into a fresh log in batches of `BATCH` (as `bench_eventlog` appends, whose
`append_events_per_s` the 200,000 events/s target is set for), and
`log_replay_events_per_s` / `log_replay_verified_events_per_s`, every day of the run replayed into state
without and with verifying its chain (best of `REPEATS`).

Runnable alone: `python -m benchmarks.bench_logsize [--quick]`.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_e2e import daytape_run, make_store, session_file, symbols_of
from eventlog.manifest import RunManifest
from eventlog.reading import streams
from eventlog.replay import replay_day
from eventlog.store import open_store
from specs.events import EventBase

REPEATS = 3
#: The events an append takes at once when re-appending the run (as bench_eventlog's batches).
BATCH = 1000


def file_bytes(log: Path) -> int:
    return sum(path.stat().st_size for path in log.parent.glob(log.name + "*"))


def breakdown(log: Path, symbol_days: int) -> dict[str, Any]:
    """Bytes per symbol-day of each table and index (pages, of which unused), and of each events column."""
    with sqlite3.connect(f"file:{log}?mode=ro", uri=True) as db:
        page = db.execute("PRAGMA page_size").fetchone()[0]
        parts = {
            name: {"bytes": round(pages * page / symbol_days, 1), "unused": round(unused / symbol_days, 1)}
            for name, pages, unused in db.execute(
                "SELECT name, COUNT(*), SUM(unused) FROM dbstat GROUP BY name ORDER BY COUNT(*) DESC"
            )
        }
        columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
        # an integer's stored size, not its decimal text's: SQLite's 1, 2, 3, 4, 6 or 8 bytes by magnitude
        sizes = ", ".join(
            f"SUM(CASE WHEN typeof({c}) = 'integer' THEN (CASE WHEN {c} BETWEEN -128 AND 127 THEN 1 "
            f"WHEN {c} BETWEEN -32768 AND 32767 THEN 2 WHEN {c} BETWEEN -8388608 AND 8388607 THEN 3 "
            f"WHEN {c} BETWEEN -2147483648 AND 2147483647 THEN 4 "
            f"WHEN {c} BETWEEN -140737488355328 AND 140737488355327 THEN 6 ELSE 8 END) "
            f"ELSE COALESCE(length(CAST({c} AS BLOB)), 0) END)"
            for c in columns
        )
        totals = db.execute(f"SELECT COUNT(*), {sizes} FROM events").fetchone()
    events = totals[0]
    return {
        "events_per_symbol_day": round(events / symbol_days, 2),
        "parts": parts,
        "events_columns": {c: round(total / symbol_days, 1) for c, total in zip(columns, totals[1:], strict=True)},
    }


def run_events(log_url: str, run_id: str) -> dict[Any, list[EventBase]]:
    with open_store(log_url) as store:
        return {
            info.session_date: [row.event() for row in store.events(run_id) if row.session_date == info.session_date]
            for info in streams(store, run_id)
        }


def append_rate(folder: Path, days: dict[Any, list[EventBase]]) -> float:
    """Events per second appending the run's events again, `BATCH` at a time, into fresh logs (best round)."""
    count = sum(len(events) for events in days.values())
    best = float("inf")
    for round_ in range(REPEATS):
        with open_store(f"sqlite:///{folder / f'append-{round_}.db'}") as store:
            run_id = store.create_run(RunManifest(name="bench_logsize"))
            start = time.perf_counter()
            for day, events in days.items():
                for at in range(0, len(events), BATCH):
                    store.append(run_id, day, events[at : at + BATCH])
            best = min(best, time.perf_counter() - start)
    return count / best


def replay_rate(log_url: str, run_id: str, days: list[Any], count: int, *, verify: bool) -> float:
    best = float("inf")
    with open_store(log_url, create=False, read_only=True) as store:
        for _ in range(REPEATS):
            start = time.perf_counter()
            for day in days:
                replay_day(store, run_id, day, until_seq=10**9, verify=verify)
            best = min(best, time.perf_counter() - start)
    return count / best


def run(quick: bool = False) -> dict[str, Any]:
    symbol_count, day_count = (4, 2) if quick else (100, 20)
    store, run_days = make_store(symbol_count, day_count)
    symbol_days = symbol_count * day_count
    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as tmp:
        folder = Path(tmp)
        log = folder / "run.db"
        result = daytape_run(session_file(folder, store, run_days, symbols_of(symbol_count), None), log)
        log_url = f"sqlite:///{log}"
        figures: dict[str, Any] = {
            "log_bytes_per_symbol_day": round(file_bytes(log) / symbol_days, 1),
            "log_bytes_breakdown": breakdown(log, symbol_days),
        }
        days = run_events(log_url, result["run_id"])
        count = sum(len(events) for events in days.values())
        figures["log_append_events_per_s"] = round(append_rate(folder, days))
        for verify, key in ((False, "log_replay_events_per_s"), (True, "log_replay_verified_events_per_s")):
            figures[key] = round(replay_rate(log_url, result["run_id"], list(days), count, verify=verify))
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
