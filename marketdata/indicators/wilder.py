"""RSI and ATR with Wilder's smoothing, as TA-Lib computes them (unstable period 0).

Both look at the change from the previous close, so bar 0 only sets the previous close. The averages are
seeded with the plain mean of the first n values (bars 1..n) and the first value is at bar n; after that
avg = (avg * (n-1) + x) / n. RSI = 100 * gain / (gain + loss), and 0 when both averages are 0 (a series
that has not moved at all), as TA-Lib 0.6 does: a gain that decays toward 0 over a flat stretch still gives
100, however small it gets. The true range is max(high - low, |prev close - high|, |prev close - low|), computed
as max(high, prev close) - min(low, prev close), which is the same number and cheaper. The batch RSI averages
the gains and the moves |change| (the average of the moves is gain + loss), and takes loss as their difference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.indicators.base import BatchResult, Indicator, State
from marketdata.indicators.kernels import linear_filter, nan_headed, sequential_sum, work_buffer
from specs.indicators import IndicatorSpec, IndicatorType


def _wilder(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """out[0] = the mean of x[:n], and out[j] Wilder's average of x up to x[n-1+j] (len(x) - n + 1 values).

    x holds one value per bar from bar 1 on (changes or true ranges), so out[0] is bar n."""
    seed = sequential_sum(x[:n]) / n
    out[0] = seed
    linear_filter(x[n:], (n - 1) / n, 1.0 / n, seed, out=out[1:])
    return out


#: The smallest positive double: the RSI divides by max(total, TINY), which is the total itself whenever it is
#: positive, and gives 0 when both averages are 0.
TINY = 5e-324


def rsi_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    n = spec.period or 0
    close = bars.close
    size = len(close)
    out = nan_headed(size, n)
    change = np.subtract(close[1:], close[:-1], out=work_buffer(max(size - 1, 0), 0))
    gain = np.maximum(change, 0.0, out=work_buffer(max(size - 1, 0), 1))
    state: State = {"count": size, "prev": float(close[-1]) if size else math.nan}
    if size <= n:
        state.update(gain=sequential_sum(gain), loss=sequential_sum(np.maximum(-change, 0.0)))
        return BatchResult({"value": out}, state)
    # The averages of the gains and of the moves |change|, whose sum the incremental forms keep as gain + loss.
    moves = np.abs(change, out=change)
    average_gain = _wilder(gain, n, out[n:])
    average_move = _wilder(moves, n, gain[: size - n])  # the gains are spent: their buffer takes the moves
    state.update(gain=float(average_gain[-1]), loss=float(average_move[-1] - average_gain[-1]))
    np.maximum(average_move, TINY, out=average_move)
    np.divide(average_gain, average_move, out=average_gain)
    average_gain *= 100.0
    return BatchResult({"value": out}, state)


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """TA-Lib's TRANGE from bar 1 on: max(high, prev close) - min(low, prev close), which is bit for bit
    max(high - low, |prev close - high|, |prev close - low|) when high >= low."""
    prev = close[:-1]
    tr = np.maximum(high[1:], prev, out=out)
    tr -= np.minimum(low[1:], prev, out=work_buffer(len(prev), 0))
    return tr


def atr_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    n = spec.period or 0
    size = len(bars)
    state: State = {"count": size, "prev": float(bars.close[-1]) if size else math.nan}
    out = nan_headed(size, n)
    tr = true_range(bars.high, bars.low, bars.close, out=work_buffer(max(size - 1, 0), 1))
    if size > n:
        state["atr"] = float(_wilder(tr, n, out[n:])[-1])
    else:
        state["atr"] = sequential_sum(tr)
    return BatchResult({"value": out}, state)


# -- incremental ----------------------------------------------------------------------------------------


class RSI(Indicator):
    """Relative strength index of the closes (TA-Lib RSI)."""

    kind = IndicatorType.RSI
    batch = staticmethod(rsi_batch)

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, calendar)
        self.n = spec.period or 0
        self.prev = math.nan
        self.gain = 0.0
        self.loss = 0.0

    def update(self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None) -> float:
        i = self.count
        self.count += 1
        change = close - self.prev
        self.prev = close
        if i == 0:
            return math.nan
        n = self.n
        if i > n:
            self.gain *= n - 1
            self.loss *= n - 1
        if change < 0:
            self.loss -= change
        else:
            self.gain += change
        if i >= n:
            self.gain /= n
            self.loss /= n
        return self.value

    @property
    def value(self) -> float:
        if self.count <= self.n:
            return math.nan
        total = self.gain + self.loss
        return 0.0 if total == 0.0 else 100.0 * (self.gain / total)

    def state(self) -> State:
        return {"count": self.count, "prev": self.prev, "gain": self.gain, "loss": self.loss}

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        self.prev, self.gain, self.loss = float(state["prev"]), float(state["gain"]), float(state["loss"])


class ATR(Indicator):
    """Average true range (TA-Lib ATR)."""

    kind = IndicatorType.ATR
    batch = staticmethod(atr_batch)

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, calendar)
        self.n = spec.period or 0
        self.prev = math.nan
        self.atr = 0.0

    def update(self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None) -> float:
        i = self.count
        self.count += 1
        prev = self.prev
        self.prev = close
        if i == 0:
            return math.nan
        tr = (high if high > prev else prev) - (low if low < prev else prev)
        n = self.n
        if i > n:
            self.atr = (self.atr * (n - 1) + tr) / n
        else:
            self.atr += tr
            if i == n:
                self.atr /= n
        return self.value

    @property
    def value(self) -> float:
        return self.atr if self.count > self.n else math.nan

    def state(self) -> State:
        return {"count": self.count, "prev": self.prev, "atr": self.atr}

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        self.prev, self.atr = float(state["prev"]), float(state["atr"])
