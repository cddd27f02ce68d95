"""What can be asked and said: intervals, indicators, the session config, plans, events, lifecycle tables."""

from specs.config import HistoricalConfig, PluginRef, SessionConfig, normalize_symbol
from specs.indicators import IndicatorSpec, IndicatorSpecError, IndicatorType
from specs.intervals import Interval, IntervalError
from specs.plan import (
    Operation,
    ProvisioningRequirements,
    Request,
    Source,
    SymbolValidationResult,
)

__all__ = [
    "HistoricalConfig",
    "IndicatorSpec",
    "IndicatorSpecError",
    "IndicatorType",
    "Interval",
    "IntervalError",
    "Operation",
    "PluginRef",
    "ProvisioningRequirements",
    "Request",
    "SessionConfig",
    "Source",
    "SymbolValidationResult",
    "normalize_symbol",
]
