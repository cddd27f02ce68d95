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
    SymbolStreamed's, at the close. In a live day it means "subscribed": the day's bars are the ones received,
    and `rows` those received (or, for a symbol added mid-session, fetched from history) by then."""

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


# --- the live tape: what the feed delivered, recorded before it can affect any state ----------------------
#
# Every frame that reaches daytape in a live session is an input event, appended to the day's stream with its
# arrival time on daytape's clock (`received_at`) and the frame's own fields, before the step it feeds runs.
# `verify` feeds these events back, at their recorded arrival times on a simulated clock, through the same live
# path. Correction policy (`BarUpdated`): an updated bar corrects the bar of its minute for every step after the
# one it arrives in; the steps that already ran keep what they saw (plugins are never re-run, a minute is never
# re-stepped, and no event already in the log changes). Each frame event carries the exchange's timestamp
# `ts` (a bar's open time), when daytape took it off the socket, `received_at` (daytape's clock), and the
# frame's own fields; `symbol` is required.


class FeedBar(EventBase):
    """The fields every bar frame of the tape carries (not an event kind of its own)."""

    symbol: str  # type: ignore[assignment]
    ts: dt.datetime
    received_at: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: float | None = None
    vwap: float | None = None


class BarReceived(FeedBar):
    """A minute bar (the stream's `b`): the bar of the minute opening at `ts`. `backfilled` marks a bar fetched
    from the REST history to fill a minute the stream missed while it was disconnected (FeedBackfilled)."""

    kind: Literal["BarReceived"] = "BarReceived"
    backfilled: bool = False


class BarUpdated(FeedBar):
    """An updated bar (the stream's `u`, ~30 s after its minute): late trades changed the minute at `ts`. It
    corrects that bar for the steps after it arrives; what plugins saw before stays what they saw."""

    kind: Literal["BarUpdated"] = "BarUpdated"


class DailyBarReceived(FeedBar):
    """A daily bar (the stream's `d`): the regular session so far, for information; it never feeds a step."""

    kind: Literal["DailyBarReceived"] = "DailyBarReceived"


class TradingStatusReceived(EventBase):
    """A trading status (the stream's `s`): a halt, a resumption, a LULD pause, as the exchange coded it."""

    kind: Literal["TradingStatusReceived"] = "TradingStatusReceived"
    symbol: str  # type: ignore[assignment]
    ts: dt.datetime
    received_at: dt.datetime
    status_code: str | None = None
    status_message: str | None = None
    reason_code: str | None = None
    reason_message: str | None = None
    tape: str | None = None


class FeedConnected(EventBase):
    """The stream connected and authenticated for the first time this session, on `feed`, subscribed to
    `symbols` (minute bars, updated bars, daily bars and statuses)."""

    kind: Literal["FeedConnected"] = "FeedConnected"
    at: dt.datetime
    feed: str = Field(min_length=1)
    symbols: list[str] = Field(default_factory=list)
    #: what the stream said of the connection (its URL; never a credential)
    detail: str = ""


class FeedDisconnected(EventBase):
    """The stream was lost: `reason` says how (`dropped`: the socket closed under us; `silent`: no frame for
    the silence timeout, so daytape closed it; `failed`: the stream gave up; `stopped`: daytape stopped it).
    The gap it leaves starts after `last_minute`, the open time of the last minute bar received (None if none
    was)."""

    kind: Literal["FeedDisconnected"] = "FeedDisconnected"
    at: dt.datetime
    reason: Literal["dropped", "silent", "failed", "stopped"]
    detail: str = ""
    last_minute: dt.datetime | None = None


class FeedReconnected(EventBase):
    """The stream is back and subscribed again. `missed_start`..`missed_end` (bar open times, inclusive) are
    the `missed_minutes` minutes it missed while down (0 and None when none closed meanwhile); `policy` says
    what is done about them: `backfill` (fetched from the REST history, FeedBackfilled follows) or `gap` (left
    as gaps, visible in quality)."""

    kind: Literal["FeedReconnected"] = "FeedReconnected"
    at: dt.datetime
    detail: str = ""
    missed_start: dt.datetime | None = None
    missed_end: dt.datetime | None = None
    missed_minutes: int = Field(default=0, ge=0)
    policy: Literal["backfill", "gap"] = "backfill"


class FeedBackfilled(EventBase):
    """The minutes `start`..`end` (bar open times, inclusive) that the stream missed were fetched from the
    REST history: `bars` bars over `minutes` minutes, each recorded after this as a BarReceived with
    `backfilled` set."""

    kind: Literal["FeedBackfilled"] = "FeedBackfilled"
    at: dt.datetime
    start: dt.datetime
    end: dt.datetime
    minutes: int = Field(ge=0)
    bars: int = Field(ge=0)


class FeedSubscribed(EventBase):
    """The stream was subscribed to `symbols` (for `kinds`) mid-session: symbols a plugin added. `at` is the
    clock's reading then, from which minute the day expects their bars (the first subscription is said by
    FeedConnected)."""

    kind: Literal["FeedSubscribed"] = "FeedSubscribed"
    at: dt.datetime
    symbols: list[str] = Field(min_length=1)
    kinds: list[Literal["bar", "updated_bar", "daily_bar", "status"]] = Field(min_length=1)


class BarsMissing(EventBase):
    """Minute `minute`'s step (a live day's, run at this event's sim_time) had no bar of `symbols`, each
    subscribed for that minute: none had arrived by the grace deadline. Quality as of now shows each as a gap
    of the minute; a late bar for one of them (a BarReceived after this) fills it for the steps after."""

    kind: Literal["BarsMissing"] = "BarsMissing"
    minute: dt.datetime
    symbols: list[str] = Field(min_length=1)


#: The kinds of the live tape's input events, frames first, then the stream's notices.
FRAME_EVENT_KINDS: tuple[str, ...] = ("BarReceived", "BarUpdated", "DailyBarReceived", "TradingStatusReceived")
NOTICE_EVENT_KINDS: tuple[str, ...] = (
    "FeedConnected",
    "FeedDisconnected",
    "FeedReconnected",
    "FeedBackfilled",
    "FeedSubscribed",
)


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
    | FiguresReported
    | BarReceived
    | BarUpdated
    | DailyBarReceived
    | TradingStatusReceived
    | FeedConnected
    | FeedDisconnected
    | FeedReconnected
    | FeedBackfilled
    | FeedSubscribed
    | BarsMissing,
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
