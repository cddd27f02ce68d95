"""Shared constants and helpers of the session tests (fixtures live in conftest.py)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel

from specs.config import SessionConfig
from specs.indicators import IndicatorSpec
from statemachine.coordinator import SessionCoordinator

#: The three sessions the seed flows run (Wednesday to Friday).
DAY1, DAY2, DAY3 = date(2013, 10, 9), date(2013, 10, 10), date(2013, 10, 11)
#: The generated store holds every session from here to DAY3.
STORE_START = date(2013, 9, 3)
STORE_SYMBOLS = ("AAPL", "MSFT", "TSLA", "IBM")
SEED = 20131009

SMA_20_5M = IndicatorSpec(type="sma", period=20, interval="5m")
RSI_14_1M = IndicatorSpec(type="rsi", period=14, interval="1m")


def seed_config(**changes: object) -> SessionConfig:
    """The seeds' session: AAPL and MSFT in full with 1m + 5m + 15m, 3 trailing sessions, SMA(20) 5m and RSI(14) 1m."""
    fields: dict[str, object] = {
        "name": "seed-flows",
        "start": DAY1,
        "end": DAY3,
        "symbols": ["AAPL", "MSFT"],
        "streams": ["1m"],
        "derived": ["5m", "15m"],
        "historical": {"enabled": True, "trailing_days": 3},
        "indicators": [SMA_20_5M.model_dump(exclude_none=True), RSI_14_1M.model_dump(exclude_none=True)],
        "warmup_multiplier": 2.0,
    }
    fields.update(changes)
    return SessionConfig.model_validate(fields)


def stream_until(coordinator: SessionCoordinator, minutes_after_open: int) -> None:
    """Step the clock through the base bars until `minutes_after_open` minutes after the open."""
    day = coordinator.state.session_date
    assert day is not None
    target = coordinator.calendar.open(day) + timedelta(minutes=minutes_after_open)
    for t in coordinator.step_times():
        if t > target:
            break
        if t > coordinator.clock.now():
            coordinator.advance_to(t)


def stream_to_close(coordinator: SessionCoordinator) -> None:
    for t in coordinator.step_times():
        if t > coordinator.clock.now():
            coordinator.advance_to(t)


def _array_bytes(value: Any) -> Any:
    """A book entry as plain values: every array by its dtype, shape and bytes, recursively."""
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.shape, value.tobytes())
    if isinstance(value, dict):
        return {key: _array_bytes(item) for key, item in sorted(value.items())}
    if isinstance(value, tuple | list):
        return [_array_bytes(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, {f.name: _array_bytes(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def book_values(coordinator: SessionCoordinator) -> dict[str, Any]:
    """Every symbol's book entry by value (bars, histories, indicator outputs, session times, flagged rows):
    a snapshot that compares equal only if the numbers are the same, whichever objects hold them."""
    book = coordinator.book
    return {symbol: _array_bytes(book.get(symbol)) for symbol in book.symbols()}
