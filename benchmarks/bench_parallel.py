"""A 20-session run: serial against `--workers 2 --executor process` on the same machine.

Both runs write to their own SQLite log; the events of the two runs are compared with `diff`
(they must be the same) so the speed-up is not bought with a different result.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from daytape.runner import RunOptions, run_session
from eventlog.diff import diff_runs
from eventlog.store import open_store
from marketdata.calendar import get_calendar
from marketdata.generator import write_sample_store
from marketdata.store import BarStore
from specs.config import SessionConfig

FIRST = dt.date(2024, 2, 1)
CACHE = Path(__file__).resolve().parents[1] / ".bench"


def _setup(sessions: int, symbols: list[str]) -> tuple[BarStore, list[dt.date]]:
    calendar = get_calendar("XNYS")
    days = [FIRST]
    while len(days) < sessions:
        days.append(calendar.next_session(days[-1]))
    store = BarStore(CACHE / f"parallel-store-{sessions}-{len(symbols)}", calendar)
    if not all(store.days(s, "1m")[-1:] == [days[-1]] for s in symbols):
        write_sample_store(store, symbols, calendar.previous_sessions(FIRST, 2)[0], days[-1], calendar, seed=11)
    return store, days


def _config(store: BarStore, days: list[dt.date], symbols: list[str]) -> SessionConfig:
    return SessionConfig.model_validate(
        {
            "name": "bench-parallel",
            "start": days[0],
            "end": days[-1],
            "store": str(store.root),
            "symbols": symbols[:-1],
            "derived": ["5m", "15m"],
            "historical": {"enabled": True, "trailing_days": 2},
            "indicators": [
                {"type": "sma", "period": 20, "interval": "5m"},
                {"type": "rsi", "period": 14, "interval": "1m"},
            ],
            "scanner": {
                "class": "daytape.examples:ListScanner",
                "params": {
                    "symbols": symbols[-1:],
                    "at": "10:00",
                    "indicator": {"type": "ema", "period": 9, "interval": "5m"},
                },
            },
            "strategy": {
                "class": "daytape.examples:UpgradeStrategy",
                "params": {"symbols": symbols[-1:], "at": "12:00"},
            },
        }
    )


def run(quick: bool = False) -> dict[str, Any]:
    sessions = 4 if quick else 20
    symbols = [f"P{i:02d}" for i in range(6 if quick else 20)]
    store, days = _setup(sessions, symbols)
    config = _config(store, days, symbols)
    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as folder:
        serial_log = open_store(f"sqlite:///{Path(folder) / 'serial.db'}")
        parallel_log = open_store(f"sqlite:///{Path(folder) / 'parallel.db'}")
        started = time.perf_counter()
        serial = run_session(serial_log, config, RunOptions())
        serial_s = time.perf_counter() - started
        started = time.perf_counter()
        parallel = run_session(parallel_log, config, RunOptions(workers=2, backend="process"))
        parallel_s = time.perf_counter() - started
        same = diff_runs(serial_log, serial.run_id, parallel.run_id, store_b=parallel_log).same
        serial_log.close()
        parallel_log.close()
    return {
        "parallel_sessions": sessions,
        "parallel_symbols": len(symbols),
        "serial_run_s": serial_s,
        "parallel_workers2_run_s": parallel_s,
        "parallel_workers2_speedup": serial_s / parallel_s,
        "parallel_workers2_same_events": same,
    }


if __name__ == "__main__":
    import sys

    for key, value in run(quick="--quick" in sys.argv).items():
        print(f"{key:<24} {value:,.3f}" if isinstance(value, float) else f"{key:<24} {value}")
