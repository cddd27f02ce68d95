"""Seeded sample minute bars for the demo, the tests and the benchmarks.

The bars follow the calendar (no bars on holidays, short early-close days), miss a few minutes at random,
and walk geometrically from a per-symbol start price, so prices stay positive and open/high/low/close are
consistent. Each symbol draws from its own generator seeded by (seed, symbol), so a symbol's bars do not
depend on which other symbols are generated, and the same seed gives the same bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa

from marketdata.calendar import TradingCalendar
from marketdata.store import BAR_SCHEMA, BarStore
from specs.config import normalize_symbol

_NS_PER_MINUTE = 60 * 1_000_000_000
_MINUTE_SIGMA = 0.0008  # about 1.6% a day over 390 minutes
_OVERNIGHT_SIGMA = 0.01


def _session_grid(
    calendar: TradingCalendar, start: date, end: date, extended: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minute open times of every session (int64 ns), the index of each day's first bar, and an in-session mask."""
    stamps, firsts, regular = [], [], []
    count = 0
    for day in calendar.sessions(start, end):
        open_ns, close_ns = calendar.open_close_ns(day)
        if extended:
            lo, hi = (int(t.timestamp()) * 1_000_000_000 for t in calendar.extended_hours(day))
        else:
            lo, hi = open_ns, close_ns
        minutes = np.arange(lo, hi, _NS_PER_MINUTE, dtype=np.int64)
        stamps.append(minutes)
        regular.append((minutes >= open_ns) & (minutes < close_ns))
        firsts.append(count)
        count += len(minutes)
    if not stamps:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool)
    return np.concatenate(stamps), np.asarray(firsts, dtype=np.int64), np.concatenate(regular)


def _intraday_volume_shape(ts: np.ndarray, firsts: np.ndarray, regular: np.ndarray) -> np.ndarray:
    """A U-shaped volume profile over each session (heavier at the open and the close), thin outside it."""
    day_of = np.searchsorted(firsts, np.arange(len(ts)), "right") - 1
    position = np.zeros(len(ts))
    for d in range(len(firsts)):
        in_day = np.flatnonzero((day_of == d) & regular)
        if len(in_day):
            position[in_day] = np.linspace(-1.0, 1.0, len(in_day))
    return np.where(regular, 1.0 + 2.0 * position**2, 0.05)


def _symbol_rng(seed: int, symbol: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(symbol.encode())])


def _bars_for(
    symbol: str, seed: int, gap_rate: float, ts: np.ndarray, firsts: np.ndarray, shape: np.ndarray
) -> pa.Table:
    rng = _symbol_rng(seed, symbol)
    n = len(ts)
    start_price = float(np.exp(rng.uniform(np.log(20.0), np.log(400.0))))
    returns = rng.normal(0.0, _MINUTE_SIGMA, n)
    overnight = rng.normal(0.0, _OVERNIGHT_SIGMA, len(firsts))
    returns[firsts] += overnight
    log_close = np.log(start_price) + np.cumsum(returns)
    log_open = np.concatenate(([np.log(start_price)], log_close[:-1]))
    log_open[firsts] += overnight
    close, open_ = np.exp(log_close), np.exp(log_open)
    wick_up = np.exp(np.abs(rng.normal(0.0, _MINUTE_SIGMA / 2, n)))
    wick_down = np.exp(-np.abs(rng.normal(0.0, _MINUTE_SIGMA / 2, n)))
    high = np.maximum(open_, close) * wick_up
    low = np.minimum(open_, close) * wick_down
    open_, high, low, close = (np.maximum(np.round(a, 2), 0.01) for a in (open_, high, low, close))
    volume = np.maximum(np.round(shape * rng.lognormal(np.log(20_000.0), 0.6, n) / 100.0) * 100.0, 100.0)
    keep = rng.random(n) >= gap_rate
    columns = [
        pa.array(ts[keep].view("datetime64[ns]"), type=pa.timestamp("ns", tz="UTC")),
        *(pa.array(a[keep]) for a in (open_, high, low, close, volume)),
    ]
    return pa.Table.from_arrays(columns, schema=BAR_SCHEMA)


def generate_bars(
    symbols: Sequence[str],
    start: date,
    end: date,
    calendar: TradingCalendar,
    seed: int,
    gap_rate: float = 0.002,
    extended: bool = False,
) -> dict[str, pa.Table]:
    """1m bars of every session from `start` to `end` (inclusive) per symbol; `extended` adds pre- and post-market."""
    if not 0.0 <= gap_rate < 1.0:
        raise ValueError(f"gap_rate must be in [0, 1), got {gap_rate}")
    ts, firsts, regular = _session_grid(calendar, start, end, extended)
    shape = _intraday_volume_shape(ts, firsts, regular)
    return {
        symbol: _bars_for(symbol, seed, gap_rate, ts, firsts, shape)
        for symbol in (normalize_symbol(s) for s in symbols)
    }


def write_sample_store(
    store: BarStore,
    symbols: Sequence[str],
    start: date,
    end: date,
    calendar: TradingCalendar,
    seed: int,
    gap_rate: float = 0.002,
    extended: bool = False,
) -> dict[str, int]:
    """Generate sample 1m bars into `store`; returns the rows written per symbol."""
    tables = generate_bars(symbols, start, end, calendar, seed, gap_rate=gap_rate, extended=extended)
    return {symbol: store.write(symbol, "1m", table) for symbol, table in tables.items()}
