"""One live session day through the backtest's coordinator: the open as in a backtest, then steps from the feed.

    open_day (teardown, load the config symbols: history and the day's bars from the store, `feed.history:
    store`), StreamingStarted, then one loop on the stream's queue until the minute gate has stepped the close:
      a frame   → its tape event recorded (coordinator.record_inputs) → minute bars offered to the gate
      a notice  → its tape event recorded (FeedConnected, FeedDisconnected, FeedReconnected)
      a timeout → the gate advanced to the clock's now (steps released by their grace deadline)
      each Step → SessionSteps.step(step.at): the session clock to the step's time, the plugins' on_step
    then the stream stopped (its notice recorded), on_session_end, SessionEnded and the teardown.

A frame is recorded before the gate sees it, so every step's bars precede the step's events in the day's
stream. The loop's arrival times never go back: a frame or notice stamped before the gate's time (the
stream's thread stamped it while the loop was advancing) is recorded (and offered) at the gate's time. An
item that arrived at or after the gate's next release (the loop was busy when it came) waits for that
release to run first: which comes first, a step or an input, follows from the recorded arrival times alone,
so `verify` (daytape.live.replayfeed) re-runs the day from its tape to the same events.

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
from daytape.live.replayfeed import item_arrival
from daytape.live.tape import TapeRecorder
from daytape.plugins import Plugin
from eventlog.errors import LogWriteFailed
from marketdata.calendar import get_calendar
from marketdata.clock import SimulatedClock
from marketdata.live.errors import LiveFeedError
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice
from marketdata.sources import BarSource
from specs.config import SessionConfig
from specs.lifecycle import SessionPhase
from specs.status import DayStatus
from statemachine.coordinator import SessionCoordinator
from statemachine.sink import EventSink

#: the stream kinds a live day subscribes: minute bars, their corrections, daily bars and trading statuses
LIVE_KINDS: tuple[FrameKind, ...] = ("bar", "updated_bar", "daily_bar", "status")
#: how long (real seconds) the day waits for the stream's first word after subscribing
FIRST_ITEM_SECONDS = 30.0


class PacedClock(Protocol):
    """daytape's clock in a live day: `now()` stamps arrivals; `seconds_until(t)` is how long to wait for t."""

    def now(self) -> dt.datetime: ...

    def seconds_until(self, t: dt.datetime) -> float: ...


class LiveFeed(Protocol):
    """What a live day needs of the stream (marketdata.live.alpaca_stream.AlpacaLiveStream)."""

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None: ...

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice: ...

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
        # the minutes a dropped connection missed are left as gaps (backfill is not wired yet): said on the tape
        self.recorder = TapeRecorder(config.feed, "gap", open_, close)

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
            self._take(waiting)
            waiting = None
        self.feed.stop()
        self._drain(waiting)

    def _monotone(self, t: dt.datetime) -> dt.datetime:
        return t if self.gate.now is None or t >= self.gate.now else self.gate.now

    def _take(self, item: LiveFrame | StreamNotice) -> None:
        if isinstance(item, LiveFrame):
            frame = replace(item, received_at=self._monotone(item.received_at))
            self.coordinator.record_inputs([self.recorder.frame(frame)])
            if frame.kind in ("bar", "updated_bar"):
                self._run(self.gate.offer(frame))
            return
        item = replace(item, at=self._monotone(item.at))
        self.coordinator.record_inputs([self.recorder.notice(item, self.symbols)])
        if item.kind == "failed":
            error = item.error if item.error is not None else LiveFeedError(item.detail or "the stream failed")
            raise UserError(f"live feed: {error}")

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
            else:
                notice = replace(item, at=self._monotone(item.at))
                self.coordinator.record_inputs([self.recorder.notice(notice, self.symbols)])
            item = None

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
