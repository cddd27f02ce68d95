"""`daytape report` of a 20-day, 100-symbol run: how long it takes to write, how big the file is, and how
long headless Chromium takes to open it (from navigation to the first chart drawn; target under 3 s; the
median of three openings). The machine is shared: the load average beside the figures says how much.

The run: 100 generated symbols (seeded) over 20 sessions of 1m bars, derived 5m and 15m, sma/rsi/ema, the
example scanner and strategy adding and upgrading symbols. The report has the warm-up proof of every day
(the default), not the look-ahead proof (`--lookahead` re-runs the days). The browser figure is skipped
(None) where no chromium is installed; the driver is the report's browser tests' (tests/report/chromium.py).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from daytape import __version__
from daytape.api import Log
from daytape.report.html import plotly_js, render
from daytape.report.model import run_document
from daytape.runner import RunOptions, run_session
from eventlog.store import open_store
from marketdata.calendar import get_calendar
from marketdata.generator import write_sample_store
from marketdata.store import BarStore
from specs.config import SessionConfig

FIRST = dt.date(2024, 3, 4)


def _config(root: Path, symbols: list[str], days: list[dt.date]) -> SessionConfig:
    return SessionConfig.model_validate(
        {
            "name": "report-bench",
            "start": days[0],
            "end": days[-1],
            "store": str(root / "data"),
            "symbols": symbols[:-10],
            "streams": ["1m"],
            "derived": ["5m", "15m"],
            "historical": {"enabled": True, "trailing_days": 1},
            "indicators": [
                {"type": "sma", "period": 20, "interval": "5m"},
                {"type": "rsi", "period": 14, "interval": "1m"},
                {"type": "ema", "period": 20, "interval": "15m"},
            ],
            "scanner": {
                "class": "daytape.examples:ListScanner",
                "params": {
                    "symbols": symbols[-10:],
                    "at": "10:00",
                    "indicator": {"type": "sma", "period": 20, "interval": "5m"},
                },
            },
            "strategy": {
                "class": "daytape.examples:UpgradeStrategy",
                "params": {"symbols": symbols[-5:], "at": "11:30"},
            },
        }
    )


def run(quick: bool) -> dict[str, Any]:
    n_symbols, n_days = (12, 2) if quick else (100, 20)
    calendar = get_calendar("XNYS")
    days = [FIRST]
    while len(days) < n_days:
        days.append(calendar.next_session(days[-1]))
    symbols = [f"S{i:03d}" for i in range(n_symbols)]
    with tempfile.TemporaryDirectory(prefix="daytape-bench-report-") as folder:
        root = Path(folder)
        first_data = calendar.previous_sessions(days[0], 6)[0]
        write_sample_store(BarStore(root / "data", calendar), symbols, first_data, days[-1], calendar, seed=7)
        config = _config(root, symbols, days)
        url = f"sqlite:///{root / 'log.db'}"
        store = open_store(url)
        try:
            run_id = run_session(store, config, RunOptions()).run_id
        finally:
            store.close()
        load_before = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        with Log(url) as log:
            page = render(run_document(log.run(run_id)), __version__)
        write_s, write_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        out = root / "report.html"
        out.write_text(page, encoding="utf-8")
        opens = _open_in_chromium(out)
        results: dict[str, Any] = {
            "report_symbols": n_symbols,
            "report_days": n_days,
            "report_write_s": round(write_s, 2),
            "report_write_cpu_s": round(write_cpu_s, 2),
            "report_bytes": out.stat().st_size,
            "report_plotly_bytes": len(plotly_js().encode()),
            "report_open_s": None if opens is None else sorted(opens)[len(opens) // 2],
            "report_open_runs_s": opens,
            "report_load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    print(
        f"report of {n_symbols} symbols x {n_days} days: written in {results['report_write_s']} s "
        f"({results['report_write_cpu_s']} s of CPU), {results['report_bytes'] / 1e6:.1f} MB, opened in Chromium in "
        f"{results['report_open_s']} s (median of {opens}; target < 3 s); load average "
        f"{results['report_load_average'][0]} before writing, {results['report_load_average'][1]} after opening"
    )
    return results


#: How many times the page is opened (each in a fresh browser); the figure is the median.
OPENINGS = 3


def _open_in_chromium(page: Path) -> list[float] | None:
    try:
        from tests.report.chromium import find_chromium, open_page
    except ImportError:  # an installed daytape without its tests
        return None
    if find_chromium() is None:
        return None
    times = []
    for _ in range(OPENINGS):
        seen = open_page(page)
        if seen.errors:
            raise RuntimeError(f"the report had console errors: {seen.errors[:3]}")
        times.append(round(seen.load_seconds, 2))
    return times
