"""Run start: the data digest a run records (daytape.datascope) on a big store beside a small one.

A run of 2 config symbols over 2 sessions (2 trailing sessions of history) starts on two generated stores:
a small one holding only those symbols' days, and a big one of `BIG_SYMBOLS` symbols x `BIG_DAYS` sessions.
Its manifest (`daytape.runner.run_manifest`: the store check, the files the run reads, their digests) is
timed on each, best of `REPEATS`; the ratio big/small says whether the start grows with the store (1x: it
does not). Beside them: the whole-store digest every run start took before (`BarStore.digest`, what older
runs' manifests hold and their `verify` still takes), and the check `verify`/`--resume` make of the
recorded files (`check_data`). The big store's day files are copies of a few generated symbols' files
under every symbol's name: hashing costs by the byte, whatever the bars are.

Runnable alone: `python -m benchmarks.bench_runstart [--quick]`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daytape.datascope import check_data
from daytape.runner import run_manifest
from eventlog.store import scope_summary
from marketdata.calendar import get_calendar
from marketdata.generator import write_sample_store
from marketdata.store import BarStore
from specs.config import SessionConfig

BIG_SYMBOLS, BIG_DAYS = 200, 100
QUICK_SYMBOLS, QUICK_DAYS = 40, 30
RUN_SYMBOLS = ("AAA", "BBB")
GENERATED = 4  # symbols whose bars are generated; the others' files are copies of theirs
REPEATS = 5
FIRST_SESSION = dt.date(2024, 1, 2)


def _symbol(i: int) -> str:
    return RUN_SYMBOLS[i] if i < len(RUN_SYMBOLS) else f"S{i:04d}"


def _store(root: Path, symbols: int, days: list[dt.date]) -> int:
    """A store of `symbols` symbols' 1m files over `days`; returns its file count."""
    calendar = get_calendar()
    store = BarStore(root, calendar)
    generated = [_symbol(i) for i in range(min(symbols, GENERATED))]
    write_sample_store(store, generated, days[0], days[-1], calendar, seed=7)
    for i in range(len(generated), symbols):
        source = root / "1m" / f"symbol={generated[i % len(generated)]}"
        shutil.copytree(source, root / "1m" / f"symbol={_symbol(i)}")
    return sum(1 for _ in root.rglob("*.parquet"))


def _best(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def _config(store: Path, days: list[dt.date]) -> SessionConfig:
    return SessionConfig.model_validate(
        {
            "name": "run start",
            "start": days[-2],
            "end": days[-1],
            "store": str(store),
            "symbols": list(RUN_SYMBOLS),
            "historical": {"enabled": True, "trailing_days": 2},
        }
    )


def run(quick: bool = False) -> dict[str, Any]:
    symbols, count = (QUICK_SYMBOLS, QUICK_DAYS) if quick else (BIG_SYMBOLS, BIG_DAYS)
    calendar = get_calendar()
    days = calendar.sessions(FIRST_SESSION, FIRST_SESSION + dt.timedelta(days=2 * count))[:count]
    with tempfile.TemporaryDirectory(prefix="daytape-bench-runstart-") as folder:
        small, big = Path(folder) / "small", Path(folder) / "big"
        small_files = _store(small, len(RUN_SYMBOLS), days[-4:])
        big_files = _store(big, symbols, days)
        small_config, big_config = _config(small, days), _config(big, days)
        small_s = _best(lambda: run_manifest(small_config), REPEATS)
        big_s = _best(lambda: run_manifest(big_config), REPEATS)
        manifest = run_manifest(big_config)
        check_s = _best(lambda: check_data(big_config, manifest.data_digest, manifest.data_scope), REPEATS)
        whole_s = _best(lambda: BarStore(big).digest(), 1)
        covered = scope_summary(manifest.data_scope)["files"]
    return {
        "runstart_small_store_files": small_files,
        "runstart_big_store_files": big_files,
        "runstart_run_files": covered,
        "runstart_small_store_s": small_s,
        "runstart_big_store_s": big_s,
        "runstart_ratio_big_vs_small": big_s / small_s,
        "runstart_data_check_big_store_s": check_s,
        "runstart_whole_store_digest_big_s": whole_s,
    }


if __name__ == "__main__":
    for key, value in run(quick="--quick" in sys.argv[1:]).items():
        print(f"{key:<36} {value:,.4f}" if isinstance(value, float) else f"{key:<36} {value}")
