"""Bar derivation: 5m and 15m bars from a year of one symbol's 1m bars, against pandas resample of the same data.

The data is synthetic, made here in numpy: every regular-session minute of the XNYS sessions of 2023
(98,000-odd bars, about 1% of minutes missing), random-walk prices. Ours is `derive_sessions` (anchored to
each session's open, cut at its close); the peer is `DataFrame.resample(rule, origin=<first open>,
closed="left", label="left").agg(first/max/min/last/sum)` with empty bins dropped, on a DataFrame built
beforehand. Both give the same bars (checked); each figure is the best of several rounds, ours and the
peer's alternating. `ratio_vs_pandas` is pandas' time over ours (above 1: we are faster).

Also the incremental form a live session uses: an `IncrementalAggregator` per symbol and interval, 100 symbols
fed minute by minute through a session (5m and 15m at once), in base bars per second per core.

Runnable alone: `python -m benchmarks.bench_bars [--quick]`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from marketdata.aggregator import IncrementalAggregator
from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.derive import derive_sessions

YEAR = (date(2023, 1, 1), date(2023, 12, 31))
QUICK = (date(2023, 1, 1), date(2023, 1, 31))
SEED = 3
STREAM_SYMBOLS = 100
_RULES = {"5m": "5min", "15m": "15min"}


def year_of_minutes(calendar: TradingCalendar, sessions: list[date], seed: int = SEED) -> SessionBars:
    """One symbol's 1m bars over the sessions: regular minutes only, ~1% missing, random-walk prices."""
    rng = np.random.default_rng(seed)
    ts = np.concatenate([calendar.minutes(day).view(np.int64) for day in sessions])
    ts = ts[rng.random(len(ts)) > 0.01]
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, len(ts))))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.random(len(ts)) * 1e-3)
    low = np.minimum(open_, close) * (1 - rng.random(len(ts)) * 1e-3)
    volume = rng.integers(100, 10_000, len(ts)).astype(np.float64)
    return SessionBars.from_arrays(ts, open_, high, low, close, volume)


def _pandas_resample(frame: pd.DataFrame, rule: str, origin: pd.Timestamp) -> pd.DataFrame:
    grouped = frame.resample(rule, origin=origin, closed="left", label="left")
    out = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    return out[grouped["close"].count() > 0]


def _best(rounds: int, *functions: Callable[[], Any]) -> list[float]:
    """Best wall time of each function over `rounds`, the order alternating between rounds."""
    best = [float("inf")] * len(functions)
    for r in range(rounds):
        order = range(len(functions)) if r % 2 == 0 else reversed(range(len(functions)))
        for i in order:
            start = time.perf_counter()
            functions[i]()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _check_same(ours: SessionBars, theirs: pd.DataFrame) -> None:
    if not np.array_equal(ours.ts, theirs.index.as_unit("ns").asi8):
        raise AssertionError("derived bar times differ from pandas")
    for name in ("open", "high", "low", "close", "volume"):
        if not np.allclose(getattr(ours, name), theirs[name].to_numpy(), rtol=1e-12, atol=0):
            raise AssertionError(f"derived {name} differs from pandas")


def bench_derivation(calendar: TradingCalendar, quick: bool) -> dict[str, Any]:
    sessions = calendar.sessions(*(QUICK if quick else YEAR))
    bars = year_of_minutes(calendar, sessions)
    index = pd.DatetimeIndex(bars.ts.view("datetime64[ns]")).tz_localize("UTC")
    columns = ("open", "high", "low", "close", "volume")
    frame = pd.DataFrame({name: getattr(bars, name) for name in columns}, index=index)
    origin = pd.Timestamp(calendar.open(sessions[0]))
    figures: dict[str, Any] = {"bars_base_rows": len(bars), "bars_sessions": len(sessions)}
    for interval, rule in _RULES.items():
        _check_same(derive_sessions(bars, interval, calendar, sessions), _pandas_resample(frame, rule, origin))
        ours, pandas = _best(
            3 if quick else 7,
            lambda interval=interval: derive_sessions(bars, interval, calendar, sessions),
            lambda rule=rule: _pandas_resample(frame, rule, origin),
        )
        figures[f"derive_{interval}_ms"] = ours * 1e3
        figures[f"pandas_resample_{interval}_ms"] = pandas * 1e3
        figures[f"derive_{interval}_ratio_vs_pandas"] = pandas / ours
    figures["derive_base_bars_per_s"] = len(bars) / figures["derive_5m_ms"] * 1e3
    return figures


def bench_streaming(calendar: TradingCalendar, quick: bool) -> dict[str, Any]:
    """100 symbols' 5m and 15m bars built step by step through one session, ~2% of base bars missing."""
    day = date(2023, 3, 15)
    rng = np.random.default_rng(SEED)
    steps = calendar.minutes(day).view(np.int64)
    shape = (len(steps), STREAM_SYMBOLS)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, shape), axis=0))
    high, low, volume = close * 1.0005, close * 0.9995, rng.integers(100, 10_000, shape).astype(np.float64)
    present = rng.random(shape) > 0.02

    rows = [
        (c.tolist(), h.tolist(), lo.tolist(), v.tolist()) for c, h, lo, v in zip(close, high, low, volume, strict=True)
    ]
    who = [np.flatnonzero(p).tolist() for p in present]

    def session() -> None:
        aggregators = [
            (IncrementalAggregator("5m", calendar, day), IncrementalAggregator("15m", calendar, day))
            for _ in range(STREAM_SYMBOLS)
        ]
        for k, t in enumerate(steps.tolist()):
            c, h, lo, v = rows[k]
            for i in who[k]:
                for aggregator in aggregators[i]:
                    aggregator.push(t, c[i], h[i], lo[i], c[i], v[i])

    (elapsed,) = _best(2 if quick else 5, session)
    return {
        "incremental_aggregate_base_bars_per_s": int(present.sum()) / elapsed,
        "incremental_aggregate_step_us": elapsed / len(steps) * 1e6,
    }


def run(quick: bool = False) -> dict[str, Any]:
    calendar = get_calendar()
    return {**bench_derivation(calendar, quick), **bench_streaming(calendar, quick)}


def _print(figures: dict[str, Any]) -> None:
    print(f"{'interval':<10}{'ours ms':>10}{'pandas ms':>12}{'pandas/ours':>13}")
    for interval in _RULES:
        print(
            f"{interval:<10}{figures[f'derive_{interval}_ms']:>10.2f}{figures[f'pandas_resample_{interval}_ms']:>12.2f}"
            f"{figures[f'derive_{interval}_ratio_vs_pandas']:>13.1f}"
        )
    print(f"({figures['bars_base_rows']:,} 1m bars over {figures['bars_sessions']} sessions)")
    print(
        f"incremental 5m+15m, {STREAM_SYMBOLS} symbols: {figures['incremental_aggregate_base_bars_per_s']:,.0f} base "
        f"bars/s ({figures['incremental_aggregate_step_us']:.1f} us per clock step)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_bars", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    _print(run(quick=parser.parse_args().quick))
