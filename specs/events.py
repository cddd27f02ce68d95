"""Every event of a session day, as pydantic models.

Each event has a `kind` and a `schema_version`. The envelope fields
(`symbol`, `request_id`, `sim_time`) are also columns of the log so that
readers can filter without parsing payloads. An event is a fact: it says
what happened, never what to do.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.plan import Operation, Source, SymbolValidationResult


class EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    symbol: str | None = None
    request_id: str | None = None
    sim_time: dt.datetime | None = None


class Gap(BaseModel):
    """A run of missing base bars: first and last missing bar open times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: dt.datetime
    end: dt.datetime
    missing: int


# --- the session day --------------------------------------------------------


class TeardownStarted(EventBase):
    kind: Literal["TeardownStarted"] = "TeardownStarted"
    session_date: dt.date


class LoadingStarted(EventBase):
    kind: Literal["LoadingStarted"] = "LoadingStarted"
    session_date: dt.date
    open: dt.datetime
    close: dt.datetime
    early_close: bool = False
    config_symbols: list[str] = Field(default_factory=list)


class StreamingStarted(EventBase):
    kind: Literal["StreamingStarted"] = "StreamingStarted"
    symbols: list[str] = Field(default_factory=list)


class SessionEnded(EventBase):
    kind: Literal["SessionEnded"] = "SessionEnded"
    steps: int = 0
    symbols: dict[str, str] = Field(default_factory=dict)


class SessionFailed(EventBase):
    kind: Literal["SessionFailed"] = "SessionFailed"
    reason: str


class SessionAborted(EventBase):
    kind: Literal["SessionAborted"] = "SessionAborted"
    error: str


# --- requests -----------------------------------------------------------------


class RequestReceived(EventBase):
    """Who asked for what: the root every `explain` walks back to.

    Version 2 added `plugin`: the scanner or strategy class (`package.module:Class`) that asked;
    None for config requests and for version-1 payloads, which the log upcasts on read.
    """

    kind: Literal["RequestReceived"] = "RequestReceived"
    schema_version: int = 2
    operation: Operation
    source: Source
    interval: Interval | None = None
    days: int = 0
    indicator: IndicatorSpec | None = None
    description: str = ""
    plugin: str | None = None


class RequestPlanned(EventBase):
    kind: Literal["RequestPlanned"] = "RequestPlanned"
    steps: list[str] = Field(default_factory=list)
    target_state: str
    history_sessions: int = 0
    history_bars: int = 0
    reason: str = ""


class SymbolValidated(EventBase):
    kind: Literal["SymbolValidated"] = "SymbolValidated"
    result: SymbolValidationResult


class SymbolRejected(EventBase):
    """Validation failed: nothing was provisioned; the reason says why."""

    kind: Literal["SymbolRejected"] = "SymbolRejected"
    reason: str
    result: SymbolValidationResult | None = None


class RequestSkipped(EventBase):
    """A duplicate request: everything it asks for exists (a recorded no-op)."""

    kind: Literal["RequestSkipped"] = "RequestSkipped"
    reason: str


class RequestCompleted(EventBase):
    kind: Literal["RequestCompleted"] = "RequestCompleted"
    steps: int = 0


class ProvisioningFailed(EventBase):
    """A step raised: the symbol is as it was before the request."""

    kind: Literal["ProvisioningFailed"] = "ProvisioningFailed"
    step: str
    error: str
    completed_steps: list[str] = Field(default_factory=list)


# --- the symbol lifecycle ---------------------------------------------------


class SymbolCreated(EventBase):
    kind: Literal["SymbolCreated"] = "SymbolCreated"
    mode: Literal["adhoc", "full"]
    base_interval: Interval
    added_by: Source
    auto_provisioned: bool
    meets_session_config_requirements: bool
    added_at: dt.datetime | None = None


class SymbolUpgraded(EventBase):
    kind: Literal["SymbolUpgraded"] = "SymbolUpgraded"
    added_by: Source


class SymbolTornDown(EventBase):
    kind: Literal["SymbolTornDown"] = "SymbolTornDown"
    previous_state: str


class IntervalAdded(EventBase):
    kind: Literal["IntervalAdded"] = "IntervalAdded"
    interval: Interval
    derived: bool
    base: Interval | None = None


class HistoricalLoaded(EventBase):
    kind: Literal["HistoricalLoaded"] = "HistoricalLoaded"
    interval: Interval
    sessions: int
    start: dt.date | None = None
    end: dt.date | None = None
    rows: int
    digest: str = Field(description="sha256 of the loaded bars, to detect changed data on replay")


class SessionBarsLoaded(EventBase):
    """The session's bars of one interval, as they stood at `sim_time`: `rows`, `digest` and `flagged` cover
    the bars closed by then (none at the open), never a bar still to come; the whole day's figures are
    SymbolStreamed's, at the close."""

    kind: Literal["SessionBarsLoaded"] = "SessionBarsLoaded"
    interval: Interval
    rows: int
    digest: str
    flagged: dict[str, int] = Field(default_factory=dict)


class IndicatorRegistered(EventBase):
    kind: Literal["IndicatorRegistered"] = "IndicatorRegistered"
    indicator: IndicatorSpec
    warmup_bars: int
    bars_used: int = 0
    current_value: float | dict[str, float] | None = None
    last_updated: dt.datetime | None = None
    valid: bool = False


class QualityCalculated(EventBase):
    """The session's quality as it stood at `sim_time` (the bars due and closed by then; quality 1.0 before the
    first is due) and the history's; the whole session's figures are SymbolStreamed's, at the close."""

    kind: Literal["QualityCalculated"] = "QualityCalculated"
    interval: Interval
    expected: int
    present: int
    quality: float
    gaps: list[Gap] = Field(default_factory=list)
    outside_session: int = 0
    historical_quality: float | None = None


class IndicatorValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    current_value: float | dict[str, float] | None = None
    last_updated: dt.datetime | None = None
    valid: bool = False


class SessionQuality(BaseModel):
    """A base interval's quality over the whole session: QualityCalculated's figures, once the day is over."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval: Interval
    expected: int
    present: int
    quality: float
    gaps: list[Gap] = Field(default_factory=list)
    outside_session: int = 0


class SymbolStreamed(EventBase):
    """What the clock streamed for one symbol by the session's end: the whole day's figures.

    Per interval the bars' count and digest and the rows flagged as bad (with the rows the store recorded as
    written out of order); the session's quality for a symbol whose quality was calculated; each indicator's
    value at the close. Version 2 added `digests`, `flagged` and `quality`, which version 1 recorded at the
    load (a look-ahead: they were known before the bars closed).
    """

    kind: Literal["SymbolStreamed"] = "SymbolStreamed"
    schema_version: int = 2
    bars: dict[str, int] = Field(default_factory=dict)
    digests: dict[str, str] = Field(default_factory=dict)
    flagged: dict[str, dict[str, int]] = Field(default_factory=dict)
    quality: SessionQuality | None = None
    indicators: dict[str, IndicatorValue] = Field(default_factory=dict)


# --- what the plugins report ---------------------------------------------------

#: A figure a plugin reports: a number, a short text or a flag.
Figure = bool | int | float | str
MAX_FIGURES = 64
MAX_FIGURE_NAME = 64
MAX_FIGURE_TEXT = 200


class FiguresReported(EventBase):
    """What a plugin returned from `on_session_end`: a small dict of named figures (P&L, trades, a flag),
    recorded at the session's close before SessionEnded. `sweep-report` sums a run's numbers over its days
    and keeps the last day's texts and flags."""

    kind: Literal["FiguresReported"] = "FiguresReported"
    plugin: str = Field(min_length=1)
    figures: dict[str, Figure]

    @field_validator("figures")
    @classmethod
    def _small_and_finite(cls, figures: dict[str, Figure]) -> dict[str, Figure]:
        if len(figures) > MAX_FIGURES:
            raise ValueError(f"{len(figures)} figures; at most {MAX_FIGURES}")
        for name, value in figures.items():
            if not name or len(name) > MAX_FIGURE_NAME or not name.isprintable():
                raise ValueError(f"figure name {name!r}: expected 1 to {MAX_FIGURE_NAME} printable characters")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"figure {name}: {value} is not a finite number")
            if isinstance(value, str) and len(value) > MAX_FIGURE_TEXT:
                raise ValueError(f"figure {name}: text longer than {MAX_FIGURE_TEXT} characters")
        return figures


Event = Annotated[
    TeardownStarted
    | LoadingStarted
    | StreamingStarted
    | SessionEnded
    | SessionFailed
    | SessionAborted
    | RequestReceived
    | RequestPlanned
    | SymbolValidated
    | SymbolRejected
    | RequestSkipped
    | RequestCompleted
    | ProvisioningFailed
    | SymbolCreated
    | SymbolUpgraded
    | SymbolTornDown
    | IntervalAdded
    | HistoricalLoaded
    | SessionBarsLoaded
    | IndicatorRegistered
    | QualityCalculated
    | SymbolStreamed
    | FiguresReported,
    Field(discriminator="kind"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_TYPES: dict[str, type[EventBase]] = {
    cls.model_fields["kind"].default: cls
    for cls in (
        TeardownStarted,
        LoadingStarted,
        StreamingStarted,
        SessionEnded,
        SessionFailed,
        SessionAborted,
        RequestReceived,
        RequestPlanned,
        SymbolValidated,
        SymbolRejected,
        RequestSkipped,
        RequestCompleted,
        ProvisioningFailed,
        SymbolCreated,
        SymbolUpgraded,
        SymbolTornDown,
        IntervalAdded,
        HistoricalLoaded,
        SessionBarsLoaded,
        IndicatorRegistered,
        QualityCalculated,
        SymbolStreamed,
        FiguresReported,
    )
}

#: The current schema version of each kind; older payloads are upcast on read.
CURRENT_SCHEMA_VERSION: dict[str, int] = {
    kind: cls.model_fields["schema_version"].default for kind, cls in EVENT_TYPES.items()
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Validate a payload of the current schema version into its event model."""
    return EVENT_ADAPTER.validate_python(data)


def event_from_json(text: str | bytes) -> Event:
    return EVENT_ADAPTER.validate_json(text)
