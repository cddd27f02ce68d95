"""Where bars come from: the `BarSource` protocol and its implementations (the run's cache over the Parquet store).

A new source (the live feed) is one module here that implements `BarSource`; the state machine reaches bars
only through the protocol.
"""

from marketdata.sources.base import BarSource, MissingBarsError, StoredDay

__all__ = ["BarSource", "MissingBarsError", "StoredDay"]
