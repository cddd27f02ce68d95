"""The root of every error daytape raises on purpose, and the specs room's own.

Each room has one base under `DaytapeError` (`SpecError` here, `marketdata.errors.MarketDataError`,
`statemachine.errors.StatemachineError`, `eventlog.errors.EventLogError`, and the application's
`daytape.errors.UserError` and `CheckFailed`), so a caller can catch one room's errors, or all of
daytape's, without catching a bug's. It lives in `specs` because every room may import specs.
"""

from __future__ import annotations


class DaytapeError(Exception):
    """Base of every error daytape raises on purpose; its message says what is wrong and with what."""


class SpecError(DaytapeError, ValueError):
    """A value that is not a valid spec (an interval, an indicator key, ...). A ValueError too, so that
    pydantic reports it as a validation error of the field it was given for."""
