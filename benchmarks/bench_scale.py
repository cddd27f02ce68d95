"""Scale: days/s with 1, 2 and 4 worker processes, and events/s into PostgreSQL from 4 workers.

One session config (the bench_parallel workload: synthetic symbols, derived intervals, indicators, a scanner
and a strategy) is run with the process backend and 1, 2 and 4 workers, each a separate process that opens
its own store and log connection; the SQLite runs' events are compared with `diff` against the 1-worker run
so a speed-up is never bought with a different result. The 4-worker run is then repeated with the log on
PostgreSQL (a fresh schema of the test database), where the workers append concurrently: its events/s is
every event written over the run's wall time, computing the days included. The log alone is measured too:
1 and then 4 processes append the bench_eventlog workload's day streams (100 symbols a day, batches of
1,000 events) into one run, each process its own days (`scale_pg_append_events_per_s_workers{1,4}`).
Nothing here is skipped silently: a PostgreSQL that does not answer leaves its keys None with the reason
under `scale_pg_skipped`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.bench_eventlog import BATCH, PG_URL
from benchmarks.bench_parallel import _config, _setup
from daytape.runner import RunOptions, RunResult, run_session
from eventlog.diff import diff_runs
from eventlog.manifest import RunManifest
from eventlog.store import EventStore, open_store
from specs.events import EventBase
from tests.eventlog.streams import big_plan, flatten, run_batches
from tests.eventlog.streams import sessions as session_days

WORKERS = (1, 2, 4)

#: The append workload, built before the pool forks so every worker has it without pickling.
_APPEND_WORK: dict[Any, list[list[EventBase]]] = {}


def _append_days(url: str, run_id: str, days: list[Any]) -> int:
    with open_store(url, create=False) as store:
        for day in days:
            for batch in _APPEND_WORK[day]:
                store.append(run_id, day, batch)
    return sum(len(batch) for day in days for batch in _APPEND_WORK[day])


def _append_events_per_s(url: str, workers: int) -> float:
    """Events/s `workers` processes append into one run, each its share of the days (forked pool)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with open_store(url) as store:
        run_id = store.create_run(RunManifest(name=f"bench-scale-append-{workers}"))
    days = sorted(_APPEND_WORK)
    shares = [days[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        started = time.perf_counter()
        written = sum(pool.map(_append_days, [url] * workers, [run_id] * workers, shares))
        return written / (time.perf_counter() - started)


def _chunks(events: list[EventBase], size: int) -> list[list[EventBase]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def _timed(log: EventStore, config: Any, workers: int) -> tuple[RunResult, float]:
    started = time.perf_counter()
    result = run_session(log, config, RunOptions(workers=workers, backend="process"))
    elapsed = time.perf_counter() - started
    if result.status != "completed":
        raise RuntimeError(f"bench_scale: the {workers}-worker run did not complete: {result.status}")
    return result, elapsed


def _postgres_schema() -> tuple[str | None, str | None, Any]:
    """A fresh schema's log URL and its drop, or the reason PostgreSQL cannot be used."""
    try:
        import psycopg

        conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return None, str(exc).strip().splitlines()[0], None
    schema = f"daytape_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"{PG_URL}?options=-csearch_path%3D{schema}", None, drop


def run(quick: bool = False) -> dict[str, Any]:
    sessions = 4 if quick else 16
    symbols = [f"P{i:02d}" for i in range(6 if quick else 12)]
    store, days = _setup(sessions, symbols)
    config = _config(store, days, symbols)
    figures: dict[str, Any] = {"scale_sessions": sessions, "scale_symbols": len(symbols), "scale_cores": os.cpu_count()}
    figures["scale_load_average"] = [round(value, 2) for value in os.getloadavg()]  # a shared machine says so
    with tempfile.TemporaryDirectory(prefix="daytape-scale-") as folder:
        logs = {w: open_store(f"sqlite:///{Path(folder) / f'w{w}.db'}") for w in WORKERS}
        try:
            results = {}
            for workers in WORKERS:
                result, elapsed = _timed(logs[workers], config, workers)
                results[workers] = result
                figures[f"scale_days_per_s_workers{workers}"] = sessions / elapsed
            one = results[1].run_id
            figures["scale_same_events"] = all(
                diff_runs(logs[1], one, results[w].run_id, store_b=logs[w]).same for w in WORKERS[1:]
            )
        finally:
            for log in logs.values():
                log.close()
    for workers in WORKERS[1:]:
        figures[f"scale_speedup_workers{workers}"] = (
            figures[f"scale_days_per_s_workers{workers}"] / figures["scale_days_per_s_workers1"]
        )

    url, reason, drop = _postgres_schema()
    figures.update(scale_pg_events_per_s_workers4=None, scale_pg_days_per_s_workers4=None, scale_pg_skipped=reason)
    if url is not None:
        if reason is None:
            del figures["scale_pg_skipped"]
        try:
            log = open_store(url)
            try:
                result, elapsed = _timed(log, config, 4)
            finally:
                log.close()
            events = sum(day.events for day in result.sessions)
            figures["scale_pg_events"] = events
            figures["scale_pg_events_per_s_workers4"] = events / elapsed
            figures["scale_pg_days_per_s_workers4"] = sessions / elapsed
        finally:
            drop()
        first = session_days(dt.date(2010, 1, 4), 8 if quick else 40)
        _APPEND_WORK.update({day: _chunks(flatten(b), BATCH) for day, b in run_batches(first, big_plan(100)).items()})
        try:
            for workers in (1, 4):
                url, _, drop = _postgres_schema()
                try:
                    figures[f"scale_pg_append_events_per_s_workers{workers}"] = _append_events_per_s(url, workers)
                finally:
                    drop()
        finally:
            _APPEND_WORK.clear()
    else:
        print(f"bench_scale: PostgreSQL skipped: {reason}", file=sys.stderr)
    figures["scale_load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    return figures


if __name__ == "__main__":
    for key, value in run(quick="--quick" in sys.argv).items():
        print(f"{key:<36} {value:,.3f}" if isinstance(value, float) else f"{key:<36} {value}")
