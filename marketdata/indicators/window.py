"""SMA and Bollinger bands: plain windows over the last `period` closes.

Both keep a running sum of the closes; Bollinger also keeps a running sum of squares, of the closes minus the
first close seen (`ref`): shifting by a nearby price keeps the sums small, so the variance E[x²] - E[x]² does
not lose its digits to cancellation. The batch form builds the same running sums with `window_sums`, so batch and both
incremental forms give identical bits. Bollinger follows TA-Lib's BBANDS (matype 0): middle = SMA,
bands at ±2 population standard deviations, and a variance under 1e-8 counts as zero (flat windows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.indicators.base import BatchResult, ColumnarIndicator, Indicator, State
from marketdata.indicators.kernels import window_sums, work_buffer
from specs.indicators import IndicatorSpec

BOLLINGER_DEVIATIONS = 2.0
#: TA-Lib's TA_IS_ZERO_OR_NEG: a variance below this is taken as zero.
VARIANCE_FLOOR = 1e-8


def _fresh_state() -> State:
    return {"count": 0, "ref": math.nan, "total": 0.0, "total2": 0.0, "window": np.empty(0)}


def _window_state(close: np.ndarray, n: int, ref: float, total: float, total2: float) -> State:
    if len(close) == 0:
        return _fresh_state()
    return {"count": len(close), "ref": ref, "total": total, "total2": total2, "window": close[-n:].copy()}


def sma_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    n = spec.period or 0
    close = bars.close
    if len(close) == 0:
        return BatchResult({"value": np.empty(0)}, _fresh_state())
    out = window_sums(close, n)
    state = _window_state(close, n, 0.0, float(out[-1]), 0.0)
    out[: n - 1] = np.nan
    out[n - 1 :] /= n
    return BatchResult({"value": out}, state)


def bollinger_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    n = spec.period or 0
    close = bars.close
    size = len(close)
    if size == 0:
        return BatchResult({"upper": np.empty(0), "middle": np.empty(0), "lower": np.empty(0)}, _fresh_state())
    ref = float(close[0])
    scratch = np.subtract(close, ref, out=work_buffer(size, 0))
    middle = window_sums(scratch, n)
    np.multiply(scratch, scratch, out=scratch)
    band = window_sums(scratch, n)
    state = _window_state(close, n, ref, float(middle[-1]), float(band[-1]))
    mean, variance, square = middle[n - 1 :], band[n - 1 :], scratch[n - 1 :]
    mean /= n
    variance /= n
    np.multiply(mean, mean, out=square)
    variance -= square
    variance[variance < VARIANCE_FLOOR] = 0.0
    np.sqrt(variance, out=variance)
    variance *= BOLLINGER_DEVIATIONS
    mean += ref
    middle[: n - 1] = np.nan
    upper = middle + band
    np.subtract(middle, band, out=band)
    return BatchResult({"upper": upper, "middle": middle, "lower": band}, state)


# -- one symbol ------------------------------------------------------------------------------------------


class _ScalarWindow(Indicator):
    squares = False

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, calendar)
        self.n = spec.period or 0
        self.ref = math.nan
        self.total = 0.0
        self.total2 = 0.0
        self.ring = [0.0] * self.n

    def _push(self, close: float) -> None:
        if self.count == 0:
            self.ref = close if self.squares else 0.0
        x = close - self.ref
        pos = self.count % self.n
        if self.count >= self.n:
            old = self.ring[pos]
            self.total += x - old
            if self.squares:
                self.total2 += x * x - old * old
        else:
            self.total += x
            if self.squares:
                self.total2 += x * x
        self.ring[pos] = x
        self.count += 1

    def state(self) -> State:
        k = min(self.count, self.n)
        window = [self.ring[(self.count - k + j) % self.n] + self.ref for j in range(k)] if k else []
        raw = np.array(window, dtype=np.float64)
        return {"count": self.count, "ref": self.ref, "total": self.total, "total2": self.total2, "window": raw}

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        self.ref = float(state["ref"])
        self.total = float(state["total"])
        self.total2 = float(state["total2"])
        self.ring = [0.0] * self.n
        window = np.asarray(state["window"], dtype=np.float64)
        k = len(window)
        for j, value in enumerate(window.tolist()):
            self.ring[(self.count - k + j) % self.n] = value - self.ref


class SMA(_ScalarWindow):
    """Simple moving average of the closes (TA-Lib SMA)."""

    batch = staticmethod(sma_batch)

    def update(self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None) -> float:
        self._push(close)
        return self.value

    @property
    def value(self) -> float:
        return self.total / self.n if self.count >= self.n else math.nan


class Bollinger(_ScalarWindow):
    """Bollinger bands (upper, middle, lower) at ±2 population standard deviations (TA-Lib BBANDS, SMA)."""

    batch = staticmethod(bollinger_batch)
    squares = True

    def update(
        self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None
    ) -> tuple[float, ...]:
        self._push(close)
        return self.value

    @property
    def value(self) -> tuple[float, ...]:
        if self.count < self.n:
            return (math.nan, math.nan, math.nan)
        mean = self.total / self.n
        variance = self.total2 / self.n - mean * mean
        band = math.sqrt(0.0 if variance < VARIANCE_FLOOR else variance) * BOLLINGER_DEVIATIONS
        middle = mean + self.ref
        return (middle + band, middle, middle - band)


# -- N symbols -------------------------------------------------------------------------------------------


class _ColumnarWindow(ColumnarIndicator):
    squares = False

    def _allocate(self, n: int) -> None:
        self.n = self.spec.period or 0
        self.count = np.zeros(n, dtype=np.int64)
        self.ref = np.full(n, np.nan)
        self.total = np.zeros(n)
        self.total2 = np.zeros(n)
        self.ring = np.zeros((n, self.n))

    def _arrays(self) -> dict[str, tuple[np.ndarray, float]]:
        return {"count": (self.count, 0), "ref": (self.ref, np.nan), "total": (self.total, 0.0),
                "total2": (self.total2, 0.0), "ring": (self.ring, 0.0)}

    def _on_resize(self) -> None:
        size = self.n_symbols
        self._all = np.ones(size, dtype=bool)
        self._row_base = np.arange(size, dtype=np.int64) * self.n
        self._x = np.empty(size)
        self._old = np.empty(size)
        self._delta = np.empty(size)
        self._pos = np.empty(size, dtype=np.int64)
        self._seeding = True

    def _push(self, close: np.ndarray, mask: np.ndarray | None) -> None:
        flat_ring = self.ring.reshape(-1)
        pos = self._pos
        np.remainder(self.count, self.n, out=pos)
        pos += self._row_base
        x, old, delta = self._x, self._old, self._delta
        if not self._seeding and mask is None:
            np.subtract(close, self.ref, out=x)
            np.take(flat_ring, pos, out=old)
            np.subtract(x, old, out=delta)
            self.total += delta
            if self.squares:
                self.total2 += x * x - old * old
            flat_ring[pos] = x
            self.count += 1
            return
        m = self._all if mask is None else mask
        np.copyto(self.ref, close if self.squares else 0.0, where=m & (self.count == 0))
        np.subtract(close, self.ref, out=x)
        np.take(flat_ring, pos, out=old)
        full = self.count >= self.n
        np.copyto(old, 0.0, where=~full)
        np.subtract(x, old, out=delta)
        np.copyto(delta, x, where=~full)
        np.add(self.total, delta, out=self.total, where=m)
        if self.squares:
            squares = np.where(full, x * x - old * old, x * x)
            np.add(self.total2, squares, out=self.total2, where=m)
        flat_ring[pos] = np.where(m, x, flat_ring[pos])
        self.count += m
        self._seeding = bool(self.n_symbols) and int(self.count.min()) < self.n

    def row_state(self, i: int) -> State:
        count = int(self.count[i])
        k = min(count, self.n)
        positions = [(count - k + j) % self.n for j in range(k)]
        return {"count": count, "ref": float(self.ref[i]), "total": float(self.total[i]),
                "total2": float(self.total2[i]), "window": self.ring[i, positions] + self.ref[i]}

    def load_row(self, i: int, state: State) -> None:
        self.count[i] = int(state["count"])
        self.ref[i] = float(state["ref"])
        self.total[i] = float(state["total"])
        self.total2[i] = float(state["total2"])
        self.ring[i] = 0.0
        window = np.asarray(state["window"], dtype=np.float64)
        k = len(window)
        positions = [(int(self.count[i]) - k + j) % self.n for j in range(k)]
        self.ring[i, positions] = window - self.ref[i]
        self._seeding = True


class ColumnarSMA(_ColumnarWindow):
    batch = staticmethod(sma_batch)

    def update(
        self,
        open: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
        ts: Any = None,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        self._push(close, mask)
        return self.value

    @property
    def value(self) -> np.ndarray:
        out = self.total / self.n
        if self._seeding:
            out[self.count < self.n] = np.nan
        return out


class ColumnarBollinger(_ColumnarWindow):
    batch = staticmethod(bollinger_batch)
    squares = True

    def update(
        self,
        open: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
        ts: Any = None,
        mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, ...]:
        self._push(close, mask)
        return self.value

    @property
    def value(self) -> tuple[np.ndarray, ...]:
        mean = self.total / self.n
        variance = self.total2 / self.n
        variance -= mean * mean
        variance[variance < VARIANCE_FLOOR] = 0.0
        band = np.sqrt(variance, out=variance)
        band *= BOLLINGER_DEVIATIONS
        middle = mean
        middle += self.ref
        if self._seeding:
            middle[self.count < self.n] = np.nan
        return (middle + band, middle, middle - band)
