"""One live session day through the backtest's coordinator: the open as in a backtest, then steps from the feed.

    open_day (teardown, load the config symbols: history and the day's bars from the store, `feed.history:
    store`), StreamingStarted, then one loop on the stream's queue until the minute gate has stepped the close:
      a frame   → its tape event recorded (coordinator.record_inputs) → minute bars offered to the gate
      a notice  → its tape event recorded (FeedConnected, FeedDisconnected, FeedReconnected); after a
                  reconnection that missed minutes, with `missed_minutes: backfill`, those minutes fetched from
                  the REST history, recorded (FeedBackfilled and the bars) and offered to the gate (late
                  inputs for minutes that have stepped); with `gap` they stay gaps, as FeedReconnected says
      a timeout → the gate advanced to the clock's now (steps released by their grace deadline)
      each Step → SessionSteps.step(step.at): the session clock to the step's time, the plugins' on_step
    then the stream stopped (its notice recorded), on_session_end, SessionEnded and the teardown.

A frame is recorded before the gate sees it, so every step's bars precede the step's events in the day's
stream. The loop's arrival times never go back: a frame stamped before the gate's time (the stream's
thread stamped it while the loop was advancing) is recorded and offered at the gate's time.

This module lives beside daytape.day, not in daytape.live (whose pieces read frames only and know no
coordinator or log, an import-linter contract).
"""

from __future__ import annotations

import datetime as dt
import queue
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from daytape.day import DayResult, SessionSteps, build_plugins, day_result, open_day
from daytape.errors import UserError
from daytape.live.gate import LateInput, MinuteGate, Step
from daytape.live.tape import TapeEvent, TapeRecorder
from daytape.plugins import Plugin
from eventlog.errors import LogWriteFailed
from marketdata.calendar import get_calendar
from marketdata.clock import SimulatedClock
from marketdata.live.errors import LiveFeedError
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice
from marketdata.sources import BarSource
from specs.config import SessionConfig
from specs.events import FeedReconnected
from specs.lifecycle import SessionPhase
from specs.status import DayStatus
from statemachine.coordinator import SessionCoordinator
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

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice: ...

    def backfill(self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime) -> list[LiveFrame]: ...

    def stop(self, timeout: float = 10.0) -> None: ...


class LiveDay:
    """The loop of one live day (see the module docstring); `run()` returns when the close has stepped."""

    def __init__(self, coordinator: SessionCoordinator, steps: SessionSteps, feed: LiveFeed, clock: PacedClock) -> None:
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
        while not self.gate.done:
            release = self.gate.next_release()
            assert release is not None
            try:
                item = self.feed.get(timeout=self.clock.seconds_until(release))
            except queue.Empty:
                self._run(self.gate.advance(self._monotone(self.clock.now())))
                continue
            self._take_queued(item)
        self.feed.stop()
        self._drain()

    def _monotone(self, t: dt.datetime) -> dt.datetime:
        return t if self.gate.now is None or t >= self.gate.now else self.gate.now

    def _take_queued(self, item: LiveFrame | StreamNotice) -> None:
        """`item` and the frames queued behind it, as `_take` would take them one by one, but appended in
        batches: each batch ends with the frame on which the gate releases something (or before a notice, or
        when no frame has come for COALESCE_SECONDS), and is appended before that release runs. The day's
        stream is the same, event for event; a minute of the whole market costs a few appends, not one a frame."""
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
        self._record(pending)

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

    def _drain(self) -> None:
        """What the stream queued up to its stop (the frames after the close, its `stopped` notice): on the tape."""
        while True:
            try:
                item = self.feed.get(timeout=0)
            except queue.Empty:
                return
            if isinstance(item, LiveFrame):
                frame = replace(item, received_at=self._monotone(item.received_at))
                self.coordinator.record_inputs([self.recorder.frame(frame)])
            else:
                self.coordinator.record_inputs([self.recorder.notice(item, self.symbols)])

    def _run(self, released: list[Step[LiveFrame]] | list[Step[LiveFrame] | LateInput[LiveFrame]]) -> None:
        """Each released step: the plugins at the step's time. Late inputs are on the tape already; the view
        reads the day's bars from the store, so they change nothing else (docs/live-feed.md)."""
        for item in released:
            if isinstance(item, Step):
                self.steps.step(item.at)


def run_live_day(
    config: SessionConfig,
    store: BarSource,
    sink: EventSink,
    day: dt.date,
    feed: LiveFeed,
    clock: PacedClock,
    plugins: list[Plugin] | None = None,
) -> DayResult:
    """One live session day: provisioning as `run_day` does at the open, then steps from `feed` (see above)."""
    calendar = get_calendar(config.exchange)
    session = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
    coordinator = SessionCoordinator(config, store, calendar, sink, session)
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
