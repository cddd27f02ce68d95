"""Each event kind's number in the log's `kind` column (a small integer where the name took 16 bytes a row).

The numbers are fixed forever: a new kind is added at the end of `KIND_NAMES` and never moves; every
kind of `specs.events` must have one (tests/eventlog/test_event_kinds.py checks it).
"""

from __future__ import annotations

from eventlog.errors import PayloadError

#: Kind names by number, from 1.
KIND_NAMES: tuple[str, ...] = (
    "TeardownStarted",
    "LoadingStarted",
    "StreamingStarted",
    "SessionEnded",
    "SessionFailed",
    "SessionAborted",
    "RequestReceived",
    "RequestPlanned",
    "SymbolValidated",
    "SymbolRejected",
    "RequestSkipped",
    "RequestCompleted",
    "ProvisioningFailed",
    "SymbolCreated",
    "SymbolUpgraded",
    "SymbolTornDown",
    "IntervalAdded",
    "HistoricalLoaded",
    "SessionBarsLoaded",
    "IndicatorRegistered",
    "QualityCalculated",
    "SymbolStreamed",
    "FiguresReported",
    "BarReceived",
    "BarUpdated",
    "DailyBarReceived",
    "TradingStatusReceived",
    "FeedConnected",
    "FeedDisconnected",
    "FeedReconnected",
    "FeedBackfilled",
    "BarsMissing",
    "FeedSubscribed",
)

KIND_CODES: dict[str, int] = {name: code for code, name in enumerate(KIND_NAMES, start=1)}
_NAMES: dict[int, str] = {code: name for name, code in KIND_CODES.items()}


def kind_code(name: str) -> int:
    """The number of a kind; PayloadError for a kind the log has no number for."""
    try:
        return KIND_CODES[name]
    except KeyError:
        raise PayloadError(
            f"event kind {name!r} has no number in eventlog.kinds.KIND_NAMES: add it at the end"
        ) from None


def kind_name(code: int) -> str:
    """The name of a stored kind number ('?<n>' for a number this daytape does not know)."""
    return _NAMES.get(code, f"?{code}")
