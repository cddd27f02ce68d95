"""Streaming a day: base bars per second per core, against backtrader on the same bars.

Workload (ARCHITECTURE.md): N symbols (100; 10 with --quick), one session of 1m bars, 5m and 15m
derived, SMA(20), EMA(20) and RSI(14) on each symbol, a strategy that does nothing. daytape's
figure is the streaming phase of the day (the clock stepping minute by minute with the strategy
called at every step, then the end of the day); loading — reading, deriving and computing the
indicators over history and the day in batch, which is where daytape does its columnar work — is
reported beside it, and so is the whole day (load + stream). backtrader runs
the same bars, resampled to 5m and 15m, with the same three indicators, in the same process.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.backtrader_peer import run_backtrader
from daytape.day import open_day, stream_day
from daytape.plugins import Strategy
from marketdata.calendar import get_calendar
from marketdata.clock import SimulatedClock
from marketdata.generator import write_sample_store
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs.config import SessionConfig
from specs.intervals import Interval
from statemachine.coordinator import SessionCoordinator
from statemachine.sink import InMemorySink

SESSION = dt.date(2024, 3, 5)
CACHE = Path(__file__).resolve().parents[1] / ".bench"


class NoOpStrategy(Strategy):
    """Called at every step; does nothing."""


def _store(symbols: list[str]) -> BarStore:
    calendar = get_calendar("XNYS")
    root = CACHE / f"stream-store-{len(symbols)}"
    store = BarStore(root, calendar)
    first = calendar.previous_sessions(SESSION, 1)[0]
    if not all(store.days(s, "1m")[-1:] == [SESSION] for s in symbols):
        write_sample_store(store, symbols, first, SESSION, calendar, seed=7, gap_rate=0.0)
    return store


def _config(symbols: list[str], store: BarStore) -> SessionConfig:
    return SessionConfig.model_validate(
        {
            "name": "bench-stream",
            "start": SESSION,
            "end": SESSION,
            "store": str(store.root),
            "symbols": symbols,
            "streams": ["1m"],
            "derived": ["5m", "15m"],
            "historical": {"enabled": True, "trailing_days": 1},
            "indicators": [
                {"type": "sma", "period": 20, "interval": "1m"},
                {"type": "ema", "period": 20, "interval": "1m"},
                {"type": "rsi", "period": 14, "interval": "1m"},
            ],
        }
    )


def daytape_day(config: SessionConfig, store: BarStore) -> dict[str, float]:
    calendar = get_calendar(config.exchange)
    clock = SimulatedClock(calendar.open(SESSION) - dt.timedelta(seconds=1))
    coordinator = SessionCoordinator(config, StoreCache(store, calendar), calendar, InMemorySink(), clock)
    started = time.perf_counter()
    assert open_day(coordinator, SESSION)
    loaded = time.perf_counter()
    stream_day(coordinator, [NoOpStrategy()])
    coordinator.end_day()
    ended = time.perf_counter()
    assert coordinator.ended_state is not None  # the day's counts are recorded when it ends
    base_bars = sum(data.bars["1m"].count for data in coordinator.ended_state.symbols.values())
    return {"load_s": loaded - started, "stream_s": ended - loaded, "base_bars": float(base_bars)}


def session_columns(store: BarStore, symbols: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """The session's regular-hours 1m bars per symbol, as the peer is fed them."""
    calendar = get_calendar("XNYS")
    open_ns, close_ns = calendar.open_close_ns(SESSION)
    out = {}
    for symbol in symbols:
        table = store.read_days(symbol, Interval("1m"), [SESSION]).table
        ts = table.column("ts").cast("int64").to_numpy()
        keep = (ts >= open_ns) & (ts < close_ns)
        cols = {name: table.column(name).to_numpy()[keep] for name in ("open", "high", "low", "close", "volume")}
        out[symbol] = {"ts": ts[keep].astype("datetime64[ns]"), **cols}
    return out


def run(quick: bool = False) -> dict[str, Any]:
    count = 10 if quick else 100
    symbols = [f"S{i:03d}" for i in range(count)]
    store = _store(symbols)
    config = _config(symbols, store)
    daytape_day(config, store)  # warm caches (calendar, imports)
    best = min((daytape_day(config, store) for _ in range(3)), key=lambda r: r["stream_s"])
    peer = run_backtrader(session_columns(store, symbols))
    ours = best["base_bars"] / best["stream_s"]
    return {
        "stream_symbols": count,
        "stream_base_bars": int(best["base_bars"]),
        "stream_load_s": best["load_s"],
        "stream_s": best["stream_s"],
        "stream_bars_per_s": ours,
        "day_bars_per_s_incl_load": best["base_bars"] / (best["load_s"] + best["stream_s"]),
        "backtrader_s": peer["seconds"],
        "backtrader_bars_per_s": peer["bars_per_s"],
        "ratio_vs_backtrader": ours / peer["bars_per_s"],
    }


if __name__ == "__main__":
    import sys

    for key, value in run(quick="--quick" in sys.argv).items():
        print(f"{key:<28} {value:,.3f}" if isinstance(value, float) else f"{key:<28} {value}")
