"""Provisioning a day, and a plugin's reads, for the end-to-end workload (issue 21).

Workload: `bench_e2e`'s generated store and session file (100 symbols x 20 sessions of 1m bars; 4 x 2 with
--quick), derived 5m and 15m, SMA(20) 5m, RSI(14) 1m, EMA(50) 15m, 6 trailing sessions of history.

- `provision_cpu_ms_per_symbol_day`: CPU ms per symbol-day of loading each day (`open_day`: the teardown
  and every config symbol's request, a real SQLite log included), the days run in order sharing one bar
  cache that reads the run's days ahead, as `daytape run` runs them (`run_store(config, days)`).
- its peer, `provision_uncached_cpu_ms_per_symbol_day`: the same days each through a cache of its own
  that reads nothing ahead, as a fresh process per day would (the events are the same: tested in
  tests/statemachine/test_storecache.py).
- the floor, `provision_pyarrow_read_ms_per_file`: CPU ms of a bare pyarrow read of one day file of the
  store (ParquetFile.read, the read the store makes): the part of a symbol-day no cache over a run avoids.
- `plugin_read_us`: CPU µs of the slower of `view.indicator()` and `view.last_bar()` (the latest closed
  bar) at mid-session of a loaded day; `plugin_cross_read_us_per_symbol`: `view.indicator_all()`, the one
  call that returns a value for every symbol as an array, per symbol.

Every figure is CPU time (the best of a few repeats for the reads): on a shared machine the wall clock
counts other processes' turns.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.bench_e2e import KEYS, make_store, session_file, symbols_of
from marketdata.calendar import get_calendar
from marketdata.store import BarStore
from specs.config import SessionConfig
from specs.intervals import Interval

READ_ROUNDS = 20_000
REPEATS = 5


def _config(folder: Path, store: BarStore, run_days: list[dt.date], symbols: list[str]) -> SessionConfig:
    from daytape.configfile import load_session_file

    return load_session_file(session_file(folder, store, run_days, symbols, None))


def provisioning_cpu_ms(config: SessionConfig, run_days: list[dt.date], *, shared: bool, folder: Path) -> float:
    """CPU ms per symbol-day of `open_day` over the run's days, on a real SQLite log: through one bar cache
    that reads the run's days ahead (`shared`), or through a fresh cache per day."""
    from daytape.day import open_day, run_store, stream_day
    from daytape.runner import start_run
    from eventlog.sink import RunSink
    from eventlog.store import open_store
    from marketdata.clock import SimulatedClock
    from statemachine.coordinator import SessionCoordinator

    log = open_store(f"sqlite:///{folder / ('shared.db' if shared else 'fresh.db')}")
    try:
        sink = RunSink(log, start_run(log, config))
        calendar = get_calendar(config.exchange)
        cache = run_store(config, run_days) if shared else None
        spent = 0.0
        for day in run_days:
            clock = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
            source = cache if cache is not None else run_store(config)
            coordinator = SessionCoordinator(config, source, calendar, sink, clock)
            started = time.process_time()
            assert open_day(coordinator, day), f"{day} failed to load"
            spent += time.process_time() - started
            stream_day(coordinator, [])
            coordinator.end_day()
    finally:
        log.close()
    return spent * 1000 / (len(config.symbols) * len(run_days))


def pyarrow_read_ms(store: BarStore, symbols: list[str], run_days: list[dt.date]) -> float:
    """CPU ms of one bare pyarrow read of a day file (the store's own way of reading one)."""
    paths = [str(store.day_file(symbol, Interval("1m"), day)) for symbol in symbols for day in run_days]
    best = math.inf
    for _ in range(3):
        started = time.process_time()
        for path in paths:
            with pa.OSFile(path) as source:
                pq.ParquetFile(source, pre_buffer=False).read(use_threads=False)
        best = min(best, time.process_time() - started)
    return best * 1000 / len(paths)


def plugin_reads_us(config: SessionConfig, run_days: list[dt.date]) -> dict[str, float]:
    """CPU µs per read at mid-session of a loaded day: `view.indicator()`, `view.last_bar()` and
    `view.indicator_all()` (per symbol)."""
    from daytape.day import open_day, run_store
    from marketdata.clock import SimulatedClock
    from statemachine.coordinator import SessionCoordinator
    from statemachine.sink import InMemorySink

    calendar = get_calendar(config.exchange)
    day = run_days[-1]
    clock = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
    coordinator = SessionCoordinator(config, run_store(config), calendar, InMemorySink(), clock)
    assert open_day(coordinator, day)
    coordinator.start_streaming()
    steps = coordinator.step_times()
    coordinator.advance_to(steps[len(steps) // 2])
    view = coordinator.view
    symbol, key, symbols = config.symbols[0], KEYS[0], len(config.symbols)

    def per_read(read: Callable[[], Any], reads_per_call: int = 1) -> float:
        best = math.inf
        for _ in range(REPEATS):
            started = time.process_time()
            for _ in range(READ_ROUNDS):
                read()
            best = min(best, time.process_time() - started)
        return best * 1e6 / (READ_ROUNDS * reads_per_call)

    return {
        "indicator": per_read(lambda: view.indicator(symbol, key)),
        "latest_bar": per_read(lambda: view.last_bar(symbol, "1m")),
        "cross_symbol_per_symbol": per_read(lambda: view.indicator_all(key), symbols),
    }


def run(quick: bool = False) -> dict[str, Any]:
    symbol_count, day_count = (4, 2) if quick else (100, 20)
    store, run_days = make_store(symbol_count, day_count)
    symbols = symbols_of(symbol_count)
    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as tmp:
        folder = Path(tmp)
        config = _config(folder, store, run_days, symbols)
        shared = provisioning_cpu_ms(config, run_days, shared=True, folder=folder)
        fresh = provisioning_cpu_ms(config, run_days, shared=False, folder=folder)
        reads = plugin_reads_us(config, run_days)
    return {
        "provision_symbols": symbol_count,
        "provision_sessions": day_count,
        "provision_cpu_ms_per_symbol_day": shared,
        "provision_uncached_cpu_ms_per_symbol_day": fresh,
        "provision_speedup_vs_uncached": fresh / shared,
        "provision_pyarrow_read_ms_per_file": pyarrow_read_ms(store, symbols, run_days),
        "plugin_read_us": max(reads["indicator"], reads["latest_bar"]),
        "plugin_indicator_read_us": reads["indicator"],
        "plugin_latest_bar_read_us": reads["latest_bar"],
        "plugin_cross_read_us_per_symbol": reads["cross_symbol_per_symbol"],
    }
