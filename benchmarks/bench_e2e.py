"""End to end: a whole `daytape run` against nautilus_trader and backtrader on the same Parquet bars.

Workload (issue 21): N symbols (100; 4 with --quick) x D sessions (20; 2) of generated 1m bars, with
TRAILING sessions of history before the first; derived 5m and 15m; SMA(20) on 5m, RSI(14) on 1m, EMA(50)
on 15m; a strategy that reads the three values of every symbol every minute. Each engine is timed from
its start to its end, loading included: daytape as a `daytape run` subprocess (SQLite log, serial), each
peer as a script (benchmarks/nautilus_peer.py, benchmarks/backtrader_e2e_peer.py) run by the python of
its own virtual environment, which this benchmark makes and reuses under `.bench/` (nautilus_trader pins
pandas 2, daytape has pandas 3). A peer that cannot be installed is reported as missing with pip's
reason. With --quick the peers run only when BENCH_E2E_PEERS=1 (making their environments takes
minutes); BENCH_E2E_PEERS=0 leaves them out of a full run.

backtrader runs on the first BACKTRADER_SYMBOLS (10) symbols of the same store, same sessions: its cost
per base bar does not fall with fewer symbols (1.7k bars per CPU second on 10 symbols; 1.8k per second
on all 100, which took 434 s on an idle machine and had not finished after 32 min on a loaded one).
Every ratio is between base bars per second, each engine counting the bars it streamed, so a subset
compares like with like; the table says which symbols each engine ran. The ratios are given per CPU
second (`e2e_ratio_vs_*`, user + system of the whole process tree: the steadier figure on a shared
machine, whose load moves under a run) and per wall second (`e2e_wall_ratio_vs_*`).

The three engines' values are compared at every quarter hour for a few symbols. They agree (to 1e-6
relative) except where the engines define things differently:
- Nautilus seeds its EMA with the first value (daytape and backtrader with the SMA of the first n);
- a peer delivers an internally aggregated bar one minute late when the 1m bar that closes it is
  missing (it learns the bar is over only from the next one);
- EMA has an unbounded memory: daytape computes it over the trailing sessions before each day, the peers
  over the whole store, so EMA is compared on the first run day only, where both start at the store's
  first bar. (SMA's window is finite and RSI's Wilder memory has decayed to nothing within those sessions.)

Also measured here: the CPU that provisioning takes per symbol-day (an instrumented in-process run),
the latency of a plugin's reads, `--workers 2 --executor process` against serial (same events; see
`parallel_figures` for the CPU-bound estimate beside the wall figure), and the log's bytes per
symbol-day. The scale curve is `bench_scale_curve`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from marketdata.calendar import get_calendar
from marketdata.generator import write_sample_store
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs.intervals import Interval

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench"
FIRST = dt.date(2024, 2, 1)
#: The trailing sessions daytape needs for EMA(50) on 15m (3 x 50 bars of 26 a day, warm-up multiplier 1).
TRAILING = 6
KEYS = ("sma_20_5m", "rsi_14_1m", "ema_50_15m")
SAMPLE_SYMBOLS = 3
#: The symbols backtrader runs (the first of the workload's, same store and sessions; see the docstring).
BACKTRADER_SYMBOLS = 10
PEERS = {
    "nautilus": ("nautilus_peer.py", ["nautilus_trader==1.221.0", "pyarrow"]),
    "backtrader": ("backtrader_e2e_peer.py", ["backtrader", "pandas", "pyarrow"]),
}
RELATIVE_TOLERANCE = 1e-6
#: 1 runs the peers (the default of a full run), 0 not (the default of --quick: making their environments
#: takes minutes, and backtrader takes minutes more).
PEERS_SWITCH = "BENCH_E2E_PEERS"


# --- the store and the session file ---------------------------------------------------------------------


def sessions(count: int, trailing: int = TRAILING) -> list[dt.date]:
    """`trailing` sessions of history, then `count` run sessions, from FIRST on."""
    calendar = get_calendar("XNYS")
    days = [FIRST]
    while len(days) < trailing + count:
        days.append(calendar.next_session(days[-1]))
    return days


def symbols_of(count: int) -> list[str]:
    return [f"E{i:03d}" for i in range(count)]


def make_store(symbol_count: int, day_count: int) -> tuple[BarStore, list[dt.date]]:
    """The generated store (made once, reused from .bench/): every run day and its trailing sessions."""
    calendar = get_calendar("XNYS")
    days = sessions(day_count)
    store = BarStore(CACHE / f"e2e-store-{symbol_count}x{day_count}", calendar)
    symbols = symbols_of(symbol_count)
    if not all(store.days(s, "1m")[-1:] == [days[-1]] for s in symbols):
        write_sample_store(store, symbols, days[0], days[-1], calendar, seed=21)
    return store, days[TRAILING:]


def session_file(
    folder: Path, store: BarStore, run_days: list[dt.date], symbols: list[str], sample_out: Path | None
) -> Path:
    config = {
        "name": "bench-e2e",
        "exchange": "XNYS",
        "start": run_days[0].isoformat(),
        "end": run_days[-1].isoformat(),
        "store": str(store.root),
        "symbols": symbols,
        "streams": ["1m"],
        "derived": ["5m", "15m"],
        "historical": {"enabled": True, "trailing_days": TRAILING},
        "warmup_multiplier": 1.0,
        "indicators": [
            {"type": "sma", "period": 20, "interval": "5m"},
            {"type": "rsi", "period": 14, "interval": "1m"},
            {"type": "ema", "period": 50, "interval": "15m"},
        ],
        "strategy": {
            "class": "benchmarks.e2e_strategy:ReadAllStrategy",
            "params": {
                "keys": list(KEYS),
                "sample_symbols": symbols[:SAMPLE_SYMBOLS] if sample_out else [],
                "sample_out": str(sample_out) if sample_out else None,
            },
        },
    }
    path = folder / f"e2e-{len(symbols)}x{len(run_days)}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --- timing a subprocess -----------------------------------------------------------------------------------


def timed(command: list[str], cwd: Path = ROOT) -> dict[str, Any]:
    """Run `command`; its wall seconds, CPU seconds (user + system, its waited-for children included),
    peak RSS in MB (the largest of its processes), exit code and output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "returncode": process.returncode,
        "stdout": stdout,
        "stderr": stderr,
    }


def daytape_run(config: Path, log: Path, *options: str) -> dict[str, Any]:
    """A whole `daytape run` (a new process: imports, data digest, loading, streaming, the log)."""
    # `python -c` from the repository root: the daytape of this tree, as the rest of the benchmark imports it
    cli = [sys.executable, "-c", "import sys; from daytape.cli import main; sys.exit(main())"]
    command = [*cli, "run", str(config), "--log", f"sqlite:///{log}"]
    result = timed([*command, "--json", "--quiet", *options])
    if result["returncode"] != 0:
        raise RuntimeError(f"daytape run failed ({result['returncode']}): {result['stderr'][-2000:]}")
    run = json.loads(result["stdout"])
    if run["status"] != "completed":
        raise RuntimeError(f"daytape run {run['run_id']} is {run['status']}")
    result["run_id"] = run["run_id"]
    result["log_bytes"] = sum(p.stat().st_size for p in log.parent.glob(log.name + "*"))
    return result


# --- the peers, each in its own virtual environment ----------------------------------------------------------


def peer_python(name: str) -> tuple[Path | None, str]:
    """The peer venv's python (made and installed once, reused after), or None and why not."""
    _, requirements = PEERS[name]
    venv = CACHE / f"peer-{name}"
    python = venv / "bin" / "python"
    marker = venv / "installed.txt"
    wanted = "\n".join(requirements)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python, ""
    print(f"   making {venv} ({' '.join(requirements)})", file=sys.stderr, flush=True)
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True)
    if made.returncode != 0:
        return None, f"missing: python -m venv failed: {_last_line(made.stderr)}"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        return None, f"missing: pip install {' '.join(requirements)} failed: {_last_line(pip.stderr)}"
    marker.write_text(wanted)
    return python, ""


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if not line.startswith("WARNING")]
    return lines[-1] if lines else "(no message)"


def run_peer(name: str, python: Path, store: BarStore, symbols: list[str]) -> dict[str, Any]:
    script, _ = PEERS[name]
    command = [str(python), script, str(store.root), ",".join(symbols), ",".join(symbols[:SAMPLE_SYMBOLS])]
    result = timed(command, cwd=Path(__file__).parent)
    if result["returncode"] != 0:
        raise RuntimeError(f"{name} peer failed ({result['returncode']}): {result['stderr'][-2000:]}")
    result.update(json.loads(result["stdout"].strip().splitlines()[-1]))
    return result


# --- the values the engines computed --------------------------------------------------------------------------


def daytape_samples(path: Path) -> dict[tuple[int, str], dict[str, float | None]]:
    samples = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        minute = int(dt.datetime.fromisoformat(row["t"]).timestamp() // 60)
        samples[(minute, row["symbol"])] = {key: row[key] for key in KEYS}
    return samples


def peer_samples(rows: list[dict[str, Any]]) -> dict[tuple[int, str], dict[str, float | None]]:
    return {(row["minute"], row["symbol"]): {key: row[key] for key in KEYS} for row in rows}


def late_bar_minutes(store: BarStore, symbols: list[str]) -> set[tuple[int, str]]:
    """(minute, symbol) where the 1m bar that closes a 5m or 15m bar at that minute is missing: a peer
    that aggregates internally learns that bar is over only at the next 1m bar."""
    late: set[tuple[int, str]] = set()
    calendar = get_calendar("XNYS")
    for symbol in symbols:
        present: set[int] = set()
        for day in store.days(symbol, "1m"):
            table = store.read_days(symbol, Interval("1m"), [day]).table
            present.update(int(ns) // 60_000_000_000 + 1 for ns in table.column("ts").cast("int64").to_numpy())
        for day in store.days(symbol, "1m"):
            open_minute = int(calendar.open(day).timestamp() // 60)
            close_minute = int(calendar.close(day).timestamp() // 60)
            for minute in range(open_minute + 5, close_minute + 1, 5):
                if minute not in present:
                    late.update((later, symbol) for later in range(minute, minute + 15))
    return late


def compare(
    ours: dict[tuple[int, str], dict[str, float | None]],
    theirs: dict[tuple[int, str], dict[str, float | None]],
    peer: str,
    first_day_minutes: range,
    late: set[tuple[int, str]],
) -> dict[str, dict[str, Any]]:
    """Per indicator: samples compared, agreeing, differing at a documented point, differing otherwise,
    and the largest relative difference among the agreeing and the unexplained."""
    table: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        row = {"compared": 0, "agree": 0, "documented": 0, "unexplained": 0, "max_rel_diff": 0.0}
        for point, values in ours.items():
            if point not in theirs or (key == "ema_50_15m" and point[0] not in first_day_minutes):
                continue
            a, b = values[key], theirs[point][key]
            if a is None and b is None:
                continue
            row["compared"] += 1
            diff = math.inf if a is None or b is None else abs(a - b) / max(abs(a), 1e-12)
            if diff <= RELATIVE_TOLERANCE:
                row["agree"] += 1
                row["max_rel_diff"] = max(row["max_rel_diff"], diff)
            elif point in late or (peer == "nautilus" and key == "ema_50_15m"):
                row["documented"] += 1
            else:
                row["unexplained"] += 1
                row["max_rel_diff"] = max(row["max_rel_diff"], diff)
        table[key] = row
    return table


# --- in-process measurements ---------------------------------------------------------------------------------


def provisioning_cpu_ms(store: BarStore, run_days: list[dt.date], symbols: list[str]) -> float:
    """CPU ms per symbol-day spent provisioning (teardown + loading every config symbol), in an
    instrumented serial run of the workload on a real SQLite log, the days sharing one store cache as
    `daytape run` does."""
    from daytape.day import open_day, run_store, stream_day
    from daytape.runner import start_run
    from eventlog.sink import RunSink
    from eventlog.store import open_store
    from marketdata.clock import SimulatedClock
    from statemachine.coordinator import SessionCoordinator

    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as folder:
        config = _config(Path(folder), store, run_days, symbols)
        log = open_store(f"sqlite:///{Path(folder) / 'provision.db'}")
        try:
            sink = RunSink(log, start_run(log, config))
            cache = run_store(config)
            calendar = get_calendar(config.exchange)
            spent = 0.0
            for day in run_days:
                clock = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
                coordinator = SessionCoordinator(config, cache, calendar, sink, clock)
                started = time.process_time()
                assert open_day(coordinator, day)
                spent += time.process_time() - started
                stream_day(coordinator, [])
                coordinator.end_day()
        finally:
            log.close()
    return spent * 1000 / (len(symbols) * len(run_days))


def _config(folder: Path, store: BarStore, run_days: list[dt.date], symbols: list[str]) -> Any:
    from daytape.configfile import load_session_file

    return load_session_file(session_file(folder, store, run_days, symbols, None))


def plugin_reads_us(store: BarStore, run_days: list[dt.date], symbols: list[str]) -> dict[str, float]:
    """µs per read at mid-session: `view.indicator()`, `view.bars()`'s latest bar and the cross-symbol
    read (per symbol), on a day loaded with the workload."""
    from daytape.day import open_day
    from marketdata.clock import SimulatedClock
    from statemachine.coordinator import SessionCoordinator
    from statemachine.sink import InMemorySink

    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as folder:
        config = _config(Path(folder), store, run_days, symbols)
    calendar = get_calendar(config.exchange)
    day = run_days[-1]
    clock = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
    coordinator = SessionCoordinator(config, StoreCache(store, calendar), calendar, InMemorySink(), clock)
    assert open_day(coordinator, day)
    coordinator.start_streaming()
    steps = coordinator.step_times()
    coordinator.advance_to(steps[len(steps) // 2])
    view = coordinator.view
    rounds = 20_000

    def per_read(read: Any, reads_per_call: int = 1) -> float:
        best = math.inf
        for _ in range(5):  # CPU time: on a shared machine the wall clock also counts other processes' turns
            started = time.process_time()
            for _ in range(rounds):
                read()
            best = min(best, time.process_time() - started)
        return best * 1e6 / (rounds * reads_per_call)

    symbol, key = symbols[0], KEYS[0]
    figures = {
        "indicator": per_read(lambda: view.indicator(symbol, key)),
    }
    last_bar = getattr(view, "last_bar", None)
    if last_bar is not None:
        figures["latest_bar"] = per_read(lambda: last_bar(symbol, "1m"))
    else:
        figures["latest_bar"] = per_read(lambda: view.bars(symbol, "1m").close[-1])
    cross = getattr(view, "indicator_all", None)
    if cross is not None:
        figures["cross_symbol_per_symbol"] = per_read(lambda: cross(key), len(symbols))
    return figures


# --- the benchmark ----------------------------------------------------------------------------------------------


def run(quick: bool = False) -> dict[str, Any]:
    symbol_count, day_count = (4, 2) if quick else (100, 20)
    store, run_days = make_store(symbol_count, day_count)
    symbols = symbols_of(symbol_count)
    symbol_days = symbol_count * day_count
    figures: dict[str, Any] = {"e2e_symbols": symbol_count, "e2e_sessions": day_count}
    figures["e2e_load_average"] = [round(value, 2) for value in os.getloadavg()]  # a shared machine says so
    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as tmp:
        folder = Path(tmp)
        sample_out = folder / "daytape-samples.jsonl"
        config = session_file(folder, store, run_days, symbols, sample_out)
        ours = daytape_run(config, folder / "serial.db")
        ours["base_bars"] = base_bars(store, symbols, run_days)
        ours["symbols"] = symbol_count
        engines = {"daytape": ours}
        for name in PEERS:
            engines[name] = peer_result(name, store, peer_symbols(name, symbols), quick)
        _print_engines(engines, symbols)
        ours_samples = daytape_samples(sample_out)
        calendar = get_calendar("XNYS")
        first_day = range(
            int(calendar.open(run_days[0]).timestamp() // 60), int(calendar.close(run_days[0]).timestamp() // 60) + 1
        )
        late = late_bar_minutes(store, symbols[:SAMPLE_SYMBOLS])
        for name in PEERS:
            if "samples" in engines[name]:
                table = compare(ours_samples, peer_samples(engines[name]["samples"]), name, first_day, late)
                _print_comparison(name, table)
                figures[f"e2e_values_unexplained_vs_{name}"] = sum(row["unexplained"] for row in table.values())
        figures.update(parallel_figures(folder, store, run_days, symbols, ours))

    figures["e2e_wall_s"] = ours["wall_s"]
    figures["e2e_cpu_s"] = ours["cpu_s"]
    figures["e2e_peak_rss_mb"] = ours["peak_rss_mb"]
    figures["e2e_bars_per_s"] = ours["base_bars"] / ours["wall_s"]
    figures["e2e_bars_per_cpu_s"] = ours["base_bars"] / ours["cpu_s"]
    for name in PEERS:
        figures.update(peer_figures(name, engines[name], ours))
    figures["log_bytes_per_symbol_day"] = ours["log_bytes"] / symbol_days
    figures["provision_cpu_ms_per_symbol_day"] = provisioning_cpu_ms(store, run_days, symbols)
    reads = plugin_reads_us(store, run_days, symbols)
    figures["plugin_read_us"] = max(reads["indicator"], reads["latest_bar"])
    figures["plugin_indicator_read_us"] = reads["indicator"]
    figures["plugin_latest_bar_read_us"] = reads["latest_bar"]
    if "cross_symbol_per_symbol" in reads:
        figures["plugin_cross_read_us_per_symbol"] = reads["cross_symbol_per_symbol"]
    figures["e2e_load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    return figures


def base_bars(store: BarStore, symbols: list[str], days: list[dt.date]) -> int:
    return sum(len(store.read_days(s, Interval("1m"), days).table) for s in symbols)


def peer_symbols(name: str, symbols: list[str]) -> list[str]:
    """The symbols a peer runs: all of the workload's, backtrader the first BACKTRADER_SYMBOLS."""
    return symbols[:BACKTRADER_SYMBOLS] if name == "backtrader" else symbols


def peer_result(name: str, store: BarStore, symbols: list[str], quick: bool) -> dict[str, Any]:
    """The peer's run (its figures, values and symbol count), or {"missing": why}."""
    if os.environ.get(PEERS_SWITCH, "0" if quick else "1") != "1":
        return {"missing": f"not run ({PEERS_SWITCH}=1 runs the peers; --quick runs them only then)"}
    python, why = peer_python(name)
    if python is None:
        return {"missing": why}
    try:
        result = run_peer(name, python, store, symbols)
    except RuntimeError as exc:
        return {"missing": str(exc).splitlines()[0]}
    result["symbols"] = len(symbols)
    return result


def peer_figures(name: str, peer: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The peer's figures and ours against them: base bars per CPU second (`e2e_ratio_vs_NAME`, the
    figure the target is checked on) and per wall second (`e2e_wall_ratio_vs_NAME`)."""
    if "wall_s" not in peer:
        return {f"e2e_{name}": peer["missing"]}
    return {
        f"e2e_{name}_symbols": peer["symbols"],
        f"e2e_{name}_base_bars": peer["base_bars"],
        f"e2e_{name}_wall_s": peer["wall_s"],
        f"e2e_{name}_cpu_s": peer["cpu_s"],
        f"e2e_{name}_peak_rss_mb": peer["peak_rss_mb"],
        f"e2e_{name}_bars_per_s": peer["base_bars"] / peer["wall_s"],
        f"e2e_{name}_bars_per_cpu_s": peer["base_bars"] / peer["cpu_s"],
        f"e2e_ratio_vs_{name}": (ours["base_bars"] / ours["cpu_s"]) / (peer["base_bars"] / peer["cpu_s"]),
        f"e2e_wall_ratio_vs_{name}": (ours["base_bars"] / ours["wall_s"]) / (peer["base_bars"] / peer["wall_s"]),
    }


def parallel_figures(
    folder: Path, store: BarStore, run_days: list[dt.date], symbols: list[str], serial: dict[str, Any]
) -> dict[str, Any]:
    """`--workers 2 --executor process` against the serial run (the same events, checked with `diff`).

    `workers2_speedup` is the wall figure measured here. On a shared machine it says little (the
    scheduler gives a session's processes one share between them, whatever their number), so beside it
    is what two idle cores would give when the days split evenly and nothing waits: serial CPU over the
    fixed CPU (a 1-symbol, 1-session run: imports, the data digest, the run's start and seal, which
    do not split) plus half of the rest of the parallel run's CPU (`workers2_cpu_bound_speedup`)."""
    parallel = daytape_run(
        session_file(folder, store, run_days, symbols, None),
        folder / "parallel.db",
        "--workers",
        "2",
        "--executor",
        "process",
    )
    fixed = daytape_run(session_file(folder, store, run_days[:1], symbols[:1], None), folder / "fixed.db")
    same = _same_events(folder / "serial.db", serial["run_id"], folder / "parallel.db", parallel["run_id"])
    split = max(parallel["cpu_s"] - fixed["cpu_s"], 0.0)
    return {
        "workers2_same_events": same,
        "workers2_wall_s": parallel["wall_s"],
        "workers2_cpu_s": parallel["cpu_s"],
        "workers2_speedup": serial["wall_s"] / parallel["wall_s"],
        "workers2_cpu_overhead": parallel["cpu_s"] / serial["cpu_s"],
        "run_fixed_cpu_s": fixed["cpu_s"],
        "workers2_cpu_bound_speedup": serial["cpu_s"] / (fixed["cpu_s"] + split / 2),
    }


def _same_events(serial_log: Path, serial_id: str, parallel_log: Path, parallel_id: str) -> bool:
    from eventlog.diff import diff_runs
    from eventlog.store import open_store

    a, b = open_store(f"sqlite:///{serial_log}"), open_store(f"sqlite:///{parallel_log}")
    try:
        return diff_runs(a, serial_id, parallel_id, store_b=b).same
    finally:
        a.close()
        b.close()


def _print_engines(engines: dict[str, dict[str, Any]], symbols: list[str]) -> None:
    ours = engines["daytape"]
    print(
        f"   {len(symbols)} symbols x the run's sessions; base bars streamed: daytape the run's sessions, a peer the "
        f"{TRAILING} sessions before them too (its warm-up; daytape loads them as history). backtrader runs the "
        f"first {BACKTRADER_SYMBOLS} symbols only (its cost per bar does not fall with fewer); the ratios are of "
        "base bars per CPU second (x bars/cpu s, the target's figure) and per wall second (x bars/s)",
        file=sys.stderr,
    )
    print(
        f"   {'engine':<12} {'symbols':>7} {'wall s':>9} {'cpu s':>9} {'base bars':>10} {'bars/s':>10} "
        f"{'bars/cpu s':>10} {'peak MB':>8} {'x bars/s':>9} {'x bars/cpu s':>13}",
        file=sys.stderr,
    )
    ours_rate = ours["base_bars"] / ours["wall_s"]
    ours_cpu_rate = ours["base_bars"] / ours["cpu_s"]
    for name, result in engines.items():
        if "missing" in result:
            print(f"   {name:<12} missing: {result['missing'].removeprefix('missing: ')}", file=sys.stderr)
            continue
        rate = result["base_bars"] / result["wall_s"]
        cpu_rate = result["base_bars"] / result["cpu_s"]
        print(
            f"   {name:<12} {result['symbols']:>7} {result['wall_s']:>9.2f} {result['cpu_s']:>9.2f} "
            f"{result['base_bars']:>10,} {rate:>10,.0f} {cpu_rate:>10,.0f} {result['peak_rss_mb']:>8.0f} "
            f"{ours_rate / rate:>9.2f} {ours_cpu_rate / cpu_rate:>13.2f}",
            file=sys.stderr,
            flush=True,
        )


def _print_comparison(peer: str, table: dict[str, dict[str, Any]]) -> None:
    print(f"   values, daytape vs {peer} (quarter hours of {SAMPLE_SYMBOLS} symbols):", file=sys.stderr)
    for key, row in table.items():
        print(
            f"     {key:<11} compared {row['compared']:>5}  agree {row['agree']:>5}  "
            f"documented {row['documented']:>4}  unexplained {row['unexplained']:>4}  "
            f"max rel diff {row['max_rel_diff']:.2e}",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    for key, value in run(quick="--quick" in sys.argv).items():
        print(f"{key:<36} {value}")
