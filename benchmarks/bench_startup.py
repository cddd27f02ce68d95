"""CLI start-up: the wall time of `daytape --version`, `--help`, `runs` and `replay`, beside a bare `python -c pass`.

Each command runs as its own process through the `daytape` console script beside this interpreter
(`python -m daytape.cli` when there is none), as a user runs it. The log is a SQLite file holding one
run of two sessions with 100 config symbols a day (tests/eventlog/streams.py, about 1,435 events a
day stream, the event-log benchmark's days); `runs` lists it and `replay RUN --date D` rebuilds its
last day. Every figure is the best of `REPEATS` runs after one warm-up (the best is what the program
costs; the rest is other processes' load), with the median beside it. The processes may write
bytecode caches, as an installed program's are (PYTHONDONTWRITEBYTECODE is dropped from their
environment), and the warm-up writes them.

The ratios are of wall times to the bare interpreter's: `startup_ratio_vs_python` is `--help`'s. On a
shared machine the wall times move with the load, so each command's CPU time (user + system of the
child process, best of the runs) is given too, with its ratio (`*_cpu_ratio_vs_python`), which other
processes' load barely changes; `startup_load_average` (1, 5, 15 minutes, as the benchmark starts and
ends) says how busy the machine was.

Runnable alone: `python -m benchmarks.bench_startup [--quick]`.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eventlog.manifest import RunManifest
from eventlog.store import open_store
from tests.eventlog.streams import big_plan, run_batches, sessions

REPEATS = 15
QUICK_REPEATS = 2
SYMBOLS = 100
FIRST_SESSION = dt.date(2010, 1, 4)


def _daytape() -> list[str]:
    script = Path(sys.executable).parent / "daytape"
    return [str(script)] if script.exists() else [sys.executable, "-m", "daytape.cli"]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _write_log(url: str) -> tuple[str, dt.date, int]:
    """One run of two 100-symbol sessions; returns its id, its last date and the events of that day."""
    days = sessions(FIRST_SESSION, 2)
    with open_store(url) as store:
        run_id = store.create_run(RunManifest(name="start-up benchmark"))
        sink = store.sink(run_id)
        counts: dict[dt.date, int] = {}
        for day, batches in run_batches(days, big_plan(SYMBOLS)).items():
            for batch in batches:
                sink.append(day, batch)
            counts[day] = sum(len(batch) for batch in batches)
    return run_id, days[-1], counts[days[-1]]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], repeats: int, cwd: str) -> tuple[float, float, float]:
    """The best and the median wall seconds and the best CPU seconds of `repeats` runs of `argv`,
    after one warm-up run."""
    env = _environment()
    walls, cpus = [], []
    for attempt in range(repeats + 1):
        started, cpu = time.perf_counter(), _children_cpu()
        result = subprocess.run(argv, capture_output=True, env=env, cwd=cwd)
        elapsed, cpu_used = time.perf_counter() - started, _children_cpu() - cpu
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode()[-2000:]}")
        if attempt:
            walls.append(elapsed)
            cpus.append(cpu_used)
    return min(walls), statistics.median(walls), min(cpus)


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def run(quick: bool) -> dict[str, Any]:
    load_before = _load_average()
    repeats = QUICK_REPEATS if quick else REPEATS
    daytape = _daytape()
    with tempfile.TemporaryDirectory(prefix="daytape-bench-startup-") as folder:
        url = f"sqlite:///{Path(folder) / 'log.db'}"
        run_id, day, day_events = _write_log(url)
        commands = {
            "python": [sys.executable, "-c", "pass"],
            "version": [*daytape, "--version"],
            "help": [*daytape, "--help"],
            "runs": [*daytape, "runs", "--log", url],
            "replay": [*daytape, "replay", run_id, "--date", day.isoformat(), "--log", url],
        }
        timed = {name: _timed(argv, repeats, folder) for name, argv in commands.items()}
    python, python_cpu = timed["python"][0], timed["python"][2]
    result: dict[str, Any] = {f"startup_{name}_ms": best * 1000 for name, (best, _, _) in timed.items()}
    result.update({f"startup_{name}_median_ms": median * 1000 for name, (_, median, _) in timed.items()})
    result.update({f"startup_{name}_cpu_ms": cpu * 1000 for name, (_, _, cpu) in timed.items()})
    result.update(
        {f"startup_{name}_cpu_ratio_vs_python": timed[name][2] / python_cpu for name in commands if name != "python"}
    )
    result.update(
        {
            "startup_python_s": python,
            "startup_version_ratio_vs_python": timed["version"][0] / python,
            "startup_ratio_vs_python": timed["help"][0] / python,
            "startup_runs_ratio_vs_python": timed["runs"][0] / python,
            "startup_replay_ratio_vs_python": timed["replay"][0] / python,
            "replay_cli_100_symbols_s": timed["replay"][0],
            "replay_cli_day_events": day_events,
            "startup_command": " ".join(daytape),
            "startup_repeats": repeats,
            "startup_load_average": {"start": load_before, "end": _load_average()},
        }
    )
    return result


if __name__ == "__main__":
    for key, value in run(quick="--quick" in sys.argv[1:]).items():
        print(f"{key:<36} {value:,.3f}" if isinstance(value, float) else f"{key:<36} {value}")
