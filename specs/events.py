"""Every event of a session day, as pydantic models.

Each event has a `kind` and a `schema_version`. The envelope fields
(`symbol`, `request_id`, `sim_time`) are also columns of the log so that
readers can filter without parsing payloads. An event is a fact: it says
what happened, never what to do.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.plan import BarScope, Operation, Source, SymbolValidationResult


class EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Which event this is: each event class narrows it to the Literal of its own name, the
    #: discriminator of `Event`.
    kind: str
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


class PartialBar(BaseModel):
    """A derived bar built from fewer base bars than its slot holds: its open time, base bars due and present."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: dt.datetime
    expected: int
    present: int

    @property
    def missing(self) -> int:
        return self.expected - self.present


class IntervalQuality(BaseModel):
    """A derived interval's quality, counted in its own bars: `expected` due, `present` built (at least one base
    bar), `complete` built from every base bar of their slot; quality = complete / expected. `gaps` are runs of
    bars with no base bar at all, `partial` the bars built from some but not all of theirs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expected: int
    present: int
    complete: int
    quality: float
    gaps: list[Gap] = Field(default_factory=list)
    partial: list[PartialBar] = Field(default_factory=list)


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
    Version 3 added `scope`: what a bar request provisions (history and session bars, history only or session
    bars only); None for symbol and indicator requests. Older bar requests were all `both`.
    """

    kind: Literal["RequestReceived"] = "RequestReceived"
    schema_version: int = 3
    operation: Operation
    source: Source
    interval: Interval | None = None
    days: int = 0
    indicator: IndicatorSpec | None = None
    description: str = ""
    plugin: str | None = None
    scope: BarScope | None = None


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


class JoinedHistory(BaseModel):
    """The whole history of an interval once a load has joined the sessions it added to the ones held."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sessions: int
    start: dt.date
    end: dt.date
    rows: int
    digest: str


class HistoricalLoaded(EventBase):
    """History of a base interval loaded from the store: `sessions` (`start`..`end`), `rows` and `digest` cover
    the sessions this load read, and only those.

    Version 2 added `joined`: when the symbol already held history of the interval (an adhoc symbol upgraded to
    full, a request for a longer history), the load reads only the missing sessions before the held ones, and
    `joined` is the whole history after the join; None for a load from nothing (every version-1 load).
    """

    kind: Literal["HistoricalLoaded"] = "HistoricalLoaded"
    schema_version: int = 2
    interval: Interval
    sessions: int
    start: dt.date | None = None
    end: dt.date | None = None
    rows: int
    digest: str = Field(description="sha256 of the loaded bars, to detect changed data on replay")
    joined: JoinedHistory | None = None


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
    first is due) and the history's; the whole session's figures are SymbolStreamed's, at the close.

    Version 2 added the history's `historical_expected` and `historical_present` base bars and its gap count
    (`historical_gaps`), and `intervals`: the quality of each interval derived from this base interval as of
    `sim_time`. Version-1 payloads read with those unknown (None) and no derived intervals.
    """

    kind: Literal["QualityCalculated"] = "QualityCalculated"
    schema_version: int = 2
    interval: Interval
    expected: int
    present: int
    quality: float
    gaps: list[Gap] = Field(default_factory=list)
    outside_session: int = 0
    historical_quality: float | None = None
    historical_expected: int | None = None
    historical_present: int | None = None
    historical_gaps: int | None = None
    intervals: dict[str, IntervalQuality] = Field(default_factory=dict)


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
    load (a look-ahead: they were known before the bars closed). Version 3 added `intervals`: the whole
    session's quality of each interval derived from the quality's base interval.
    """

    kind: Literal["SymbolStreamed"] = "SymbolStreamed"
    schema_version: int = 3
    bars: dict[str, int] = Field(default_factory=dict)
    digests: dict[str, str] = Field(default_factory=dict)
    flagged: dict[str, dict[str, int]] = Field(default_factory=dict)
    quality: SessionQuality | None = None
    intervals: dict[str, IntervalQuality] = Field(default_factory=dict)
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


#: Every event kind, the one list: adding a class here is adding a kind. Everything else that knows the
#: kinds (EVENT_TYPES, EVENT_KINDS, the schema versions, the state's `apply`, the upcasters, explain) is
#: derived from it or checked against it by the tests.
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

#: Each kind's class, in the order `Event` lists them.
EVENT_TYPES: dict[str, type[EventBase]] = {
    cls.model_fields["kind"].default: cls for cls in get_args(get_args(Event)[0])
}

#: Every kind's name, in the order `Event` lists them.
EVENT_KINDS: tuple[str, ...] = tuple(EVENT_TYPES)

#: The current schema version of each kind; older payloads are upcast on read.
CURRENT_SCHEMA_VERSION: dict[str, int] = {
    kind: cls.model_fields["schema_version"].default for kind, cls in EVENT_TYPES.items()
}
