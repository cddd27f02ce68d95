"""Indicator specifications and their keys (`sma_20_5m`, `macd_12_26_9_5m`, `vwap_1m`)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from specs.errors import SpecError
from specs.intervals import Interval, IntervalError
from specs.messages import one_line


class IndicatorType(StrEnum):
    SMA = "sma"
    EMA = "ema"
    RSI = "rsi"
    ATR = "atr"
    BOLLINGER = "bollinger"
    MACD = "macd"
    VWAP = "vwap"


_MACD, _VWAP, _BOLLINGER = IndicatorType.MACD, IndicatorType.VWAP, IndicatorType.BOLLINGER

#: Each type's output names; single-output indicators have one output named "value".
INDICATOR_OUTPUTS: dict[IndicatorType, tuple[str, ...]] = {
    IndicatorType.SMA: ("value",),
    IndicatorType.EMA: ("value",),
    IndicatorType.RSI: ("value",),
    IndicatorType.ATR: ("value",),
    IndicatorType.BOLLINGER: ("upper", "middle", "lower"),
    IndicatorType.MACD: ("macd", "signal", "hist"),
    IndicatorType.VWAP: ("value",),
}

#: Convergence factor for exponentially smoothed indicators: after `k` periods
#: of history the weight left on the arbitrary seed is (1 - alpha)^(k * n),
#: about e^-(2k) for EMA (alpha = 2/(n+1)) and e^-k for Wilder (alpha = 1/n).
EMA_CONVERGENCE_PERIODS = 3
WILDER_CONVERGENCE_PERIODS = 5

_KEY = re.compile(r"^(?P<type>[a-z]+)(?:_(?P<numbers>\d+(?:_\d+)*))?_(?P<interval>[0-9]+[a-z])$")


class IndicatorSpecError(SpecError):
    """An indicator key or spec that is not valid; the message names it."""


class IndicatorSpec(BaseModel):
    """What to compute: a type, its period(s) and the interval of its bars."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: IndicatorType
    interval: Interval
    # strict: a YAML `period: true` is not the integer 1, and `20.0` or `"20"` is not what a file should say
    period: int | None = Field(default=None, ge=1, strict=True)
    fast: int | None = Field(default=None, ge=1, strict=True)
    slow: int | None = Field(default=None, ge=1, strict=True)
    signal: int | None = Field(default=None, ge=1, strict=True)

    @model_validator(mode="after")
    def _check_periods(self) -> Self:
        # Runs on every spec read from a log: the members are module globals here because looking
        # one up on its enum class costs as much as the rest of a check.
        if self.type is _MACD:
            if self.period is not None:
                raise ValueError("macd takes fast, slow and signal, not period")
            fast, slow, signal = self.fast or 12, self.slow or 26, self.signal or 9
            if fast >= slow:
                raise ValueError(f"macd fast ({fast}) must be shorter than slow ({slow})")
            object.__setattr__(self, "fast", fast)
            object.__setattr__(self, "slow", slow)
            object.__setattr__(self, "signal", signal)
            return self
        if self.fast is not None or self.slow is not None or self.signal is not None:
            raise ValueError(f"{self.type.value} takes no fast, slow or signal")
        if self.type is _VWAP:
            if self.period is not None:
                raise ValueError("vwap has no period: it resets at each session open")
            return self
        if self.period is None:
            raise ValueError(f"{self.type.value} needs a period")
        if self.type is _BOLLINGER and self.period < 2:
            raise ValueError("bollinger needs a period of at least 2")
        return self

    @property
    def key(self) -> str:
        if self.type is _MACD:
            return f"macd_{self.fast}_{self.slow}_{self.signal}_{self.interval.text}"
        if self.type is _VWAP:
            return f"vwap_{self.interval.text}"
        return f"{self.type._value_}_{self.period}_{self.interval.text}"

    @property
    def outputs(self) -> tuple[str, ...]:
        return INDICATOR_OUTPUTS[self.type]

    @property
    def column_names(self) -> tuple[str, ...]:
        """Columns in a bar table: `key` for one output, `key.output` for several."""
        if len(self.outputs) == 1:
            return (self.key,)
        return tuple(f"{self.key}.{name}" for name in self.outputs)

    def warmup_bars(self) -> int:
        """Bars of history the indicator needs before its value can be trusted.

        - SMA and Bollinger: exactly `period` bars; the value is a plain window.
        - EMA: seeded with the SMA of its first `period` bars, then smoothed
          with alpha = 2/(n+1); the seed's weight after k bars is (1-alpha)^k,
          so we ask for 3 x period bars (seed weight about e^-6 < 0.3%).
        - RSI and ATR: Wilder smoothing, alpha = 1/n, converges about twice as
          slowly as an EMA of the same period, and both need one extra bar
          for the first change (RSI) or the previous close (ATR): 5 x period + 1.
        - MACD: the slow EMA must converge (3 x slow) and then the signal EMA
          of the MACD line (3 x signal) on top of it.
        - VWAP: resets at each session open, so history cannot help: 1 bar.
        """
        if self.type in (IndicatorType.SMA, IndicatorType.BOLLINGER):
            return self._period
        if self.type is IndicatorType.EMA:
            return EMA_CONVERGENCE_PERIODS * self._period
        if self.type in (IndicatorType.RSI, IndicatorType.ATR):
            return WILDER_CONVERGENCE_PERIODS * self._period + 1
        if self.type is IndicatorType.MACD:
            assert self.slow is not None and self.signal is not None
            return EMA_CONVERGENCE_PERIODS * (self.slow + self.signal)
        if self.type is IndicatorType.VWAP:
            return 1
        raise IndicatorSpecError(f"indicator type {self.type!r} cannot state its warm-up")

    def first_value_index(self) -> int:
        """Index of the first bar at which the indicator has a value (TA-Lib's lookback)."""
        if self.type in (IndicatorType.SMA, IndicatorType.BOLLINGER, IndicatorType.EMA):
            return self._period - 1
        if self.type in (IndicatorType.RSI, IndicatorType.ATR):
            return self._period
        if self.type is IndicatorType.MACD:
            assert self.slow is not None and self.signal is not None
            return self.slow + self.signal - 2
        return 0

    @property
    def _period(self) -> int:
        assert self.period is not None
        return self.period

    @classmethod
    def parse_key(cls, key: str) -> IndicatorSpec:
        """The inverse of `key`: `sma_20_5m` → IndicatorSpec(sma, 20, 5m)."""
        match = _KEY.match(key.strip()) if isinstance(key, str) else None
        if match is None:
            raise IndicatorSpecError(
                f"invalid indicator key {key!r}: expected type_period_interval "
                "(sma_20_5m), macd_fast_slow_signal_interval or vwap_interval"
            )
        try:
            kind = IndicatorType(match.group("type"))
        except ValueError:
            known = ", ".join(t.value for t in IndicatorType)
            raise IndicatorSpecError(
                f"invalid indicator key {key!r}: unknown type {match.group('type')!r} (known: {known})"
            ) from None
        numbers = [int(n) for n in (match.group("numbers") or "").split("_") if n]
        try:
            interval = Interval(match.group("interval"))
            if kind is IndicatorType.MACD:
                if len(numbers) != 3:
                    raise IndicatorSpecError(f"invalid indicator key {key!r}: macd needs fast_slow_signal")
                return cls(type=kind, interval=interval, fast=numbers[0], slow=numbers[1], signal=numbers[2])
            if kind is IndicatorType.VWAP:
                if numbers:
                    raise IndicatorSpecError(f"invalid indicator key {key!r}: vwap has no period")
                return cls(type=kind, interval=interval)
            if len(numbers) != 1:
                raise IndicatorSpecError(f"invalid indicator key {key!r}: {kind.value} needs one period")
            return cls(type=kind, interval=interval, period=numbers[0])
        except (IntervalError, ValueError) as exc:
            if isinstance(exc, IndicatorSpecError):
                raise
            problem = one_line(exc) if isinstance(exc, ValidationError) else str(exc)
            raise IndicatorSpecError(f"invalid indicator key {key!r}: {problem}") from None

    def __str__(self) -> str:
        return self.key
