"""The two forms every indicator has, and the state the first hands to the second.

- batch: numpy over a whole history, one array per output with NaN before the first value (TA-Lib's
  lookback, `IndicatorSpec.first_value_index`), plus the state the incremental form needs to carry on;
  the backtest computes a day's values this way;
- `Indicator`: one symbol, O(1) per bar, `update(o, h, l, c, v, ts)`: what a live session calls on each bar
  as it closes (`marketdata.incremental.LiveSeries`).

The state is a plain dict of numbers and small arrays with the same meaning in both forms, so an indicator
warmed by a batch over history continues bar by bar exactly where the batch stopped. `value` exists from the
first value index on; `ready` says the indicator has seen its
`warmup_bars()` and so has converged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.errors import MarketDataError
from specs.indicators import IndicatorSpec, IndicatorSpecError, IndicatorType

State = dict[str, Any]
Value = float | tuple[float, ...]


class IndicatorError(MarketDataError, ValueError):
    """An indicator that cannot be built or run (unknown type, no warm-up, missing calendar, bad state)."""


@dataclass(frozen=True)
class BatchResult:
    """A batch run: each output's values over the bars given, and the state after the last bar."""

    outputs: dict[str, np.ndarray]
    state: State

    def columns(self, spec: IndicatorSpec) -> dict[str, np.ndarray]:
        """The outputs under their table column names (`rsi_14_1m`, `bollinger_20_5m.upper`)."""
        return dict(zip(spec.column_names, (self.outputs[name] for name in spec.outputs), strict=True))


def warmup_of(spec: IndicatorSpec) -> int:
    """The spec's warm-up in bars; an indicator that cannot state it is an error, never skipped."""
    try:
        bars = spec.warmup_bars()
    except IndicatorSpecError as exc:
        raise IndicatorError(str(exc)) from None
    if not isinstance(bars, int) or bars < 1:
        raise IndicatorError(f"indicator {spec.key} states no usable warm-up ({bars!r})")
    return bars


class Indicator(ABC):
    """One symbol's indicator, updated bar by bar in O(1). A subclass that sets `kind` (its spec's type) in any
    module of this package is that type's implementation (the registry finds it); `batch` is its batch form."""

    kind: ClassVar[IndicatorType]
    batch: ClassVar[Callable[..., BatchResult]]

    def __init__(self, spec: IndicatorSpec, calendar: TradingCalendar | None = None) -> None:
        self.spec = spec
        self.outputs = spec.outputs
        self.warmup = warmup_of(spec)
        self.calendar = calendar
        self.count = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.key}, count={self.count})"

    @abstractmethod
    def update(self, open: float, high: float, low: float, close: float, volume: float, ts: Any = None) -> Value:
        """Fold in the bar that just closed; returns `value`."""

    @property
    @abstractmethod
    def value(self) -> Value:
        """The current value (a tuple in `outputs` order for several outputs); NaN before the first value."""

    @property
    def ready(self) -> bool:
        return self.count >= self.warmup

    @abstractmethod
    def state(self) -> State:
        """A copy of the state, in the form batch results share."""

    @abstractmethod
    def load_state(self, state: State) -> None:
        """Continue from `state` (from a batch run or another indicator)."""

    @classmethod
    def from_history(cls, spec: IndicatorSpec, bars: SessionBars, calendar: TradingCalendar | None = None) -> Indicator:
        """An indicator warmed by a batch run over `bars`, ready to continue with the next bar."""
        indicator = cls(spec, calendar)
        indicator.warm(bars)
        return indicator

    def warm(self, bars: SessionBars) -> BatchResult:
        """Run the batch over `bars` (the history before the first incremental bar) and take over its state."""
        if self.count:
            raise IndicatorError(f"{self.spec.key}: warm() starts a fresh indicator; this one has seen {self.count}")
        result = type(self).batch(self.spec, bars, self.calendar)
        self.load_state(result.state)
        return result
