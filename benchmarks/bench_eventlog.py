"""Event log throughput: batched appends and replay into state, on SQLite (a file) and PostgreSQL.

The events are the test streams' realistic days (tests/eventlog/streams.py) with 100 config symbols
a day: about 1,435 events per day stream, each a real pydantic event. Appends go through
`EventStore.append` (canonical JSON, hash chain, multi-row INSERTs, one transaction per call) in
batches of up to `BATCH` events; a second figure uses the coordinator's batching (one request's
events per call). Replay is `replay_day` over whole streams: read the payloads, parse them with
pydantic, apply them through `SessionState.apply`; `replay_events_per_s` without verification
(`--no-verify`, the figure measured before reads verified), `replay_verified_events_per_s` as
`replay` runs by default, reading the hash columns too and checking the chain (`eventlog.chain`), and
`replay_verify_cost` the share verification adds to a replay's time. Each figure is the best of
`REPEATS` rounds; the breakdowns say where an appended event's CPU time and a replayed event's time go.

The rates are wall-clock, so on a shared machine they move with its load: `load_average` (1, 5, 15
minutes, read as the benchmark starts and ends) says how busy it was, and the `*_cpu_us_per_event`
figures give the same SQLite rounds in this process's CPU time (best of `REPEATS`), which other
processes' load barely changes.

Runnable alone: `python -m benchmarks.bench_eventlog [--quick]`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventlog.chain import check_chain
from eventlog.collector import collector_paused
from eventlog.hashing import chain, genesis_hash, payload_bytes
from eventlog.manifest import RunManifest
from eventlog.replay import replay_day
from eventlog.store import EventStore, open_store
from specs.events import EVENT_ADAPTER, EventBase
from statemachine.state import SessionState
from tests.eventlog.streams import Batch, big_plan, flatten, run_batches, sessions

BATCH = 1000
REPEATS = 5
PG_URL = os.environ.get("DAYTAPE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _workload(quick: bool) -> dict[dt.date, list[Batch]]:
    days = 10 if quick else 140
    return run_batches(sessions(dt.date(2010, 1, 4), days), big_plan(100))


def _chunks(events: list[EventBase], size: int) -> list[list[EventBase]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def _append_seconds(url: str, work: dict[dt.date, list[list[EventBase]]]) -> tuple[float, float, str]:
    """Wall and CPU seconds to append `work` as one new run into a fresh log at `url`; the log stays for replay."""
    with open_store(url) as store:
        run_id = store.create_run(RunManifest(name="bench"))
        start, cpu = time.perf_counter(), time.process_time()
        for day, batches in work.items():
            for batch in batches:
                store.append(run_id, day, batch)
        return time.perf_counter() - start, time.process_time() - cpu, run_id


def _replay_seconds(store: EventStore, run_id: str, days: list[dt.date], verify: bool) -> tuple[float, float]:
    """The best wall and the best CPU seconds of `REPEATS` replays of every day."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(REPEATS):
        start, cpu = time.perf_counter(), time.process_time()
        for day in days:
            replay_day(store, run_id, day, until_seq=10**9, verify=verify)
        best, best_cpu = min(best, time.perf_counter() - start), min(best_cpu, time.process_time() - cpu)
    return best, best_cpu


def _replay_breakdown(store: EventStore, run_id: str, days: list[dt.date], count: int) -> dict[str, float]:
    """Microseconds per event spent reading rows, parsing payloads and applying events (with the
    cyclic collector paused, as a replay runs)."""
    with collector_paused():
        return _replay_parts(store, run_id, days, count)


def _replay_parts(store: EventStore, run_id: str, days: list[dt.date], count: int) -> dict[str, float]:
    start = time.perf_counter()
    rows = {day: store.stream_payloads(run_id, day) for day in days}
    fetch = time.perf_counter() - start
    validate = EVENT_ADAPTER.validator.validate_json
    start = time.perf_counter()
    for day in days:
        for _seq, payload in rows[day]:
            validate(payload)
    parse = time.perf_counter() - start
    parsed = {day: [validate(payload) for _seq, payload in rows[day]] for day in days}
    start = time.perf_counter()
    for day in days:
        state = SessionState()
        for event in parsed[day]:
            state.apply(event)
    apply = time.perf_counter() - start
    chained = {day: store.chain_rows(run_id, day) for day in days}
    start = time.perf_counter()
    for day in days:
        check_chain(day, *chained[day])
    verify = time.perf_counter() - start
    spent = {"fetch": fetch, "parse": parse, "apply": apply, "verify_chain": verify}
    return {name: round(value / count * 1e6, 3) for name, value in spent.items()}


def _encode_us(events: list[EventBase]) -> float:
    start = time.perf_counter()
    for event in events:
        payload_bytes(event)
    return round((time.perf_counter() - start) / len(events) * 1e6, 3)


def _append_breakdown(work: dict[dt.date, list[list[EventBase]]], append_cpu_us: float) -> dict[str, float]:
    """CPU microseconds per appended event (best of `REPEATS`) spent on the canonical payloads
    (orjson and the decode to the stored text) and on the hash chain, done alone batch by batch as
    an append does them; `database` is the rest of an append: binding, SQLite, the WAL and commit,
    and the glue between them."""
    count = sum(len(batch) for batches in work.values() for batch in batches)
    best_encode, best_hashing = float("inf"), float("inf")
    clock = time.process_time
    for _ in range(REPEATS):
        encode = hashing = 0.0
        for day, batches in work.items():
            prev = genesis_hash(day)
            for batch in batches:
                start = clock()
                texts = [payload_bytes(e).decode() for e in batch]
                middle = clock()
                prev = chain(prev, [text.encode() for text in texts])[-1][1]
                encode, hashing = encode + middle - start, hashing + clock() - middle
        best_encode, best_hashing = min(best_encode, encode), min(best_hashing, hashing)
    spent = {"encode": best_encode / count * 1e6, "hash_chain": best_hashing / count * 1e6}
    spent["database"] = append_cpu_us - spent["encode"] - spent["hash_chain"]
    return {name: round(value, 3) for name, value in spent.items()}


LogFactory = Callable[[], tuple[str, Callable[[], None]]]


def _measure(fresh_log: LogFactory, work: dict[dt.date, list[Batch]]) -> dict[str, Any]:
    """Each append round writes into a fresh log (so rounds do not slow each other down); the last
    round's log is replayed."""
    flat = {day: flatten(batches) for day, batches in work.items()}
    count = sum(len(events) for events in flat.values())
    big = {day: _chunks(events, BATCH) for day, events in flat.items()}
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    for round_ in range(REPEATS):
        url, drop = fresh_log()
        elapsed, cpu, run_id = _append_seconds(url, big)
        seconds.append(elapsed)
        cpu_seconds.append(cpu)
        if round_ < REPEATS - 1:
            drop()
    with open_store(url) as store:
        days = list(flat)
        replay, replay_cpu = _replay_seconds(store, run_id, days, verify=False)
        verified, verified_cpu = _replay_seconds(store, run_id, days, verify=True)
        breakdown = _replay_breakdown(store, run_id, days, count)
    drop()
    some = dict(list(work.items())[: max(1, len(work) // 4)])
    some_count = sum(len(flatten(batches)) for batches in some.values())
    url, drop = fresh_log()
    per_request, _, _ = _append_seconds(url, some)
    drop()
    return {
        "events": count,
        "append_events_per_s": round(count / min(seconds)),
        "append_cpu_us_per_event": round(min(cpu_seconds) / count * 1e6, 3),
        "append_request_batches_events_per_s": round(some_count / per_request),
        "replay_events_per_s": round(count / replay),
        "replay_cpu_us_per_event": round(replay_cpu / count * 1e6, 3),
        "replay_verified_events_per_s": round(count / verified),
        "replay_verified_cpu_us_per_event": round(verified_cpu / count * 1e6, 3),
        "replay_verify_cost": round(verified_cpu / replay_cpu - 1, 3),
        "replay_us_per_event": breakdown,
    }


def _sqlite_logs(folder: Path) -> LogFactory:
    def fresh() -> tuple[str, Callable[[], None]]:
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"

        def drop() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return f"sqlite:///{path}", drop

    return fresh


def _postgres_logs() -> LogFactory | None:
    """Fresh schemas in the PostgreSQL test database, or None (with the reason on stderr) when it does not answer."""
    try:
        import psycopg

        conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        print(f"bench_eventlog: PostgreSQL skipped: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return None

    def fresh() -> tuple[str, Callable[[], None]]:
        schema = f"daytape_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')

        def drop() -> None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

        return f"{PG_URL}?options=-csearch_path%3D{schema}", drop

    return fresh


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def run(quick: bool) -> dict[str, Any]:
    load_before = _load_average()
    work = _workload(quick)
    events = flatten([b for batches in work.values() for b in batches])
    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as folder:
        sqlite = _measure(_sqlite_logs(Path(folder)), work)
    result: dict[str, Any] = {
        "append_events_per_s": sqlite["append_events_per_s"],
        "replay_events_per_s": sqlite["replay_events_per_s"],
        "replay_verified_events_per_s": sqlite["replay_verified_events_per_s"],
        "replay_verify_cost": sqlite["replay_verify_cost"],
        "append_cpu_us_per_event": sqlite["append_cpu_us_per_event"],
        "append_cpu_us_breakdown": _append_breakdown(
            {day: _chunks(flatten(batches), BATCH) for day, batches in work.items()}, sqlite["append_cpu_us_per_event"]
        ),
        "replay_cpu_us_per_event": sqlite["replay_cpu_us_per_event"],
        "replay_verified_cpu_us_per_event": sqlite["replay_verified_cpu_us_per_event"],
        "append_request_batches_events_per_s": sqlite["append_request_batches_events_per_s"],
        "append_batch_events": BATCH,
        "encode_us_per_event": _encode_us(events),
        "replay_us_per_event": sqlite["replay_us_per_event"],
        "eventlog_events": sqlite["events"],
        "append_events_per_s_postgres": None,
        "replay_events_per_s_postgres": None,
        "replay_verified_events_per_s_postgres": None,
    }
    postgres = _postgres_logs()
    if postgres is not None:
        pg = _measure(postgres, work)
        result["append_events_per_s_postgres"] = pg["append_events_per_s"]
        result["replay_events_per_s_postgres"] = pg["replay_events_per_s"]
        result["replay_verified_events_per_s_postgres"] = pg["replay_verified_events_per_s"]
        result["append_request_batches_events_per_s_postgres"] = pg["append_request_batches_events_per_s"]
        result["replay_us_per_event_postgres"] = pg["replay_us_per_event"]
    result["load_average"] = {"start": load_before, "end": _load_average()}
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
