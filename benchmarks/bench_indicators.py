"""Indicators: batch over a year of 1m bars against TA-Lib, and incremental updates across 100 symbols.

Batch: SMA(20), EMA(20), RSI(14), ATR(14), Bollinger(20, ±2) and MACD(12, 26, 9) over one symbol's 1m bars of
2023 (synthetic, made here in numpy), ours (`marketdata.indicators.compute`) against TA-Lib's C functions on
the same arrays (`ratio_vs_talib` = our time / TA-Lib's: the target is at most 3 for each, and
`batch_worst_ratio_vs_talib` is the largest of the six), and VWAP against pandas
(groupby session, cumsum). Values are checked to agree before timing; each figure is the best of several
rounds, ours and the peer's alternating.

Incremental: the seven indicators on 100 symbols, fed minute by minute through one session with
`Indicator.update` (one call per symbol per indicator per bar, as a live session calls them), ~2% of the
symbols missing each step. Figures: indicator updates per second per core (bars x indicators / time), per
indicator type, and the bare per-step cost of reading the inputs, which no indicator can avoid.

Runnable alone: `python -m benchmarks.bench_indicators [--quick]`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import talib

from benchmarks.bench_bars import QUICK, YEAR, _best, year_of_minutes
from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.indicators import compute, make_indicator

SYMBOLS = 100
STREAM_DAY = date(2023, 3, 15)
SEED = 11
BATCH_NAMES = ("sma", "ema", "rsi", "atr", "bollinger", "macd")
INCREMENTAL_KEYS = ("sma_20_1m", "ema_20_1m", "rsi_14_1m", "atr_14_1m", "bollinger_20_1m", "macd_12_26_9_1m", "vwap_1m")


def _talib_peers(bars: SessionBars) -> dict[str, tuple[str, Callable[[], Any]]]:
    h, lo, c = bars.high, bars.low, bars.close
    return {
        "sma": ("sma_20_1m", lambda: talib.SMA(c, 20)),
        "ema": ("ema_20_1m", lambda: talib.EMA(c, 20)),
        "rsi": ("rsi_14_1m", lambda: talib.RSI(c, 14)),
        "atr": ("atr_14_1m", lambda: talib.ATR(h, lo, c, 14)),
        "bollinger": ("bollinger_20_1m", lambda: talib.BBANDS(c, 20, nbdevup=2, nbdevdn=2, matype=0)),
        "macd": ("macd_12_26_9_1m", lambda: talib.MACD(c, 12, 26, 9)),
    }


def _check(ours: dict[str, np.ndarray], theirs: Any, key: str) -> None:
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    for mine, reference in zip(ours.values(), theirs, strict=True):
        if not np.allclose(mine, reference, rtol=0, atol=1e-8, equal_nan=True):
            raise AssertionError(f"{key}: batch values differ from TA-Lib")


def _pandas_vwap(frame: pd.DataFrame) -> pd.Series:
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    day = frame["day"]
    return (typical * frame["volume"]).groupby(day).cumsum() / frame["volume"].groupby(day).cumsum()


def bench_batch(calendar: TradingCalendar, quick: bool) -> dict[str, Any]:
    sessions = calendar.sessions(*(QUICK if quick else YEAR))
    bars = year_of_minutes(calendar, sessions, seed=SEED)
    rounds = 3 if quick else 9
    figures: dict[str, Any] = {"indicators_batch_rows": len(bars)}
    total_ours = total_talib = 0.0
    for name, (key, peer) in _talib_peers(bars).items():
        _check(compute(key, bars).outputs, peer(), key)
        ours, theirs = _best(rounds, lambda key=key: compute(key, bars), peer)
        figures[f"batch_{name}_ms"] = ours * 1e3
        figures[f"talib_{name}_ms"] = theirs * 1e3
        figures[f"batch_{name}_ratio_vs_talib"] = ours / theirs
        total_ours += ours
        total_talib += theirs
    figures["batch_indicators_ratio_vs_talib"] = total_ours / total_talib
    figures["batch_worst_ratio_vs_talib"] = max(figures[f"batch_{name}_ratio_vs_talib"] for name in BATCH_NAMES)

    frame = pd.DataFrame({name: getattr(bars, name) for name in ("high", "low", "close", "volume")})
    frame["day"] = np.searchsorted([calendar.open_close_ns(d)[0] for d in sessions], bars.ts, "right")
    if not np.allclose(compute("vwap_1m", bars, calendar).outputs["value"], _pandas_vwap(frame), rtol=1e-12):
        raise AssertionError("vwap differs from pandas")
    ours, theirs = _best(rounds, lambda: compute("vwap_1m", bars, calendar), lambda: _pandas_vwap(frame))
    figures.update(batch_vwap_ms=ours * 1e3, pandas_vwap_ms=theirs * 1e3, batch_vwap_ratio_vs_pandas=ours / theirs)
    return figures


def _session_arrays(calendar: TradingCalendar) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(SEED)
    steps = calendar.minutes(STREAM_DAY).view(np.int64)
    shape = (len(steps), SYMBOLS)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, shape), axis=0))
    columns = [close, close * 1.0005, close * 0.9995, close, rng.integers(100, 10_000, shape).astype(np.float64)]
    columns = [np.ascontiguousarray(c) for c in (columns[3], columns[1], columns[2], columns[0], columns[4])]
    present = rng.random(shape) > 0.02
    return steps, columns, present


def _stream(calendar: TradingCalendar, keys: tuple[str, ...], steps, columns, present) -> float:
    """One session fed minute by minute, each symbol's bar to its own indicators; returns the elapsed seconds."""
    indicators = [[make_indicator(key, calendar) for key in keys] for _ in range(SYMBOLS)]
    o, h, lo, c, v = (column.tolist() for column in columns)
    start = time.perf_counter()
    for k, t in enumerate(steps.tolist()):
        row_o, row_h, row_lo, row_c, row_v = o[k], h[k], lo[k], c[k], v[k]
        for i in np.flatnonzero(present[k]).tolist():
            for indicator in indicators[i]:
                indicator.update(row_o[i], row_h[i], row_lo[i], row_c[i], row_v[i], t)
    return time.perf_counter() - start


def _bare_steps(steps, columns, present) -> float:
    """The same loop with no indicator: reading a step's rows of the five columns and the mask."""
    o, h, lo, c, v = columns
    start = time.perf_counter()
    for k, _t in enumerate(steps.tolist()):
        (o[k], h[k], lo[k], c[k], v[k], present[k])
    return time.perf_counter() - start


def bench_incremental(calendar: TradingCalendar, quick: bool) -> dict[str, Any]:
    steps, columns, present = _session_arrays(calendar)
    rounds = 2 if quick else 5
    all_keys = min(_stream(calendar, INCREMENTAL_KEYS, steps, columns, present) for _ in range(rounds))
    updates = int(present.sum())
    figures: dict[str, Any] = {
        "incremental_symbols": SYMBOLS,
        "incremental_steps": len(steps),
        "incremental_indicator_updates_per_s": updates * len(INCREMENTAL_KEYS) / all_keys,
        "incremental_step_us": all_keys / len(steps) * 1e6,
        "incremental_bare_step_us": min(_bare_steps(steps, columns, present) for _ in range(rounds)) / len(steps) * 1e6,
    }
    for key in INCREMENTAL_KEYS:
        name = key.split("_", 1)[0]
        elapsed = min(_stream(calendar, (key,), steps, columns, present) for _ in range(rounds))
        figures[f"incremental_{name}_updates_per_s"] = updates / elapsed
        figures[f"incremental_{name}_step_us"] = elapsed / len(steps) * 1e6
    return figures


def run(quick: bool = False) -> dict[str, Any]:
    calendar = get_calendar()
    return {**bench_batch(calendar, quick), **bench_incremental(calendar, quick)}


def _print(figures: dict[str, Any]) -> None:
    print(f"batch over {figures['indicators_batch_rows']:,} 1m bars")
    print(f"  {'indicator':<11}{'ours ms':>9}{'peer ms':>9}{'ours/peer':>11}")
    for name in BATCH_NAMES:
        print(
            f"  {name:<11}{figures[f'batch_{name}_ms']:>9.2f}{figures[f'talib_{name}_ms']:>9.2f}"
            f"{figures[f'batch_{name}_ratio_vs_talib']:>11.2f}  (TA-Lib)"
        )
    print(
        f"  {'vwap':<11}{figures['batch_vwap_ms']:>9.2f}{figures['pandas_vwap_ms']:>9.2f}"
        f"{figures['batch_vwap_ratio_vs_pandas']:>11.2f}  (pandas)"
    )
    print(f"  all six vs TA-Lib: {figures['batch_indicators_ratio_vs_talib']:.2f}x TA-Lib's time")
    print(f"incremental, {SYMBOLS} symbols x {figures['incremental_steps']} steps")
    print(
        f"  all seven: {figures['incremental_indicator_updates_per_s']:,.0f} updates/s, "
        f"{figures['incremental_step_us']:.1f} us per step (bare step {figures['incremental_bare_step_us']:.1f} us)"
    )
    for key in INCREMENTAL_KEYS:
        name = key.split("_", 1)[0]
        print(
            f"  {name:<11}{figures[f'incremental_{name}_updates_per_s']:>14,.0f} updates/s"
            f"{figures[f'incremental_{name}_step_us']:>8.1f} us/step"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_indicators", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    _print(run(quick=parser.parse_args().quick))
