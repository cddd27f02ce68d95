"""From an IndicatorSpec (or its key) to the indicator in the form asked for: batch or incremental.

An unknown type, or a spec that cannot state its warm-up, raises IndicatorError: an indicator is never
silently skipped.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from marketdata.bars import SessionBars
from marketdata.calendar import TradingCalendar
from marketdata.indicators.base import BatchResult, Indicator, IndicatorError, warmup_of
from specs.indicators import IndicatorSpec, IndicatorSpecError, IndicatorType


def _discover() -> dict[IndicatorType, type[Indicator]]:
    """Every `Indicator` subclass that names its `kind`, from the modules of this package: an indicator is one
    module (its batch function and its incremental class), added without touching this one."""
    package = importlib.import_module("marketdata.indicators")
    found: dict[IndicatorType, type[Indicator]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Indicator) and "kind" in vars(value):
                if value.kind in found and found[value.kind] is not value:
                    raise IndicatorError(f"indicator type {value.kind.value!r} has two implementations")
                found[value.kind] = value
    return found


#: Each type's incremental class (which carries the batch form as `batch`).
INDICATORS: dict[IndicatorType, type[Indicator]] = _discover()


def as_spec(spec: IndicatorSpec | str) -> IndicatorSpec:
    """A spec from a spec or a key (`rsi_14_1m`); IndicatorError naming the key when it is not one."""
    if isinstance(spec, IndicatorSpec):
        return spec
    try:
        return _parse_key(spec)
    except IndicatorSpecError as exc:
        raise IndicatorError(str(exc)) from None


@lru_cache(maxsize=256)
def _parse_key(key: str) -> IndicatorSpec:
    """Specs are frozen, so one parsed spec per key serves every call (parsing costs as much as a short batch)."""
    return IndicatorSpec.parse_key(key)


def _class_of(spec: IndicatorSpec) -> type[Indicator]:
    found = INDICATORS.get(spec.type)
    if found is None:
        known = ", ".join(t.value for t in INDICATORS)
        raise IndicatorError(f"indicator type {spec.type!r} has no implementation (known: {known})")
    warmup_of(spec)
    return found


def make_indicator(
    spec: IndicatorSpec | str, calendar: TradingCalendar | None = None, history: SessionBars | None = None
) -> Indicator:
    """The one-symbol incremental indicator of `spec` (VWAP uses `calendar`, XNYS when not given), warmed by a
    batch run over `history` when given, so that its next update is the bar after the history."""
    spec = as_spec(spec)
    indicator = _class_of(spec)(spec, calendar)
    if history is not None:
        indicator.warm(history)
    return indicator


def compute(spec: IndicatorSpec | str, bars: SessionBars, calendar: TradingCalendar | None = None) -> BatchResult:
    """The batch form over `bars`: each output's values (NaN before the first) and the final state."""
    spec = as_spec(spec)
    return _class_of(spec).batch(spec, bars, calendar)


def compute_columns(
    specs: Iterable[IndicatorSpec | str], bars: SessionBars, calendar: TradingCalendar | None = None
) -> dict[str, np.ndarray]:
    """Every output of every spec over `bars`, under its column name (`sma_20_5m`, `macd_12_26_9_5m.hist`)."""
    columns: dict[str, np.ndarray] = {}
    for item in specs:
        spec = as_spec(item)
        columns.update(compute(spec, bars, calendar).columns(spec))
    return columns
