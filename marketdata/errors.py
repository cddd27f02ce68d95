"""The market room's errors. Each one carries the facts the user needs to act: the date, the file, the line."""

from __future__ import annotations

from specs.errors import DaytapeError


class MarketDataError(DaytapeError):
    """Base of every error raised by `marketdata`."""


class CalendarError(MarketDataError, ValueError):
    """An unknown exchange, a date outside the calendar's range, or a date that is not a session."""


class CorruptDataError(MarketDataError):
    """A stored Parquet file that cannot be read or does not hold bars; the message starts with its path."""


class DataImportError(MarketDataError, ValueError):
    """An import source that cannot be read; the message names the file (and the line when there is one)."""


class UnknownSymbolError(MarketDataError, LookupError):
    """A symbol the store holds no bars for."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


class BarDataError(MarketDataError, ValueError):
    """Bars that cannot be derived as given (unsorted, mismatched columns, an interval that has no derivation)."""
