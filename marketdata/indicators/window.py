"""SMA and Bollinger bands: plain windows over the last `period` closes.

SMA keeps a running sum of the closes (add the new one, subtract the one leaving). Bollinger follows TA-Lib's
BBANDS with matype 0: middle = SMA, bands at ±2 population standard deviations (a variance that rounds below
zero counts as zero). Its variance E[x²] - E[x]² would lose its digits to cancellation on raw prices
and to the rounding a running sum of squares collects, so the sums are kept of the closes minus a reference
close (`ref`), and every `period` bars, when the window is exactly the ring buffer in order, the reference
moves to the latest close and both sums are summed afresh: O(1) per bar on average, no drift, ~1e-12 exact.

The batch SMA sums every window afresh by doubling it (`kernels.window_means`), which agrees with the running
sum to a few ulps. The batch Bollinger builds the same sums with the same operations in the same order
(sequential np.add.accumulate), so batch and both incremental forms give identical bits: a window that is flat
after a jump keeps the running sums' rounding, and every form keeps the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.indicators.base import BatchResult, Indicator, State
from marketdata.indicators.kernels import nan_headed, sequential_sum, window_means, work_buffer
from specs.indicators import IndicatorSpec, IndicatorType

BOLLINGER_DEVIATIONS = 2.0


def _fresh_state(ref: float = math.nan) -> State:
    return {"count": 0, "ref": ref, "total": 0.0, "total2": 0.0, "window": np.empty(0)}


def sma_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    n = spec.period or 0
    close = bars.close
    size = len(close)
    if size == 0:
        return BatchResult({"value": np.empty(0)}, _fresh_state(0.0))
    out = nan_headed(size, n - 1)
    if size >= n:
        window_means(close, n, out[n - 1 :])
    window = close[-n:]
    state = {"count": size, "ref": 0.0, "total": sequential_sum(window), "total2": 0.0, "window": window.copy()}
    return BatchResult({"value": out}, state)


def _bollinger_seed_state(close: np.ndarray) -> State:
    """State before the first full window: sums of the closes minus the first close."""
    deviation = close - close[0]
    return {
        "count": len(close),
        "ref": float(close[0]),
        "total": sequential_sum(deviation),
        "total2": sequential_sum(deviation * deviation),
        "window": close.copy(),
    }


def bollinger_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    n = spec.period or 0
    close = bars.close
    size = len(close)
    upper, middle, lower = (nan_headed(size, n - 1) for _ in range(3))
    outputs = {"upper": upper, "middle": middle, "lower": lower}
    if size == 0:
        return BatchResult(outputs, _fresh_state())
    if size < n:
        return BatchResult(outputs, _bollinger_seed_state(close))  # all NaN: the head is the whole array
    # Column b follows the b-th refresh, at bar n-1 + b*n, whose window is the aligned block b of the closes:
    # its first n cells are that window's deviations (summed afresh), the next n-1 the running steps after it.
    # Laid out (cells x refreshes), the running sums are 2n-1 long vector additions down the columns: the same
    # additions in the same order as the incremental forms, without a Python step per bar.
    columns = (size - n) // n + 1
    cells = 2 * n - 1
    ref = close[n - 1 : columns * n : n].copy()
    # The deviations and their squares side by side, (cells, 2, columns): one cell's pair is one contiguous
    # block, so each running step adds both sums in one call.
    pairs = work_buffer(cells * 2 * columns, 1).reshape(cells, 2, columns)
    dev, sq = pairs[:, 0], pairs[:, 1]
    np.subtract(close[: columns * n].reshape(columns, n).T, ref, out=dev[:n])
    # The running steps after the refresh: the next n-1 closes, where they exist (the last columns run out of
    # closes; their missing steps are 0, as if the close equalled ref, and no window uses them).
    inside = min(columns, (size - n) // n)
    np.subtract(close[n : n + inside * n].reshape(inside, n)[:, : n - 1].T, ref[:inside], out=dev[n:, :inside])
    for b in range(inside, columns):
        steps = close[(b + 1) * n : (b + 2) * n - 1]
        np.subtract(steps, ref[b], out=dev[n : n + len(steps), b])
        dev[n + len(steps) :, b] = 0.0
    np.multiply(dev, dev, out=sq)
    pairs[n:] -= pairs[: n - 1]
    for j in range(1, cells):
        np.add(pairs[j], pairs[j - 1], out=pairs[j])
    sums, sums2 = dev[n - 1 :], sq[n - 1 :]
    count = size - (n - 1)
    last_column, last_cell = divmod(count - 1, n)
    state = {
        "count": size,
        "ref": float(ref[last_column]),
        "total": float(sums[last_cell, last_column]),
        "total2": float(sums2[last_cell, last_column]),
        "window": close[-n:].copy(),
    }
    mean = np.divide(sums, n, out=work_buffer(n * columns, 3).reshape(n, columns))
    variance = np.divide(sums2, n, out=work_buffer(n * columns, 4).reshape(n, columns))
    variance -= np.multiply(mean, mean, out=sums2)
    np.maximum(variance, 0.0, out=variance)  # a variance that rounds below zero is zero (NaN stays NaN)
    band = np.sqrt(variance, out=variance)
    band *= BOLLINGER_DEVIATIONS
    mean += ref
    rows = count // n
    np.copyto(middle[n - 1 : n - 1 + rows * n].reshape(rows, n), mean[:, :rows].T)
    if rows < columns:
        middle[n - 1 + rows * n :] = mean[: count - rows * n, rows]
    band_by_bar = band.T.reshape(-1)[:count]
    np.add(middle[n - 1 :], band_by_bar, out=upper[n - 1 :])
    np.subtract(middle[n - 1 :], band_by_bar, out=lower[n - 1 :])
    return BatchResult(outputs, state)


# -- incremental ----------------------------------------------------------------------------------------


class SMA(Indicator):
    """Simple moving average of the closes (TA-Lib SMA).

    Each value is the batch's: the window's sum by `window_means`' doubling, over the last n closes in order
    (not a running total, which drifts from it by an ulp now and then), so a live series gives the bits the
    backtest gives. The running total is kept for the state only.
    """

    kind = IndicatorType.SMA
    batch = staticmethod(sma_batch)

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, calendar)
        self.n = spec.period or 0
        self.total = 0.0
        self.ring = [0.0] * self.n
        self._mean = np.empty(1)

    def update(self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None) -> float:
        pos = self.count % self.n
        if self.count >= self.n:
            self.total += close - self.ring[pos]
        else:
            self.total += close
        self.ring[pos] = close
        self.count += 1
        return self.value

    @property
    def value(self) -> float:
        if self.count < self.n:
            return math.nan
        pos = self.count % self.n
        window = np.array(self.ring[pos:] + self.ring[:pos], dtype=np.float64)
        return float(window_means(window, self.n, self._mean)[0])

    def state(self) -> State:
        k = min(self.count, self.n)
        window = np.array([self.ring[(self.count - k + j) % self.n] for j in range(k)], dtype=np.float64)
        return {"count": self.count, "ref": 0.0, "total": self.total, "total2": 0.0, "window": window}

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        self.total = float(state["total"])
        self.ring = _ring_from_window(state, self.n)


def _ring_from_window(state: State, n: int) -> list[float]:
    ring = [0.0] * n
    window = np.asarray(state["window"], dtype=np.float64).tolist()
    count = int(state["count"])
    for j, value in enumerate(window):
        ring[(count - len(window) + j) % n] = value
    return ring


class Bollinger(Indicator):
    """Bollinger bands (upper, middle, lower) at ±2 population standard deviations (TA-Lib BBANDS, SMA)."""

    kind = IndicatorType.BOLLINGER
    batch = staticmethod(bollinger_batch)

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, calendar)
        self.n = spec.period or 0
        self.ref = math.nan
        self.total = 0.0
        self.total2 = 0.0
        self.ring = [0.0] * self.n

    def update(
        self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None
    ) -> tuple[float, ...]:
        n = self.n
        if self.count == 0:
            self.ref = close
        pos = self.count % n
        a = close - self.ref
        if self.count >= n:
            b = self.ring[pos] - self.ref
            self.total += a - b
            self.total2 += a * a - b * b
        else:
            self.total += a
            self.total2 += a * a
        self.ring[pos] = close
        self.count += 1
        if self.count % n == 0:
            self._refresh()
        return self.value

    def _refresh(self) -> None:
        """The window is now ring[0..n-1] in order: re-center on the latest close and sum afresh."""
        ref = self.ring[-1]
        total = total2 = 0.0
        for value in self.ring:
            d = value - ref
            total += d
            total2 += d * d
        self.ref, self.total, self.total2 = ref, total, total2

    @property
    def value(self) -> tuple[float, ...]:
        if self.count < self.n:
            return (math.nan, math.nan, math.nan)
        mean = self.total / self.n
        variance = self.total2 / self.n - mean * mean
        band = math.sqrt(0.0 if variance < 0.0 else variance) * BOLLINGER_DEVIATIONS
        middle = mean + self.ref
        return (middle + band, middle, middle - band)

    def state(self) -> State:
        k = min(self.count, self.n)
        window = np.array([self.ring[(self.count - k + j) % self.n] for j in range(k)], dtype=np.float64)
        return {"count": self.count, "ref": self.ref, "total": self.total, "total2": self.total2, "window": window}

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        self.ref, self.total, self.total2 = float(state["ref"]), float(state["total"]), float(state["total2"])
        self.ring = _ring_from_window(state, self.n)
