"""EMA and MACD, as TA-Lib computes them.

EMA(n): alpha = 2/(n+1), seeded with the SMA of the first n closes (first value at bar n-1), then
y = (close - y) * alpha + y. MACD(fast, slow, signal) follows TA-Lib's MACD: both EMAs start at bar slow-1,
the slow one seeded with the SMA of the first `slow` closes and the fast one with the SMA of the `fast` closes
ending there; macd = fast - slow; the signal is the EMA of macd seeded with the SMA of its first `signal`
values; hist = macd - signal. All three outputs start at bar slow + signal - 2, as in TA-Lib.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.indicators.base import BatchResult, Indicator, State
from marketdata.indicators.kernels import filter_difference, linear_filter, nan_headed, sequential_sum
from specs.indicators import IndicatorSpec, IndicatorType


def alpha(n: int) -> float:
    """TA-Lib's PER_TO_K: the EMA smoothing factor of period n."""
    return 2.0 / (n + 1)


def ema_into(out: np.ndarray, x: np.ndarray, n: int, seed: float) -> np.ndarray:
    """out[0] = seed (the SMA that starts the EMA), then out[i] = EMA(n) step with x[i] for i >= 1."""
    k = alpha(n)
    out[0] = seed
    linear_filter(x[1:], 1.0 - k, k, seed, out=out[1:])
    return out


def ema_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    n = spec.period or 0
    close = bars.close
    out = nan_headed(len(close), n - 1)
    seed = sequential_sum(close[:n])
    if len(close) >= n:
        ema_into(out[n - 1 :], close[n - 1 :], n, seed / n)
    state = {"count": len(close), "seed": seed, "ema": float(out[-1]) if len(out) else math.nan}
    return BatchResult({"value": out}, state)


def macd_batch(spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    fast, slow, signal = spec.fast or 0, spec.slow or 0, spec.signal or 0
    close = bars.close
    size = len(close)
    first = slow + signal - 2
    macd_out, signal_out, hist_out = (nan_headed(size, first) for _ in range(3))
    state: State = {
        "count": size,
        "slow_seed": sequential_sum(close[:slow]),
        "fast_seed": sequential_sum(close[slow - fast : slow]),
        "slow_ema": math.nan,
        "fast_ema": math.nan,
        "signal_seed": 0.0,
        "signal_ema": math.nan,
    }
    if size >= slow:
        # Both EMAs start at bar slow - 1 from their seeds, and macd = fast - slow from there on, written in
        # place (the bars before `first` are NaN again at the end). The signal line starts at macd[signal - 1]
        # from the mean of macd[:signal], so the first signal - 1 differences come on their own, then the rest
        # together with the signal line.
        tail = close[slow - 1 :]
        macd = macd_out[slow - 1 :]
        fast_ema, slow_ema = state["fast_seed"] / fast, state["slow_seed"] / slow
        macd[0] = fast_ema - slow_ema
        kf, ks, kg = alpha(fast), alpha(slow), alpha(signal)
        head = min(signal, len(tail))
        _, fast_ema, slow_ema = filter_difference(
            tail[1:head], (1.0 - kf, kf, fast_ema), (1.0 - ks, ks, slow_ema), out=macd[1:head]
        )
        state["signal_seed"] = sequential_sum(macd[:signal])
        if len(macd) >= signal:
            seed = state["signal_seed"] / signal
            signal_out[first] = seed
            _, fast_ema, slow_ema = filter_difference(
                tail[signal:],
                (1.0 - kf, kf, fast_ema),
                (1.0 - ks, ks, slow_ema),
                out=macd[signal:],
                smoothing=((1.0 - kg, kg, seed), signal_out[first + 1 :]),
            )
            np.subtract(macd_out[first:], signal_out[first:], out=hist_out[first:])
            state["signal_ema"] = float(signal_out[-1])
        state.update(slow_ema=slow_ema, fast_ema=fast_ema)
        macd_out[slow - 1 : first] = np.nan
    return BatchResult({"macd": macd_out, "signal": signal_out, "hist": hist_out}, state)


# -- incremental ----------------------------------------------------------------------------------------


class EMA(Indicator):
    """Exponential moving average of the closes (TA-Lib EMA)."""

    kind = IndicatorType.EMA
    batch = staticmethod(ema_batch)

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, calendar)
        self.n = spec.period or 0
        self.k = alpha(self.n)
        self.seed = 0.0
        self.ema = math.nan

    def update(self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None) -> float:
        i = self.count
        self.count += 1
        if i < self.n:
            self.seed += close
            if i == self.n - 1:
                self.ema = self.seed / self.n
        else:
            self.ema = (close - self.ema) * self.k + self.ema
        return self.ema

    @property
    def value(self) -> float:
        return self.ema

    def state(self) -> State:
        return {"count": self.count, "seed": self.seed, "ema": self.ema}

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        self.seed = float(state["seed"])
        self.ema = float(state["ema"])


class MACD(Indicator):
    """MACD line, signal and histogram (TA-Lib MACD)."""

    kind = IndicatorType.MACD
    batch = staticmethod(macd_batch)
    _FIELDS = ("slow_seed", "fast_seed", "slow_ema", "fast_ema", "signal_seed", "signal_ema")

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        super().__init__(spec, calendar)
        self.fast, self.slow, self.signal = spec.fast or 0, spec.slow or 0, spec.signal or 0
        self.kf, self.ks, self.kg = alpha(self.fast), alpha(self.slow), alpha(self.signal)
        self.slow_seed = self.fast_seed = self.signal_seed = 0.0
        self.slow_ema = self.fast_ema = self.signal_ema = math.nan
        self._value = (math.nan, math.nan, math.nan)

    def update(
        self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None
    ) -> tuple[float, ...]:
        i = self.count
        self.count += 1
        slow = self.slow
        if i < slow:
            self.slow_seed += close
            if i >= slow - self.fast:
                self.fast_seed += close
            if i < slow - 1:
                return self._value
            self.slow_ema = self.slow_seed / slow
            self.fast_ema = self.fast_seed / self.fast
        else:
            self.slow_ema = (close - self.slow_ema) * self.ks + self.slow_ema
            self.fast_ema = (close - self.fast_ema) * self.kf + self.fast_ema
        macd = self.fast_ema - self.slow_ema
        j = i - (slow - 1)
        if j < self.signal:
            self.signal_seed += macd
            if j < self.signal - 1:
                return self._value
            self.signal_ema = self.signal_seed / self.signal
        else:
            self.signal_ema = (macd - self.signal_ema) * self.kg + self.signal_ema
        self._value = (macd, self.signal_ema, macd - self.signal_ema)
        return self._value

    @property
    def value(self) -> tuple[float, ...]:
        return self._value

    def state(self) -> State:
        return {"count": self.count, **{name: getattr(self, name) for name in self._FIELDS}}

    def load_state(self, state: State) -> None:
        self.count = int(state["count"])
        for name in self._FIELDS:
            setattr(self, name, float(state[name]))
        if self.count >= self.slow + self.signal - 1:
            macd = self.fast_ema - self.slow_ema
            self._value = (macd, self.signal_ema, macd - self.signal_ema)
        else:
            self._value = (math.nan, math.nan, math.nan)
