"""A recorded tape played as the live stream: the input of `verify` (and of `--resume`) of a live day.

`ReplayFeed` stands in for the stream's queue (daytape.liveday.LiveFeed) and its `clock`, a `TapeClock`, for
the wall clock (daytape.liveday.PacedClock). The items are `play_tape`'s, in the tape's order:

- `get(timeout)` returns the next item, the clock set to its arrival, when it arrives before `now + timeout`;
  otherwise (it arrives then or later, or the tape is played out) the clock moves to `now + timeout` and
  `queue.Empty` is raised, as a queue that waited that long would. The live loop advances its gate to the
  same times as when the day ran: an item that arrived at or after the gate's next release comes after it,
  in the day as in its replay (daytape.liveday).
- `backfill(...)` returns the bars the tape recorded for the next backfill (its FeedBackfilled and the
  `backfilled` bars after it), the clock at the backfill's time: nothing is asked of the REST history.
- `subscribe(...)` after the first (the open's, which FeedConnected records) plays the tape's next
  FeedSubscribed, which must name the same symbols and kinds: the clock moves to its recorded time, so the
  loop gives the new symbols the first minute it gave them when the day ran.
- After `stop()` the rest of the tape comes out at once: the stream's queue held it when the day stopped it
  (the frames after the close, its `stopped` notice).
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from daytape.live.tape import TapeError, arrival_time, play_tape
from marketdata.clock import SimulatedClock
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice
from specs import events as ev


class TapeClock(SimulatedClock):
    """A replay's clock: set to each arrival it is given, never back (a later time than an arrival it is set to
    stays), and `seconds_until(t)` is the simulated wait."""

    def set(self, t: datetime) -> None:
        if t > self.now():
            super().set(t)

    def seconds_until(self, t: datetime) -> float:
        return max(0.0, (t - self.now()).total_seconds())


def item_arrival(item: LiveFrame | StreamNotice) -> datetime:
    """When a frame or notice arrived, on daytape's clock."""
    return item.received_at if isinstance(item, LiveFrame) else item.at


class ReplayFeed:
    """The tape of one recorded day (its stream's events, in order; events that are not the tape's are skipped)
    as a live feed; see the module docstring."""

    def __init__(self, events: Iterable[ev.EventBase], start: datetime) -> None:
        recorded = list(events)
        times = [t for t in map(arrival_time, recorded) if t is not None]
        #: starts at the tape's first arrival (or `start` for an empty tape), so the first item is there at once
        self.clock = TapeClock(times[0] if times else start)
        self._items = play_tape(recorded, TapeClock(self.clock.now()))
        self._next: LiveFrame | StreamNotice | None = next(self._items, None)
        self._backfills = deque(e for e in recorded if isinstance(e, ev.FeedBackfilled))
        self._subscriptions = deque(e for e in recorded if isinstance(e, ev.FeedSubscribed))
        self.subscribed: list[tuple[list[str], tuple[FrameKind, ...]]] = []
        self.unsubscribed: list[tuple[list[str], tuple[FrameKind, ...]]] = []
        self.played = 0
        self.stopped = False

    @property
    def played_out(self) -> bool:
        return self._next is None

    @property
    def subscriptions_left(self) -> int:
        """How many recorded mid-session subscriptions the re-run has yet to make."""
        return len(self._subscriptions)

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        names, wanted = list(symbols), tuple(kinds)
        if self.subscribed:
            self._play_subscription(names, wanted)
        self.subscribed.append((names, wanted))

    def _play_subscription(self, symbols: list[str], kinds: tuple[FrameKind, ...]) -> None:
        """The tape's next mid-session subscription, which must be this one: the clock to its time."""
        said = f"{', '.join(symbols)} ({', '.join(kinds)})"
        if not self._subscriptions:
            raise TapeError(f"the tape has no subscription of {said} to play (no FeedSubscribed left)")
        recorded = self._subscriptions.popleft()
        if recorded.symbols != symbols or tuple(recorded.kinds) != kinds:
            raise TapeError(
                f"the re-run subscribed {said}, but the tape's next FeedSubscribed (at {recorded.at.isoformat()}) "
                f"subscribed {', '.join(recorded.symbols)} ({', '.join(recorded.kinds)})"
            )
        self.clock.set(recorded.at)

    def unsubscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        self.unsubscribed.append((list(symbols), tuple(kinds)))

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice:
        item = self._next
        if item is not None and (self.stopped or timeout is None or self._before(item, timeout)):
            return self._take()
        if timeout is not None and not self.stopped:
            self.clock.set(self.clock.now() + timedelta(seconds=timeout))
        raise queue.Empty

    def _before(self, item: LiveFrame | StreamNotice, timeout: float) -> bool:
        return item_arrival(item) < self.clock.now() + timedelta(seconds=timeout)

    def _take(self) -> LiveFrame | StreamNotice:
        item = self._next
        assert item is not None
        self._next = next(self._items, None)
        self.clock.set(item_arrival(item))
        self.played += 1
        return item

    def backfill(self, symbols: Sequence[str], start: datetime, end: datetime) -> list[LiveFrame]:
        """The bars the tape's next backfill recorded (what the REST history gave when the day ran)."""
        if not self._backfills:
            raise TapeError(f"the tape has no backfill of {start.isoformat()} .. {end.isoformat()} to play")
        recorded = self._backfills.popleft()
        self.clock.set(recorded.at)
        bars: list[LiveFrame] = []
        while len(bars) < recorded.bars:
            item = self._next
            if not (isinstance(item, LiveFrame) and item.backfilled):
                raise TapeError(f"the tape's backfill at {recorded.at.isoformat()} lacks its {recorded.bars} bars")
            bars.append(item)
            self._take()
        return bars

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped = True
