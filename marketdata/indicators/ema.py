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
from marketdata.indicators.base import BatchResult, ColumnarIndicator, Indicator, State
from marketdata.indicators.kernels import filter_difference, linear_filter, nan_headed, sequential_sum
from specs.indicators import IndicatorSpec


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


# -- one symbol ------------------------------------------------------------------------------------------


class EMA(Indicator):
    """Exponential moving average of the closes (TA-Lib EMA)."""

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


# -- N symbols -------------------------------------------------------------------------------------------


class ColumnarEMA(ColumnarIndicator):
    batch = staticmethod(ema_batch)

    def _allocate(self, n: int) -> None:
        self.n = self.spec.period or 0
        self.k = alpha(self.n)
        self.count = np.zeros(n, dtype=np.int64)
        self.seed = np.zeros(n)
        self.ema = np.full(n, np.nan)

    def _arrays(self) -> dict[str, tuple[np.ndarray, float]]:
        return {"count": (self.count, 0), "seed": (self.seed, 0.0), "ema": (self.ema, np.nan)}

    def _on_resize(self) -> None:
        self._all = np.ones(self.n_symbols, dtype=bool)
        self._step = np.empty(self.n_symbols)
        self._seeding = True

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
        step = self._step
        np.subtract(close, self.ema, out=step)
        step *= self.k
        if not self._seeding:
            np.add(self.ema, step, out=self.ema, where=mask if mask is not None else True)
            self.count += True if mask is None else mask
            return self.ema
        m = self._all if mask is None else mask
        i = self.count
        np.add(self.seed, close, out=self.seed, where=m & (i < self.n))
        np.add(self.ema, step, out=self.ema, where=m & (i >= self.n))
        np.divide(self.seed, self.n, out=self.ema, where=m & (i == self.n - 1))
        self.count += m
        self._seeding = bool(self.n_symbols) and int(self.count.min()) < self.n
        return self.ema

    @property
    def value(self) -> np.ndarray:
        return self.ema

    def row_state(self, i: int) -> State:
        return {"count": int(self.count[i]), "seed": float(self.seed[i]), "ema": float(self.ema[i])}

    def load_row(self, i: int, state: State) -> None:
        self.count[i] = int(state["count"])
        self.seed[i] = float(state["seed"])
        self.ema[i] = float(state["ema"])
        self._seeding = True


class ColumnarMACD(ColumnarIndicator):
    slow_seed: np.ndarray
    fast_seed: np.ndarray
    slow_ema: np.ndarray
    fast_ema: np.ndarray
    signal_seed: np.ndarray
    signal_ema: np.ndarray
    batch = staticmethod(macd_batch)
    _FIELDS = MACD._FIELDS

    def _allocate(self, n: int) -> None:
        spec = self.spec
        self.fast, self.slow, self.signal = spec.fast or 0, spec.slow or 0, spec.signal or 0
        self.kf, self.ks, self.kg = alpha(self.fast), alpha(self.slow), alpha(self.signal)
        self.count = np.zeros(n, dtype=np.int64)
        for name in self._FIELDS:
            setattr(self, name, np.full(n, 0.0 if name.endswith("seed") else np.nan))
        self.macd = np.full(n, np.nan)
        self.hist = np.full(n, np.nan)
        self.signal_out = np.full(n, np.nan)

    def _arrays(self) -> dict[str, tuple[np.ndarray, float]]:
        arrays: dict[str, tuple[np.ndarray, float]] = {"count": (self.count, 0)}
        for name in self._FIELDS:
            arrays[name] = (getattr(self, name), 0.0 if name.endswith("seed") else np.nan)
        for name in ("macd", "hist", "signal_out"):
            arrays[name] = (getattr(self, name), np.nan)
        return arrays

    def _on_resize(self) -> None:
        self._all = np.ones(self.n_symbols, dtype=bool)
        self._seeding = True

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
        if self._seeding:
            self._update_seeding(close, self._all if mask is None else mask)
            return self.value
        where = True if mask is None else mask
        np.add(self.slow_ema, (close - self.slow_ema) * self.ks, out=self.slow_ema, where=where)
        np.add(self.fast_ema, (close - self.fast_ema) * self.kf, out=self.fast_ema, where=where)
        np.subtract(self.fast_ema, self.slow_ema, out=self.macd, where=where)
        np.add(self.signal_ema, (self.macd - self.signal_ema) * self.kg, out=self.signal_ema, where=where)
        np.copyto(self.signal_out, self.signal_ema, where=where)
        np.subtract(self.macd, self.signal_ema, out=self.hist, where=where)
        self.count += where
        return self.value

    def _update_seeding(self, close: np.ndarray, m: np.ndarray) -> None:
        i = self.count
        slow, first_signal = self.slow, self.slow + self.signal - 2
        np.add(self.slow_seed, close, out=self.slow_seed, where=m & (i < slow))
        np.add(self.fast_seed, close, out=self.fast_seed, where=m & (i < slow) & (i >= slow - self.fast))
        seeded = m & (i == slow - 1)
        np.divide(self.slow_seed, slow, out=self.slow_ema, where=seeded)
        np.divide(self.fast_seed, self.fast, out=self.fast_ema, where=seeded)
        steady = m & (i >= slow)
        np.add(self.slow_ema, (close - self.slow_ema) * self.ks, out=self.slow_ema, where=steady)
        np.add(self.fast_ema, (close - self.fast_ema) * self.kf, out=self.fast_ema, where=steady)
        has_macd = m & (i >= slow - 1)
        macd = self.fast_ema - self.slow_ema
        np.add(self.signal_seed, macd, out=self.signal_seed, where=has_macd & (i < first_signal + 1))
        np.divide(self.signal_seed, self.signal, out=self.signal_ema, where=m & (i == first_signal))
        smooth = m & (i > first_signal)
        np.add(self.signal_ema, (macd - self.signal_ema) * self.kg, out=self.signal_ema, where=smooth)
        out = m & (i >= first_signal)
        np.copyto(self.macd, macd, where=out)
        np.copyto(self.signal_out, self.signal_ema, where=out)
        np.copyto(self.hist, macd - self.signal_ema, where=out)
        self.count += m
        self._seeding = bool(self.n_symbols) and int(self.count.min()) <= first_signal

    @property
    def value(self) -> tuple[np.ndarray, ...]:
        return (self.macd, self.signal_out, self.hist)

    def row_state(self, i: int) -> State:
        return {"count": int(self.count[i]), **{name: float(getattr(self, name)[i]) for name in self._FIELDS}}

    def load_row(self, i: int, state: State) -> None:
        self.count[i] = int(state["count"])
        for name in self._FIELDS:
            getattr(self, name)[i] = float(state[name])
        if self.count[i] >= self.slow + self.signal - 1:
            self.macd[i] = self.fast_ema[i] - self.slow_ema[i]
            self.signal_out[i] = self.signal_ema[i]
            self.hist[i] = self.macd[i] - self.signal_ema[i]
        else:
            self.macd[i] = self.signal_out[i] = self.hist[i] = np.nan
        self._seeding = True
