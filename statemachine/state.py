"""The session state of one day and the one function that changes it: `apply(event)`.

The live run and the replay of its log both go through `SessionState.apply`,
so a replay cannot disagree with the run that wrote it. The state holds
metadata only (what exists, counts, digests, quality, last indicator values);
the bar arrays live in the coordinator's runtime book.

The day's figures (counts, digests, flagged rows, quality, indicator values) are
as of the event that set them: while the day runs, as of the request that loaded
them; from SymbolStreamed on, the whole day's. What a plugin sees is the state
as of the clock's now (statemachine.asof), never these figures as they stand.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import ChainMap
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from specs import events as ev
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.lifecycle import (
    SESSION_INITIAL,
    SYMBOL_ADDING_PHASES,
    SYMBOL_INITIAL,
    SYMBOL_TEARDOWN_PHASES,
    symbol_trigger_for,
)
from specs.status import RequestStatus
from statemachine.errors import InvalidEvent
from statemachine.machines import fire_session, fire_symbol


@dataclass(slots=True)
class BarIntervalData:
    """One interval of a symbol: its bars' count and digest, bad rows, and its quality once calculated.

    Quality is counted in the interval's own bars: `expected` due, `present` built, `complete` built from every
    base bar of their slot (for a base interval, every present bar); `quality` = complete / expected, `gaps` the
    runs of bars with no base bar, `partial` the derived bars built from some but not all of theirs.
    """

    interval: Interval
    derived: bool
    base: Interval | None = None
    count: int = 0
    digest: str | None = None
    quality: float | None = None
    gaps: list[ev.Gap] = field(default_factory=list)
    flagged: dict[str, int] = field(default_factory=dict)
    expected: int | None = None
    present: int | None = None
    complete: int | None = None
    partial: list[ev.PartialBar] = field(default_factory=list)
    #: Whether the session's bars were loaded (SessionBarsLoaded); False while the interval is held for its
    #: history only (a history-only bar request).
    session: bool = False


@dataclass(slots=True)
class IndicatorData:
    """The seeds' IndicatorData: name, type, interval, current_value, last_updated, valid."""

    name: str
    type: str
    interval: Interval
    spec: IndicatorSpec
    warmup_bars: int = 0
    current_value: float | dict[str, float] | None = None
    last_updated: dt.datetime | None = None
    valid: bool = False


@dataclass(slots=True)
class HistoricalData:
    interval: Interval
    sessions: int
    start: dt.date | None
    end: dt.date | None
    rows: int
    digest: str


@dataclass(slots=True)
class QualityData:
    interval: Interval
    expected: int
    present: int
    quality: float
    gaps: list[ev.Gap]
    outside_session: int
    historical_quality: float | None
    historical_expected: int | None = None
    historical_present: int | None = None
    historical_gaps: int | None = None


@dataclass(slots=True)
class SymbolSessionData:
    """One symbol in one session day; `state` is its lifecycle state (adhoc or full).

    `histories` holds the history loaded per base interval; `historical` (the one exports show) is the
    history of the symbol's own base interval, or the first one loaded while there is none.
    """

    symbol: str
    base_interval: Interval
    state: str = SYMBOL_INITIAL
    meets_session_config_requirements: bool = False
    added_by: str = "config"
    auto_provisioned: bool = False
    added_at: dt.datetime | None = None
    upgraded_from_adhoc: bool = False
    bars: dict[str, BarIntervalData] = field(default_factory=dict)
    indicators: dict[str, IndicatorData] = field(default_factory=dict)
    historical: HistoricalData | None = None
    histories: dict[str, HistoricalData] = field(default_factory=dict)
    quality: QualityData | None = None
    requests: list[str] = field(default_factory=list)

    def clone(self) -> SymbolSessionData:
        """A copy that `apply` can change without touching this one (and far cheaper than a deepcopy): the
        objects `apply` changes in place (the bar and indicator entries, the dicts and the request list) are
        copied; the ones it only ever replaces (histories, quality, specs, gaps) are shared."""
        twin = copy.copy(self)
        twin.bars = {key: copy.copy(bars) for key, bars in self.bars.items()}
        twin.indicators = {key: copy.copy(indicator) for key, indicator in self.indicators.items()}
        twin.histories = dict(self.histories)
        twin.requests = list(self.requests)
        return twin


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    symbol: str | None
    operation: str
    source: str
    description: str
    status: RequestStatus = RequestStatus.RECEIVED
    steps: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass(slots=True)
class SessionState:
    """What one session day holds; changed only by `apply`."""

    session_date: dt.date | None = None
    #: the day's lifecycle phase (idle, tearing_down, loading, streaming, ended, failed, aborted)
    phase: str = SESSION_INITIAL
    open: dt.datetime | None = None
    close: dt.datetime | None = None
    early_close: bool = False
    config_symbols: list[str] = field(default_factory=list)
    symbols: dict[str, SymbolSessionData] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    requests: MutableMapping[str, RequestRecord] = field(default_factory=dict)
    failure: str | None = None
    sim_time: dt.datetime | None = None
    events_applied: int = 0
    #: what each plugin reported at the session's close (FiguresReported), by plugin
    plugin_figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def symbol_state(self, symbol: str) -> str:
        data = self.symbols.get(symbol)
        return data.state if data is not None else SYMBOL_INITIAL

    def apply(self, event: ev.EventBase) -> None:
        """Change the state by one event; raise InvalidEvent or IllegalTransition if it cannot apply."""
        handler = _HANDLERS.get(event.kind)
        if handler is None:
            raise InvalidEvent(f"unknown event kind {event.kind!r}")
        handler(self, event)
        if event.sim_time is not None:
            self.sim_time = event.sim_time
        self.events_applied += 1

    def apply_all(self, events: list[Any]) -> SessionState:
        for event in events:
            self.apply(event)
        return self

    def trial_copy(self, events: Iterable[ev.EventBase], changing: Iterable[str] = ()) -> SessionState:
        """A copy to try `events` on: applying them to it leaves this state as it is.

        Only what those events can change is copied (the symbols whose data they change, the requests they
        name, the small dicts that hold them; `config_symbols` is only ever replaced); everything else is
        shared, so a trial costs what the events touch, not the whole day. The day's requests (one per
        plugin call, thousands in a day) are not copied: the trial's new and changed ones lie over the
        shared dict until `settle`. `changing` names symbols that events still to come will change (a
        request's steps, applied as they run)."""
        symbols = {event.symbol for event in events if event.symbol and event.kind not in REQUEST_KINDS}
        symbols.update(changing)
        requests = {event.request_id for event in events if event.request_id}
        twin = copy.copy(self)
        twin.rejected = dict(self.rejected)
        twin.symbols = dict(self.symbols)
        for name in symbols & self.symbols.keys():
            twin.symbols[name] = self.symbols[name].clone()
        changed = {rid: copy.copy(self.requests[rid]) for rid in requests & self.requests.keys()}
        twin.requests = ChainMap(changed, self.requests)
        twin.plugin_figures = dict(self.plugin_figures)
        return twin

    def settle(self) -> SessionState:
        """This trial as a state of its own, once it has become the live one (its events are recorded):
        the requests it added or changed go into the dict it shares with the state it was copied from,
        which is not to be used after that."""
        if isinstance(self.requests, ChainMap):
            changed, shared = self.requests.maps
            shared.update(changed)
            self.requests = shared
        return self

    # --- helpers used by the handlers ------------------------------------

    def _symbol(self, event: ev.EventBase) -> SymbolSessionData:
        symbol = event.symbol
        data = self.symbols.get(symbol or "")
        if data is None:
            raise InvalidEvent(f"{symbol}: {event.kind} for a symbol that is absent")
        return data

    def _require_adding_phase(self, event: ev.EventBase) -> None:
        if self.phase not in SYMBOL_ADDING_PHASES:
            raise InvalidEvent(
                f"{event.symbol}: {event.kind} while the session is {self.phase}; "
                f"symbols can be added only while {' or '.join(SYMBOL_ADDING_PHASES)}"
            )

    def _request(self, event: ev.EventBase) -> RequestRecord | None:
        return self.requests.get(event.request_id or "")


def _session(state: SessionState, event: ev.EventBase) -> None:
    fire_session(state, event.kind, f"session {state.session_date or ''}".strip())


def _teardown_started(state: SessionState, event: ev.TeardownStarted) -> None:
    _session(state, event)
    state.session_date = event.session_date


def _loading_started(state: SessionState, event: ev.LoadingStarted) -> None:
    _session(state, event)
    if state.symbols:
        raise InvalidEvent(f"loading started with symbols left from before: {', '.join(sorted(state.symbols))}")
    state.session_date = event.session_date
    state.open, state.close, state.early_close = event.open, event.close, event.early_close
    state.config_symbols = list(event.config_symbols)
    state.rejected = {}
    state.plugin_figures = {}


def _figures_reported(state: SessionState, event: ev.FiguresReported) -> None:
    if state.phase != "streaming":
        raise InvalidEvent(
            f"FiguresReported by {event.plugin} while the session is {state.phase}; plugins report "
            "at the close, while streaming"
        )
    if event.plugin in state.plugin_figures:
        raise InvalidEvent(f"FiguresReported twice by {event.plugin} in one session")
    state.plugin_figures[event.plugin] = dict(event.figures)


def _feed_input(state: SessionState, event: ev.EventBase) -> None:
    """A live tape's input (a frame or a stream notice) changes no session state by itself: it is the record
    of what arrived, and the steps it feeds write their own events. It belongs to a day being loaded or
    streamed (the stream connects before the open and is stopped at the close)."""
    if state.phase not in ("loading", "streaming"):
        raise InvalidEvent(
            f"{event.kind} while the session is {state.phase}; feed input arrives while loading or streaming"
        )


def _bars_missing(state: SessionState, event: ev.BarsMissing) -> None:
    """A live step's missing bars: the record of the step's gaps, which quality as of now shows from the bars
    received (the book); it changes no state, and belongs to a streaming day."""
    if state.phase != "streaming":
        raise InvalidEvent(f"BarsMissing while the session is {state.phase}; a step's gaps belong to streaming")


def _session_failed(state: SessionState, event: ev.SessionFailed) -> None:
    _session(state, event)
    state.failure = event.reason


def _session_aborted(state: SessionState, event: ev.SessionAborted) -> None:
    _session(state, event)
    state.failure = event.error


def _request_received(state: SessionState, event: ev.RequestReceived) -> None:
    if not event.request_id:
        raise InvalidEvent("RequestReceived without a request_id")
    if event.request_id in state.requests:
        raise InvalidEvent(f"request {event.request_id} received twice")
    state.requests[event.request_id] = RequestRecord(
        request_id=event.request_id,
        symbol=event.symbol,
        operation=str(event.operation),
        source=str(event.source),
        description=event.description,
    )


def _request_status(status: RequestStatus, kind: type[ev.EventBase]) -> Callable[[SessionState, Any], None]:
    """The handler of `kind`, an event that moves its request to `status`.

    Which fields the kind has (`reason`, `error`, `steps`) is decided here, once: asking a pydantic
    model for a field its class lacks goes through its slow `__getattr__`.
    """
    reasons = tuple(name for name in ("reason", "error") if name in kind.model_fields)
    planned = issubclass(kind, ev.RequestPlanned)
    rejected = issubclass(kind, ev.SymbolRejected)

    def handler(state: SessionState, event: Any) -> None:
        record = state._request(event)
        if record is not None:
            record.status = status
            for name in reasons:
                reason = getattr(event, name)
                if reason:
                    record.reason = reason
                    break
            if planned:
                record.steps = list(event.steps)
        if rejected and event.symbol:
            state.rejected[event.symbol] = event.reason

    return handler


def _symbol_created(state: SessionState, event: ev.SymbolCreated) -> None:
    state._require_adding_phase(event)
    symbol = event.symbol or ""
    if symbol in state.symbols:
        raise InvalidEvent(f"{symbol}: created while it is {state.symbols[symbol].state}")
    data = SymbolSessionData(
        symbol=symbol,
        base_interval=event.base_interval,
        meets_session_config_requirements=event.meets_session_config_requirements,
        added_by=str(event.added_by),
        auto_provisioned=event.auto_provisioned,
        added_at=event.added_at,
        requests=[event.request_id] if event.request_id else [],
    )
    trigger = symbol_trigger_for(event.kind, event.mode)
    assert trigger is not None
    fire_symbol(data, trigger, symbol)
    state.symbols[symbol] = data
    state.rejected.pop(symbol, None)


def _symbol_upgraded(state: SessionState, event: ev.SymbolUpgraded) -> None:
    data = _extending(state, event)
    fire_symbol(data, "upgrade", data.symbol)
    data.meets_session_config_requirements = True
    data.upgraded_from_adhoc = True
    data.added_by = str(event.added_by)


def _symbol_torn_down(state: SessionState, event: ev.SymbolTornDown) -> None:
    if state.phase not in SYMBOL_TEARDOWN_PHASES:
        raise InvalidEvent(f"{event.symbol}: torn down while the session is {state.phase}, not tearing_down")
    data = state._symbol(event)
    fire_symbol(data, "tear_down", data.symbol)
    del state.symbols[data.symbol]


def _extending(state: SessionState, event: ev.EventBase) -> SymbolSessionData:
    """The symbol an event extends or upgrades, with the event's request noted on it.

    Most replayed events pass through here, so the checks are written out inline and the helpers
    are called only to raise."""
    if state.phase not in SYMBOL_ADDING_PHASES:
        state._require_adding_phase(event)
    data = state.symbols.get(event.symbol or "")
    if data is None:
        data = state._symbol(event)
    request_id = event.request_id
    if request_id:
        requests = data.requests
        if not requests or requests[-1] != request_id:
            requests.append(request_id)
    return data


def _interval_added(state: SessionState, event: ev.IntervalAdded) -> None:
    data = _extending(state, event)
    key = event.interval.text
    if key in data.bars:
        raise InvalidEvent(f"{data.symbol}: interval {key} added twice")
    data.bars[key] = BarIntervalData(interval=event.interval, derived=event.derived, base=event.base)


def _bars_of(data: SymbolSessionData, interval: Interval, kind: str) -> BarIntervalData:
    bars = data.bars.get(interval.text)
    if bars is None:
        raise InvalidEvent(f"{data.symbol}: {kind} for interval {interval}, which was never added")
    return bars


def _historical_loaded(state: SessionState, event: ev.HistoricalLoaded) -> None:
    data = _extending(state, event)
    _bars_of(data, event.interval, event.kind)
    if event.joined is None:
        record = HistoricalData(
            interval=event.interval,
            sessions=event.sessions,
            start=event.start,
            end=event.end,
            rows=event.rows,
            digest=event.digest,
        )
    else:
        record = _joined(data, event, event.joined)
    data.histories[event.interval.text] = record
    if data.historical is None or event.interval in (data.base_interval, data.historical.interval):
        data.historical = record


def _joined(data: SymbolSessionData, event: ev.HistoricalLoaded, joined: ev.JoinedHistory) -> HistoricalData:
    """The held history with the loaded sessions joined before it; InvalidEvent unless they add up."""
    held = data.histories.get(event.interval.text)
    where = f"{data.symbol}: {event.kind} of {event.interval} joins"
    if held is None or held.start is None:
        raise InvalidEvent(f"{where} a history that was never loaded")
    if event.end is None or event.end >= held.start or joined.start != event.start or joined.end != held.end:
        raise InvalidEvent(f"{where} {held.start}..{held.end} with {event.start}..{event.end}: not the sessions before")
    if (joined.sessions, joined.rows) != (held.sessions + event.sessions, held.rows + event.rows):
        raise InvalidEvent(
            f"{where} {held.sessions} held sessions ({held.rows} rows) with {event.sessions} ({event.rows}): "
            f"the joined history says {joined.sessions} ({joined.rows})"
        )
    return HistoricalData(
        interval=event.interval,
        sessions=joined.sessions,
        start=joined.start,
        end=joined.end,
        rows=joined.rows,
        digest=joined.digest,
    )


def _session_bars_loaded(state: SessionState, event: ev.SessionBarsLoaded) -> None:
    data = _extending(state, event)
    bars = _bars_of(data, event.interval, event.kind)
    bars.session = True
    bars.count = event.rows
    bars.digest = event.digest
    bars.flagged = dict(event.flagged)


def _indicator_registered(state: SessionState, event: ev.IndicatorRegistered) -> None:
    data = _extending(state, event)
    spec = event.indicator
    _bars_of(data, spec.interval, event.kind)
    key = spec.key
    if key in data.indicators:
        raise InvalidEvent(f"{data.symbol}: indicator {key} registered twice")
    data.indicators[key] = IndicatorData(
        name=key,
        type=str(spec.type),
        interval=spec.interval,
        spec=spec,
        warmup_bars=event.warmup_bars,
        current_value=event.current_value,
        last_updated=event.last_updated,
        valid=event.valid,
    )


def _quality_calculated(state: SessionState, event: ev.QualityCalculated) -> None:
    data = _extending(state, event)
    _set_quality(data, event, event.kind, event)
    _set_interval_quality(data, event.intervals, event.kind)


def _set_quality(
    data: SymbolSessionData,
    source: ev.QualityCalculated | ev.SessionQuality,
    kind: str,
    history: ev.QualityCalculated | QualityData | None,
) -> None:
    """The session quality of `source` on the symbol and on its interval's bars; the history's from `history`."""
    bars = _bars_of(data, source.interval, kind)
    bars.quality = source.quality
    bars.gaps = list(source.gaps)
    bars.expected, bars.present, bars.complete, bars.partial = source.expected, source.present, source.present, []
    data.quality = QualityData(
        interval=source.interval,
        expected=source.expected,
        present=source.present,
        quality=source.quality,
        gaps=list(source.gaps),
        outside_session=source.outside_session,
        historical_quality=None if history is None else history.historical_quality,
        historical_expected=None if history is None else history.historical_expected,
        historical_present=None if history is None else history.historical_present,
        historical_gaps=None if history is None else history.historical_gaps,
    )


def _set_interval_quality(data: SymbolSessionData, intervals: dict[str, ev.IntervalQuality], kind: str) -> None:
    """Each derived interval's quality on its bars."""
    for key, figures in intervals.items():
        bars = data.bars.get(key)
        if bars is None:
            raise InvalidEvent(f"{data.symbol}: {kind} gives the quality of interval {key}, which was never added")
        bars.quality, bars.gaps, bars.partial = figures.quality, list(figures.gaps), list(figures.partial)
        bars.expected, bars.present, bars.complete = figures.expected, figures.present, figures.complete


def _symbol_streamed(state: SessionState, event: ev.SymbolStreamed) -> None:
    data = state._symbol(event)
    if state.phase != "streaming":
        raise InvalidEvent(f"{data.symbol}: SymbolStreamed while the session is {state.phase}, not streaming")
    for interval, count in event.bars.items():
        if interval in data.bars:
            data.bars[interval].count = count
    for interval, digest in event.digests.items():
        if interval in data.bars:
            data.bars[interval].digest = digest
            data.bars[interval].flagged = dict(event.flagged.get(interval, {}))
    if event.quality is not None:
        _set_quality(data, event.quality, event.kind, data.quality)
    _set_interval_quality(data, event.intervals, event.kind)
    for key, value in event.indicators.items():
        indicator = data.indicators.get(key)
        if indicator is None:
            raise InvalidEvent(f"{data.symbol}: value for indicator {key}, which was never registered")
        indicator.current_value = value.current_value
        indicator.last_updated = value.last_updated
        indicator.valid = value.valid


#: The kinds whose handlers change only the request records and `rejected`, never a symbol's data: a
#: trial of them shares every symbol (a skipped or rejected request copies none).
REQUEST_KINDS = frozenset(
    {
        "RequestReceived",
        "RequestPlanned",
        "SymbolValidated",
        "SymbolRejected",
        "RequestSkipped",
        "RequestCompleted",
        "ProvisioningFailed",
    }
)

_HANDLERS: dict[str, Callable[[SessionState, Any], None]] = {
    "TeardownStarted": _teardown_started,
    "LoadingStarted": _loading_started,
    "StreamingStarted": _session,
    "SessionEnded": _session,
    "SessionFailed": _session_failed,
    "SessionAborted": _session_aborted,
    "RequestReceived": _request_received,
    "RequestPlanned": _request_status(RequestStatus.PLANNED, ev.RequestPlanned),
    "SymbolValidated": _request_status(RequestStatus.VALIDATED, ev.SymbolValidated),
    "SymbolRejected": _request_status(RequestStatus.REJECTED, ev.SymbolRejected),
    "RequestSkipped": _request_status(RequestStatus.SKIPPED, ev.RequestSkipped),
    "RequestCompleted": _request_status(RequestStatus.COMPLETED, ev.RequestCompleted),
    "ProvisioningFailed": _request_status(RequestStatus.FAILED, ev.ProvisioningFailed),
    "SymbolCreated": _symbol_created,
    "SymbolUpgraded": _symbol_upgraded,
    "SymbolTornDown": _symbol_torn_down,
    "IntervalAdded": _interval_added,
    "HistoricalLoaded": _historical_loaded,
    "SessionBarsLoaded": _session_bars_loaded,
    "IndicatorRegistered": _indicator_registered,
    "QualityCalculated": _quality_calculated,
    "SymbolStreamed": _symbol_streamed,
    "FiguresReported": _figures_reported,
    **dict.fromkeys((*ev.FRAME_EVENT_KINDS, *ev.NOTICE_EVENT_KINDS), _feed_input),
    "BarsMissing": _bars_missing,
}

assert set(_HANDLERS) == set(ev.EVENT_TYPES), "every event kind in specs needs exactly one case in apply"


def replay(events: list[Any]) -> SessionState:
    """A fresh state with every event applied in order."""
    return SessionState().apply_all(events)
