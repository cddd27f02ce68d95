"""Indicators (SMA, EMA, RSI, ATR, Bollinger, MACD, VWAP) in three agreeing forms: batch, one symbol, N symbols."""

from marketdata.indicators.base import BatchResult, ColumnarIndicator, Indicator, IndicatorError, State
from marketdata.indicators.registry import (
    INDICATORS,
    as_spec,
    compute,
    compute_columns,
    make_columnar,
    make_indicator,
)

__all__ = [
    "INDICATORS",
    "BatchResult",
    "ColumnarIndicator",
    "Indicator",
    "IndicatorError",
    "State",
    "as_spec",
    "compute",
    "compute_columns",
    "make_columnar",
    "make_indicator",
]
