"""What can be asked and said: intervals, indicators, the session config, plans, events, lifecycle tables.

The names below are loaded on first use (PEP 562), so that importing one light module such as
`specs.intervals` does not build every pydantic model (CLI start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specs.config import HistoricalConfig, PluginRef, SessionConfig, normalize_symbol
    from specs.errors import DaytapeError, SpecError
    from specs.indicators import IndicatorSpec, IndicatorSpecError, IndicatorType
    from specs.intervals import Interval, IntervalError
    from specs.plan import (
        Operation,
        ProvisioningRequirements,
        Request,
        Source,
        SymbolValidationResult,
    )

_MODULE_OF = {
    "HistoricalConfig": "specs.config",
    "PluginRef": "specs.config",
    "SessionConfig": "specs.config",
    "normalize_symbol": "specs.config",
    "DaytapeError": "specs.errors",
    "SpecError": "specs.errors",
    "IndicatorSpec": "specs.indicators",
    "IndicatorSpecError": "specs.indicators",
    "IndicatorType": "specs.indicators",
    "Interval": "specs.intervals",
    "IntervalError": "specs.intervals",
    "Operation": "specs.plan",
    "ProvisioningRequirements": "specs.plan",
    "Request": "specs.plan",
    "Source": "specs.plan",
    "SymbolValidationResult": "specs.plan",
}

__all__ = [
    "DaytapeError",
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
    "SpecError",
    "SymbolValidationResult",
    "normalize_symbol",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'specs' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
