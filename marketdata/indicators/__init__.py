"""Indicators (SMA, EMA, RSI, ATR, Bollinger, MACD, VWAP) in two agreeing forms: batch and incremental."""

from marketdata.indicators.base import BatchResult, Indicator, IndicatorError, State
from marketdata.indicators.registry import (
    INDICATORS,
    as_spec,
    compute,
    compute_columns,
    make_indicator,
)

__all__ = [
    "INDICATORS",
    "BatchResult",
    "Indicator",
    "IndicatorError",
    "State",
    "as_spec",
    "compute",
    "compute_columns",
    "make_indicator",
]
