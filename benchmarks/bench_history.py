"""History loading: 500 symbols x 30 sessions of 1m bars, daytape's load against a bare pyarrow read.

Ours is the provisioning executor's LoadHistorical step, run per symbol as a session's loading runs it
(`statemachine.executor`), reading through what `daytape run` gives the executor (`daytape.day.run_store`:
the run's cache over the bar store), made anew for every load so that nothing is cached: the headline
`history_load_s`. The same step on the plain `BarStore` (the store's read of the sessions' files,
`clean_bars`, `SessionBars.from_table`, `derive_sessions` to the regular session, read-only columns, the
digest for the HistoricalLoaded event) is `history_load_plain_store_s`. Either holds one `HistorySeries`
per symbol (seven columns: the six of the store and each bar's close time), plus whatever the run's cache
keeps, which a run keeps as long.

The peer reads exactly the same files with pyarrow alone and holds, per symbol, numpy arrays of the same
six columns. Three ways, the fastest counting: `pq.read_table(files)` per symbol (pyarrow's own multi-file
reader), `ParquetFile(f, pre_buffer=False).read()` per file concatenated per symbol, and the latter with
one task per symbol on a thread pool as large as the machine. Every round times ours, each peer way and
the store's read alone (`BarStore.read_days`, to show where our time goes), the order reversed every
other round. Each figure is the best round's wall clock; `history_load_ratio_vs_pyarrow` divides ours by
the fastest peer way's. Because the machine may be shared, the median over the rounds of each round's own
ratio and the best CPU seconds of the process (all threads) are given beside it.

Peak memory is measured in a fresh subprocess per figure: after the imports, the calendar and a one-symbol
warm-up, the kernel's RSS high-water mark is reset (`/proc/self/clear_refs`), the history is loaded and
held, and the peak is VmHWM minus VmRSS before the load (where /proc is missing: the growth of ru_maxrss).
The ratio divides it by the raw column bytes (rows x 6 columns x 8 bytes). The peer's figure is that of
the `parquetfile` way.

The sample store is generated once (marketdata.generator, seeded) into `.bench/history-store/` under the
repository and re-used while its manifest matches. `--quick` (50 symbols x 5 sessions, for CI) only shows
that it all runs: its history is a few MB, within the noise of RSS, and five files a symbol make the fixed
cost of each symbol's step weigh more than at the target's 30. Runnable alone: `python -m
benchmarks.bench_history [--quick]`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from daytape.day import run_store
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.generator import write_sample_store
from marketdata.sources.storecache import StoreCache
from marketdata.store import BAR_COLUMNS, BarRead, BarStore
from specs.config import SessionConfig
from specs.intervals import Interval
from specs.plan import HistoryRequirement, LoadHistorical, Operation, ProvisioningRequirements, Request, Source
from statemachine.book import HistorySeries, SymbolBook
from statemachine.executor import Envelope, Executor, _PlanRun

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".bench" / "history-store"
#: The session being provisioned; the history is the sessions before it.
DAY = date(2024, 7, 1)
SEED = 20240701
INTERVAL = Interval("1m")
ROUNDS = 5
QUICK_ROUNDS = 3
BYTES_PER_ROW = len(BAR_COLUMNS) * 8
#: Our loads by name, and what the executor reads through (see DaytapeLoad).
OUR_KINDS = {"daytape": "run", "daytape_plain_store": "store"}


@dataclass(frozen=True)
class Workload:
    symbols: int
    sessions: int

    def symbol_names(self) -> list[str]:
        return [f"H{i:04d}" for i in range(self.symbols)]


FULL = Workload(symbols=500, sessions=30)
QUICK = Workload(symbols=50, sessions=5)


# -- the sample store ------------------------------------------------------------------------------------


def history_sessions(calendar: TradingCalendar, workload: Workload) -> list[date]:
    return calendar.previous_sessions(DAY, workload.sessions)


def ensure_store(workload: Workload, calendar: TradingCalendar) -> Path:
    """The store of `workload`'s bars, generated on first use; the manifest, written last, marks it complete."""
    root = CACHE / f"{workload.symbols}x{workload.sessions}"
    manifest = {**asdict(workload), "day": DAY.isoformat(), "seed": SEED, "interval": str(INTERVAL)}
    marker = root / "manifest.json"
    if marker.exists() and json.loads(marker.read_text()) == manifest:
        return root
    if root.exists():
        shutil.rmtree(root)
    sessions = history_sessions(calendar, workload)
    started = time.perf_counter()
    write_sample_store(BarStore(root, calendar), workload.symbol_names(), sessions[0], sessions[-1], calendar, SEED)
    marker.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"   generated {root} in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return root


# -- the two loads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Histories:
    """What our load holds: each symbol's history, and the executor, whose run cache a run keeps as long."""

    series: dict[str, HistorySeries]
    executor: Executor


class DaytapeLoad:
    """The executor's LoadHistorical step for each symbol, the history kept as the book keeps it.

    `through` says what the executor reads through: "run" is the store a `daytape run` hands it
    (`daytape.day.run_store`, a cache the run's days share), made anew for every load so that nothing
    is cached yet; "store" is the plain `BarStore`.
    """

    def __init__(self, root: Path, calendar: TradingCalendar, workload: Workload, through: str = "run") -> None:
        self.root, self.calendar, self.through = root, calendar, through
        self.store = BarStore(root, calendar)
        self.config = SessionConfig(name="bench-history", start=DAY, end=DAY, store=str(root))
        self.sessions = history_sessions(calendar, workload)
        self.step = LoadHistorical(
            history=HistoryRequirement(
                interval=INTERVAL, sessions=len(self.sessions), start=self.sessions[0], end=self.sessions[-1]
            )
        )
        self.sim_time = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
        self.plans = {symbol: self._plan(symbol) for symbol in workload.symbol_names()}

    def _plan(self, symbol: str) -> tuple[ProvisioningRequirements, Envelope]:
        """What analysis hands the executor (made before the clock starts: planning is not loading)."""
        request_id = f"bench-{symbol}"
        request = Request(request_id=request_id, operation=Operation.SYMBOL, symbol=symbol, source=Source.CONFIG)
        plan = ProvisioningRequirements(
            request=request,
            session_date=DAY,
            symbol_exists=False,
            current_state="absent",
            target_state="full",
            base_interval=INTERVAL,
            steps=(self.step,),
        )
        return plan, Envelope(symbol, request_id, self.sim_time)

    def load(self, symbols: list[str]) -> Histories:
        executor = Executor(
            run_store(self.config) if self.through == "run" else StoreCache(self.store, self.calendar, 0), self.calendar
        )
        series = {}
        for symbol in symbols:
            plan, envelope = self.plans[symbol]
            staged = SymbolBook()
            _PlanRun(executor, plan, staged, envelope, None).step(self.step)
            series[symbol] = staged.histories[str(INTERVAL)]
        return Histories(series, executor)

    def read_only(self, symbols: list[str]) -> dict[str, BarRead]:
        """Only the store's read of the same files (the first part of the plain store's step)."""
        return {symbol: self.store.read_days(symbol, INTERVAL, self.sessions) for symbol in symbols}


def _read_symbol(files: list[Path]) -> dict[str, np.ndarray]:
    table = pa.concat_tables([pq.ParquetFile(f, pre_buffer=False).read(use_threads=False) for f in files])
    return {name: table.column(name).to_numpy() for name in BAR_COLUMNS}


class PyarrowLoad:
    """The same files read with pyarrow alone, held as numpy columns per symbol."""

    WAYS = ("read_table", "parquetfile", "parquetfile_pool")

    def __init__(self, root: Path, calendar: TradingCalendar, workload: Workload) -> None:
        store = BarStore(root, calendar)
        sessions = history_sessions(calendar, workload)
        self.files = {
            symbol: [store.day_file(symbol, INTERVAL, day) for day in sessions] for symbol in workload.symbol_names()
        }
        self.pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)

    def read_table(self) -> dict[str, dict[str, np.ndarray]]:
        held = {}
        for symbol, files in self.files.items():
            table = pq.read_table(files)
            held[symbol] = {name: table.column(name).to_numpy() for name in BAR_COLUMNS}
        return held

    def parquetfile(self) -> dict[str, dict[str, np.ndarray]]:
        return {symbol: _read_symbol(files) for symbol, files in self.files.items()}

    def parquetfile_pool(self) -> dict[str, dict[str, np.ndarray]]:
        return dict(zip(self.files, self.pool.map(_read_symbol, self.files.values()), strict=True))

    def way(self, name: str) -> Callable[[], dict[str, dict[str, np.ndarray]]]:
        return getattr(self, name)


def rows_held(held: Histories | dict[str, Any]) -> int:
    """Rows held by our load, by a peer way (numpy columns per symbol) or by the store's read alone."""
    if isinstance(held, Histories):
        return sum(len(series.bars) for series in held.series.values())
    return sum(value.table.num_rows if isinstance(value, BarRead) else len(value["ts"]) for value in held.values())


def check_same_rows(ours: Histories, peer: dict[str, dict[str, np.ndarray]]) -> None:
    """Both loads hold the same bars: a benchmark of different work would measure nothing."""
    for symbol, series in ours.series.items():
        columns = peer[symbol]
        same = np.array_equal(series.bars.ts, columns["ts"].view(np.int64)) and all(
            np.array_equal(getattr(series.bars, name), columns[name]) for name in BAR_COLUMNS[1:]
        )
        if not same:
            raise AssertionError(f"{symbol}: daytape's history and the pyarrow read differ")


# -- timing ----------------------------------------------------------------------------------------------


def _timed(load: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds of the process (every thread) and what the load holds."""
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    held = load()
    return time.perf_counter() - started, time.process_time() - cpu, held


def time_loads(root: Path, calendar: TradingCalendar, workload: Workload, rounds: int) -> dict[str, Any]:
    """Seconds of ours and each peer way per round, the order reversed every other round.

    Ours sits next to the fastest peer ways in both orders, so that each round's ratio compares loads run
    under the same conditions on a machine that may be shared.
    """
    ours, peer = DaytapeLoad(root, calendar, workload), PyarrowLoad(root, calendar, workload)
    plain = DaytapeLoad(root, calendar, workload, through="store")
    symbols = workload.symbol_names()
    loads: dict[str, Callable[[], Any]] = {
        "daytape": lambda: ours.load(symbols),
        "parquetfile_pool": peer.parquetfile_pool,
        "parquetfile": peer.parquetfile,
        "daytape_plain_store": lambda: plain.load(symbols),
        "store_read": lambda: plain.read_only(symbols),
        "read_table": peer.read_table,
    }
    held_ours, held_peer = ours.load(symbols), peer.parquetfile()  # warm-up: page cache, lazy imports
    check_same_rows(held_ours, held_peer)
    rows = rows_held(held_ours)
    del held_ours, held_peer
    wall: dict[str, list[float]] = {name: [] for name in loads}
    cpu: dict[str, list[float]] = {name: [] for name in loads}
    for round_ in range(rounds):
        for name in list(loads) if round_ % 2 == 0 else list(reversed(loads)):
            seconds, cpu_seconds, held = _timed(loads[name])
            count = rows_held(held)
            if count != rows:
                raise AssertionError(f"{name} loaded {count} rows, expected {rows}")
            del held
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    peer.pool.shutdown()
    round_ratios = [wall["daytape"][i] / min(wall[name][i] for name in PyarrowLoad.WAYS) for i in range(rounds)]
    return {
        "rows": rows,
        "best": {name: min(times) for name, times in wall.items()},
        "best_cpu": {name: min(times) for name, times in cpu.items()},
        "median_round_ratio": statistics.median(round_ratios),
    }


# -- peak memory (run in a fresh process per figure) -----------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark of this process (Linux 4.0+), so VmHWM measures from now on."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_peak(kind: str, workload: Workload) -> dict[str, Any]:
    """In this process: load and hold the history one way; the RSS peak over the load, in bytes."""
    calendar = get_calendar()
    root = ensure_store(workload, calendar)
    symbols = workload.symbol_names()
    if kind in OUR_KINDS:
        ours = DaytapeLoad(root, calendar, workload, through=OUR_KINDS[kind])
        ours.load(symbols[:1])

        def load() -> Any:
            return ours.load(symbols)

    else:
        peer = PyarrowLoad(root, calendar, workload)
        _read_symbol(peer.files[symbols[0]])

        def load() -> Any:
            return peer.way(kind)()

    gc.collect()
    before = _status_kib("VmRSS")
    if before is not None and _reset_peak():
        method = "VmHWM (reset through /proc/self/clear_refs) minus VmRSS before the load"
        held = load()
        peak = _status_kib("VmHWM")
        after = _status_kib("VmRSS")
    else:
        method = "growth of ru_maxrss over the load (a lower bound if the setup peaked higher)"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        held = load()
        peak = after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak is not None and after is not None
    return {
        "kind": kind,
        "rows": rows_held(held),
        "peak_bytes": (peak - before) * 1024,
        "held_bytes": (after - before) * 1024,
        "arrow_allocated_bytes": pa.total_allocated_bytes(),
        "method": method,
    }


def peak_in_subprocess(kind: str, workload: Workload) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "benchmarks.bench_history", "--measure-memory", kind,
        "--symbols", str(workload.symbols), "--sessions", str(workload.sessions),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement of {kind} failed:\n{done.stderr}")
    return json.loads(done.stdout)


# -- the benchmark ---------------------------------------------------------------------------------------


def run(quick: bool) -> dict[str, Any]:
    workload = QUICK if quick else FULL
    calendar = get_calendar()
    root = ensure_store(workload, calendar)
    load_average = os.getloadavg()[0]
    timing = time_loads(root, calendar, workload, QUICK_ROUNDS if quick else ROUNDS)
    rows, best, best_cpu = timing["rows"], timing["best"], timing["best_cpu"]
    peer_way = min(PyarrowLoad.WAYS, key=lambda name: best[name])
    kinds = ("daytape", "parquetfile") if quick else (*OUR_KINDS, "parquetfile")  # a process each: ~2 s
    memory = {kind: peak_in_subprocess(kind, workload) for kind in kinds}
    for kind, measured in memory.items():
        if measured["rows"] != rows:
            raise AssertionError(f"the memory run of {kind} loaded {measured['rows']} rows, not {rows}")
    ours_mem, peer_mem = memory["daytape"], memory["parquetfile"]
    raw = rows * BYTES_PER_ROW
    figures: dict[str, Any] = {
        "history_symbols": workload.symbols,
        "history_sessions": workload.sessions,
        "history_rows": rows,
        "history_load_s": best["daytape"],
        "history_pyarrow_s": best[peer_way],
        "history_pyarrow_way": peer_way,
        **{f"history_pyarrow_{name}_s": best[name] for name in PyarrowLoad.WAYS},
        "history_load_ratio_vs_pyarrow": best["daytape"] / best[peer_way],
        "history_load_ratio_median_of_rounds": timing["median_round_ratio"],
        "history_load_cpu_s": best_cpu["daytape"],
        "history_pyarrow_cpu_s": best_cpu[peer_way],
        "history_load_plain_store_s": best["daytape_plain_store"],
        "history_load_ratio_plain_store_vs_pyarrow": best["daytape_plain_store"] / best[peer_way],
        "history_store_read_s": best["store_read"],
        "history_loadavg_before": load_average,
        "history_raw_bytes": raw,
        "history_peak_bytes": ours_mem["peak_bytes"],
        "history_held_bytes": ours_mem["held_bytes"],
        "history_peak_mem_ratio": ours_mem["peak_bytes"] / raw,
        "history_pyarrow_peak_bytes": peer_mem["peak_bytes"],
        "history_pyarrow_peak_mem_ratio": peer_mem["peak_bytes"] / raw,
        "history_mem_method": ours_mem["method"],
        "history_arrow_pool": pa.default_memory_pool().backend_name,
    }
    if "daytape_plain_store" in memory:
        figures["history_plain_store_peak_bytes"] = memory["daytape_plain_store"]["peak_bytes"]
        figures["history_plain_store_peak_mem_ratio"] = memory["daytape_plain_store"]["peak_bytes"] / raw
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_history", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.symbols} symbols x {QUICK.sessions} sessions")
    parser.add_argument("--measure-memory", choices=(*OUR_KINDS, *PyarrowLoad.WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--symbols", type=int, default=FULL.symbols, help=argparse.SUPPRESS)
    parser.add_argument("--sessions", type=int, default=FULL.sessions, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_memory:
        print(json.dumps(measure_peak(args.measure_memory, Workload(args.symbols, args.sessions))))
        return 0
    for key, value in run(args.quick).items():
        print(f"{key:<36} {value:,.3f}" if isinstance(value, float) else f"{key:<36} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
