"""One live session day through the backtest's coordinator: the open as in a backtest, then steps from the feed.

    open_day (teardown, load the config symbols: history from `feed.history`, the day's bars from the live
    bar source, empty at the open), StreamingStarted, then one loop on the stream's queue until the minute gate
    has stepped the close:
      a frame   → its tape event recorded (coordinator.record_inputs) → minute bars offered to the gate
      a notice  → its tape event recorded (FeedConnected, FeedDisconnected, FeedReconnected); after a
                  reconnection that missed minutes, with `missed_minutes: backfill`, those minutes fetched from
                  the REST history, recorded (FeedBackfilled and the bars) and offered to the gate (late
                  inputs for minutes that have stepped); with `gap` they stay gaps, as FeedReconnected says
      a timeout → the gate advanced to the clock's now (steps released by their grace deadline)
      each Step → the step's bars held by the live bar source and appended to the book (LiveBook: derived
                  bars and indicators incrementally), its gaps recorded (BarsMissing), then
                  SessionSteps.step(step.at): the session clock to the step's time, the plugins' on_step;
                  then the symbols the plugins added are subscribed on the stream, recorded at the clock's
                  reading (FeedSubscribed), and added to the gate from that time
      a LateInput → the held bar corrected (a late bar fills its gap, an updated bar replaces it); the
                  symbol's book is rebuilt from the corrected bars before the next step
    then every symbol unsubscribed, the stream stopped (its notice recorded), the book settled in batch (so the
    day's figures are the batch path's over the received bars), on_session_end, SessionEnded and the teardown,
    and the received bars added to the Parquet store (`record_received`: the store's rows never change).

A frame is recorded before the gate sees it, so every step's bars precede the step's events in the day's
stream. The loop's arrival times never go back: a frame or notice stamped before the gate's time (the
stream's thread stamped it while the loop was advancing) is recorded (and offered) at the gate's time. An
item that arrived at or after the gate's next release (the loop was busy when it came) waits for that
release to run first: which comes first, a step or an input, follows from the recorded arrival times alone,
so `verify` (daytape.live.replayfeed) re-runs the day from its tape to the same events.

Threads: the stream runs on its own thread and only fills the queue; this loop is the one thread that reads
it, moves the gate, holds bars and grows the book. A plugin may call the coordinator from another thread
(the coordinator's lock, the bar source's lock): a symbol it adds is provisioned at once, and subscribed on
the stream and the gate by the loop after the next step, its minutes in between caught up from history.

This module lives beside daytape.day, not in daytape.live (whose pieces read frames only and know no
coordinator or log, an import-linter contract).
"""

from __future__ import annotations

import datetime as dt
import queue
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from daytape.day import DayResult, SessionSteps, build_plugins, day_result, open_day
from daytape.errors import UserError
from daytape.live.gate import LateInput, MinuteGate, Step
from daytape.live.replayfeed import item_arrival
from daytape.live.tape import TapeEvent, TapeRecorder
from daytape.plugins import Plugin
from eventlog.errors import LogWriteFailed
from marketdata.calendar import get_calendar
from marketdata.clock import SimulatedClock
from marketdata.live.errors import LiveFeedError
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice
from marketdata.sources import BarSource
from marketdata.sources.live import LiveBarSource, Row, record_received, store_earlier
from marketdata.sources.rest import MinuteFetch, RestBarSource, rest_earlier
from marketdata.store import BarStore
from specs.config import SessionConfig
from specs.events import FeedReconnected
from specs.lifecycle import SessionPhase
from specs.status import DayStatus
from statemachine.coordinator import SessionCoordinator
from statemachine.livebook import LiveBook
from statemachine.sink import EventSink

#: the stream kinds a live day subscribes: minute bars, their corrections, daily bars and trading statuses
LIVE_KINDS: tuple[FrameKind, ...] = ("bar", "updated_bar", "daily_bar", "status")
#: how long (real seconds) the day waits for the stream's first word after subscribing
FIRST_ITEM_SECONDS = 30.0
MINUTE = dt.timedelta(minutes=1)
#: the most tape events appended at once (frames queued together, see LiveDay._take_queued)
MAX_BATCH = 5_000
#: how long (real seconds) frames held for the tape wait for more before they are appended without a release
COALESCE_SECONDS = 0.02


class PacedClock(Protocol):
    """daytape's clock in a live day: `now()` stamps arrivals; `seconds_until(t)` is how long to wait for t."""

    def now(self) -> dt.datetime: ...

    def seconds_until(self, t: dt.datetime) -> float: ...


class LiveFeed(Protocol):
    """What a live day needs of the stream (marketdata.live.alpaca_stream.AlpacaLiveStream)."""

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None: ...

    def unsubscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None: ...

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice: ...

    def backfill(self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime) -> list[LiveFrame]: ...

    def stop(self, timeout: float = 10.0) -> None: ...


class LiveDay:
    """The loop of one live day (see the module docstring); `run()` returns when the close has stepped."""

    def __init__(
        self,
        coordinator: SessionCoordinator,
        steps: SessionSteps,
        feed: LiveFeed,
        clock: PacedClock,
        source: LiveBarSource | None = None,
    ) -> None:
        config = coordinator.config.live_feed
        day = coordinator.state.session_date
        assert day is not None
        open_, close = coordinator.calendar.open(day), coordinator.calendar.close(day)
        self.coordinator, self.steps, self.feed, self.clock = coordinator, steps, feed, clock
        self.symbols = sorted(coordinator.state.symbols)
        self.gate: MinuteGate[LiveFrame] = MinuteGate(
            self.symbols, open_, close, dt.timedelta(seconds=config.grace_seconds)
        )
        self.recorder = TapeRecorder(config.feed, config.missed_minutes, open_, close)
        if source is None:
            if not isinstance(coordinator.store, LiveBarSource):
                raise TypeError("a live day's coordinator reads a LiveBarSource (run_live_day builds one)")
            source = coordinator.store
        self.source, self.book = source, LiveBook(coordinator, source)
        for symbol in self.symbols:
            source.hold(symbol)
        #: symbols whose held bars a late input changed since the last step
        self._corrected: set[str] = set()

    def run(self) -> None:
        self.feed.subscribe(self.symbols, LIVE_KINDS)
        try:  # the first item (the `connected` notice) is the first reading of a rehearsal's clock
            first = self.feed.get(timeout=FIRST_ITEM_SECONDS)
        except queue.Empty:
            raise UserError(f"live feed: nothing came from the stream in {FIRST_ITEM_SECONDS:g} s") from None
        self._take(first)
        if not (isinstance(first, StreamNotice) and first.kind == "connected"):
            said = first.detail if isinstance(first, StreamNotice) else f"a {first.kind} frame before connecting"
            raise UserError(f"live feed: the stream did not connect ({said})")
        waiting: LiveFrame | StreamNotice | None = None
        while not self.gate.done:
            release = self.gate.next_release()
            assert release is not None
            if waiting is None:
                try:
                    waiting = self.feed.get(timeout=self.clock.seconds_until(release))
                except queue.Empty:
                    self._run(self.gate.advance(self._monotone(self.clock.now())))
                    continue
            if self._monotone(item_arrival(waiting)) >= release:
                self._run(self.gate.advance(release))  # it came once the release was due: the release first
                continue
            waiting = self._take_queued(waiting)
        self.feed.unsubscribe(sorted(self.gate.symbols), LIVE_KINDS)
        self.feed.stop()
        self._drain(waiting)
        self.source.through = self.gate.close
        self.book.settle()

    def _monotone(self, t: dt.datetime) -> dt.datetime:
        return t if self.gate.now is None or t >= self.gate.now else self.gate.now

    def _take_queued(self, item: LiveFrame | StreamNotice) -> LiveFrame | StreamNotice | None:
        """`item` and the frames queued behind it, as `_take` would take them one by one, but appended in
        batches: each batch ends with the frame on which the gate releases something (or before a notice, or
        when no frame has come for COALESCE_SECONDS), and is appended before that release runs. The day's
        stream is the same, event for event; a minute of the whole market costs a few appends, not one a frame.
        An item that arrived once the gate's next release was due is handed back: the release runs first."""
        pending: list[TapeEvent] = []
        while True:
            if isinstance(item, StreamNotice):
                self._record(pending)
                self._take(item)
            else:
                at = self._monotone(item.received_at)
                frame = item if at is item.received_at else replace(item, received_at=at)
                pending.append(self.recorder.frame(frame))
                if frame.kind in ("bar", "updated_bar") and (released := self.gate.offer(frame)):
                    self._record(pending)
                    self._run(released)
            if self.gate.done or len(pending) >= MAX_BATCH:
                break
            try:
                item = self.feed.get(timeout=0)
            except queue.Empty:
                release = self.gate.next_release()
                if not pending or release is None:
                    break
                try:  # a burst (a minute of the market) is appended in a few batches, not frame by frame
                    item = self.feed.get(timeout=min(COALESCE_SECONDS, self.clock.seconds_until(release)))
                except queue.Empty:
                    break
            release = self.gate.next_release()
            if release is not None and self._monotone(item_arrival(item)) >= release:
                self._record(pending)
                return item
        self._record(pending)
        return None

    def _record(self, pending: list[TapeEvent]) -> None:
        if pending:
            self.coordinator.record_inputs(pending)
            pending.clear()

    def _take(self, item: LiveFrame | StreamNotice) -> None:
        if isinstance(item, LiveFrame):
            frame = replace(item, received_at=self._monotone(item.received_at))
            self.coordinator.record_inputs([self.recorder.frame(frame)])
            if frame.kind in ("bar", "updated_bar"):
                self._run(self.gate.offer(frame))
            return
        item = replace(item, at=self._monotone(item.at))
        event = self.recorder.notice(item, self.symbols)
        self.coordinator.record_inputs([event])
        if item.kind == "failed":
            error = item.error if item.error is not None else LiveFeedError(item.detail or "the stream failed")
            raise UserError(f"live feed: {error}")
        if isinstance(event, FeedReconnected) and event.policy == "backfill" and event.missed_minutes:
            assert event.missed_start is not None and event.missed_end is not None
            self._backfill(event.missed_start, event.missed_end)

    def _backfill(self, start: dt.datetime, end: dt.datetime) -> None:
        """The missed minutes start..end (inclusive) from REST: on the tape, then through the gate."""
        try:
            frames = self.feed.backfill(self.symbols, start, end + MINUTE)
        except LiveFeedError as exc:
            raise UserError(f"live feed: backfill of {start:%H:%M}..{end:%H:%M} UTC: {exc}") from None
        at = self._monotone(self.clock.now())
        frames = [replace(frame, received_at=at) for frame in frames]
        self.coordinator.record_inputs(self.recorder.backfilled(at, start, end, frames))
        for frame in frames:
            self._run(self.gate.offer(frame))

    def _drain(self, first: LiveFrame | StreamNotice | None = None) -> None:
        """What the stream queued up to its stop (the frames after the close, its `stopped` notice): on the tape."""
        item = first
        while True:
            if item is None:
                try:
                    item = self.feed.get(timeout=0)
                except queue.Empty:
                    return
            if isinstance(item, LiveFrame):
                frame = replace(item, received_at=self._monotone(item.received_at))
                self.coordinator.record_inputs([self.recorder.frame(frame)])
                if frame.kind in ("bar", "updated_bar"):
                    self._run(self.gate.offer(frame))
            else:
                notice = replace(item, at=self._monotone(item.at))
                self.coordinator.record_inputs([self.recorder.notice(notice, self.symbols)])
            item = None

    def _run(self, released: Sequence[Step[LiveFrame] | LateInput[LiveFrame]]) -> None:
        """Each released step, then what its plugins subscribed; each late input corrects its held bar. The
        steps a subscription releases are later than every step released before it: they run last."""
        pending = deque(released)
        while pending:
            item = pending.popleft()
            if isinstance(item, LateInput):
                if self.source.receive(item.frame.symbol, item.frame.ts, _row(item.frame)):
                    self._corrected.add(item.frame.symbol)
                continue
            self._step(item)
            pending.extend(self._subscribe_new())

    def _step(self, step: Step[LiveFrame]) -> None:
        """The step's bars held and in the book, its gaps recorded, the plugins at the step's time. A symbol
        provisioned but not expected through the feed in this minute (added since, or subscribed after it
        began) gets the minute's bar from history (`catch_up`)."""
        end = step.minute + MINUTE
        self.source.through = end
        rows: dict[str, Row] = {}
        for symbol, frame in step.bars.items():
            rows[symbol] = _row(frame)
            self.source.receive(symbol, frame.ts, rows[symbol])
        for symbol in self.coordinator.book.symbols():  # provisioned, but not from this minute through the feed
            first = self.gate.first_minute(symbol)
            if first is None or step.minute < first:
                for row in self.source.catch_up(symbol, step.minute, end).values():
                    rows[symbol] = row
        self.book.step(step.minute, rows, self._corrected)
        self._corrected = set()
        if step.gaps:
            self.coordinator.record_missing(step.minute, step.gaps, step.at)
        self.steps.step(step.at)

    def _subscribe_new(self) -> list[Step[LiveFrame]]:
        """The symbols the session holds that the gate does not: subscribed on the stream, then on the gate at
        the clock's now, recorded first (FeedSubscribed: a re-run from the tape subscribes at that time, not
        at its own clock's). The feed brings them from the minute in progress; the minutes stepped meanwhile
        are caught up from history; the steps due by then come back (they run without them)."""
        new = sorted(set(self.coordinator.state.symbols) - self.gate.symbols)
        if not new:
            return []
        self.feed.subscribe(new, LIVE_KINDS)
        at = self._monotone(self.clock.now())
        self.coordinator.record_inputs([self.recorder.subscribed(at, new, LIVE_KINDS)])
        released: list[Step[LiveFrame]] = []
        for symbol in new:
            released += self.gate.add(symbol, at)
        return released


def _row(frame: LiveFrame) -> Row:
    """A minute frame's prices and volume (the SDK's Bar requires every one of them)."""
    values = (frame.open, frame.high, frame.low, frame.close, frame.volume)
    if any(v is None for v in values):
        raise UserError(f"live feed: the {frame.symbol} {frame.kind} at {frame.ts.isoformat()} lacks a price or volume")
    return values  # type: ignore[return-value]


def live_source(config: SessionConfig, store: BarSource, day: dt.date, rest: MinuteFetch | None) -> LiveBarSource:
    """The live day's bar source, its history from where `feed.history` says."""
    calendar = get_calendar(config.exchange)
    if config.live_feed.history == "store":
        return LiveBarSource(store, calendar, day, store_earlier(store, day))
    if rest is None:
        raise UserError("feed.history: alpaca needs Alpaca's REST data API, and none was given")
    return LiveBarSource(RestBarSource(rest, calendar, day), calendar, day, rest_earlier(rest, calendar))


def run_live_day(
    config: SessionConfig,
    store: BarSource,
    sink: EventSink,
    day: dt.date,
    feed: LiveFeed,
    clock: PacedClock,
    plugins: list[Plugin] | None = None,
    record_to: BarStore | None = None,
    rest: MinuteFetch | None = None,
) -> DayResult:
    """One live session day: provisioning as `run_day` does at the open, then steps from `feed` (see above).
    History (and, for a symbol added mid-session, its earlier bars of the day) comes from `store`, or with
    `feed.history: alpaca` from the REST API `rest`; `record_to`, when given, takes the received bars at the
    close (`record_received`)."""
    calendar = get_calendar(config.exchange)
    session = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
    source = live_source(config, store, day, rest)
    coordinator = SessionCoordinator(config, source, calendar, sink, session)
    try:
        day_plugins = build_plugins(config) if plugins is None else plugins
        if not open_day(coordinator, day):
            return day_result(coordinator, day, DayStatus.FAILED, coordinator.state.failure)
        steps = SessionSteps(coordinator, day_plugins)
        steps.start()
        LiveDay(coordinator, steps, feed, clock).run()
        steps.end()
        result = day_result(coordinator, day, DayStatus.ENDED)
        coordinator.end_day()
        if record_to is not None:
            record_received(record_to, source)
        return replace(result, events=coordinator.state.events_applied)
    except (UserError, LogWriteFailed):
        feed.stop()
        raise
    except Exception as exc:
        feed.stop()
        error = f"{type(exc).__name__}: {exc}"
        if coordinator.state.phase not in (SessionPhase.ABORTED, SessionPhase.IDLE, SessionPhase.FAILED):
            coordinator.abort(error)
        return day_result(coordinator, day, DayStatus.ABORTED, error)
