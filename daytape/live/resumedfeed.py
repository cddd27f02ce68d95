"""What a live day resumed after its process stopped reads: its recorded tape, then the stream again.

`ResumedFeed` is both the loop's feed and its clock (daytape.liveday's LiveFeed and PacedClock). It plays the
tape (a `ReplayFeed`, on the tape's clock) until the tape is played out and the re-run has re-made every event
the log holds (`caught_up`); the gate, the tape recorder and the plugins are then where they were when the
process stopped. It then hands over: a `disconnected` notice at the tape's last time says the connection was
lost there (daytape stopped), the stream is connected again with everything the day subscribed, and its first
`connected` notice is handed on as `reconnected`, so the tape records the hole with the minutes it missed (the
recorder's FeedReconnected, by the session's `missed_minutes` policy). From then on the stream and its clock
are the day's.

A mid-session subscription while replaying plays the tape's recorded one (its FeedSubscribed, its time); one
the re-run makes once it has re-made the whole log (the process stopped before recording it) is new: it is
recorded at the tape's clock and subscribed on the stream at the hand-over.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from daytape.errors import UserError
from daytape.live.replayfeed import ReplayFeed
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice

#: how long (real seconds) a resumed day waits for the stream's first word after subscribing again
RECONNECT_SECONDS = 30.0
#: the `disconnected` notice's detail at the point where the day's process stopped
STOPPED_DETAIL = "daytape stopped here; the day was resumed from its tape (daytape run --resume)"


class Stream(Protocol):
    """The live stream as a resumed day uses it (marketdata.live.alpaca_stream.AlpacaLiveStream)."""

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None: ...

    def unsubscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None: ...

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice: ...

    def backfill(self, symbols: Sequence[str], start: datetime, end: datetime) -> list[LiveFrame]: ...

    def stop(self, timeout: float = 10.0) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...

    def seconds_until(self, t: datetime) -> float: ...


class ResumedFeed:
    """The tape, then the stream `connect()` opens (on `clock`); see the module docstring."""

    def __init__(
        self, replay: ReplayFeed, connect: Callable[[], Stream], clock: Clock, caught_up: Callable[[], bool]
    ) -> None:
        self.replay, self._connect, self._clock, self._caught_up = replay, connect, clock, caught_up
        self.live: Stream | None = None
        self._symbols: dict[str, None] = {}
        self._kinds: dict[FrameKind, None] = {}
        self._reconnecting = False

    # --- the clock: the tape's, then the stream's ---------------------------------------------------------

    def now(self) -> datetime:
        return self.replay.clock.now() if self.live is None else self._clock.now()

    def seconds_until(self, t: datetime) -> float:
        return self.replay.clock.seconds_until(t) if self.live is None else self._clock.seconds_until(t)

    # --- the feed ---------------------------------------------------------------------------------------

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        names = list(symbols)
        self._symbols.update(dict.fromkeys(names))
        self._kinds.update(dict.fromkeys(kinds))
        if self.live is not None:
            self.live.subscribe(names, kinds)
        elif not self._past_the_tape():
            self.replay.subscribe(names, kinds)

    def _past_the_tape(self) -> bool:
        """Whether the re-run has played the whole tape and re-made every event of the log, and this is not
        the open's subscription: a subscription then is new (the process stopped before recording it); the
        hand-over subscribes it on the stream."""
        replay = self.replay
        return bool(replay.subscribed) and replay.played_out and not replay.subscriptions_left and self._caught_up()

    def unsubscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        names = list(symbols)
        for name in names:
            self._symbols.pop(name, None)
        (self.replay if self.live is None else self.live).unsubscribe(names, kinds)

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice:
        if self.live is None:
            if self.replay.stopped or not self.replay.played_out or not self._caught_up():
                return self.replay.get(timeout)
            return self._hand_over(timeout)
        if self._reconnecting:
            return self._reconnected()
        return self.live.get(timeout)

    def _hand_over(self, timeout: float | None) -> LiveFrame | StreamNotice:
        self.live = self._connect()
        self.live.subscribe(list(self._symbols), list(self._kinds))
        if self.replay.played == 0:  # stopped before the stream connected: this is its first connection
            return self.live.get(timeout)
        self._reconnecting = True
        return StreamNotice("disconnected", self.replay.clock.now(), STOPPED_DETAIL)

    def _reconnected(self) -> LiveFrame | StreamNotice:
        assert self.live is not None
        try:
            item = self.live.get(timeout=RECONNECT_SECONDS)
        except queue.Empty:
            raise UserError(f"live feed: nothing came from the stream in {RECONNECT_SECONDS:g} s of resuming") from None
        self._reconnecting = False
        if isinstance(item, StreamNotice) and item.kind == "connected":
            return replace(item, kind="reconnected")
        return item

    def backfill(self, symbols: Sequence[str], start: datetime, end: datetime) -> list[LiveFrame]:
        return (self.replay if self.live is None else self.live).backfill(symbols, start, end)

    def stop(self, timeout: float = 10.0) -> None:
        if self.live is not None:
            self.live.stop(timeout)
        else:
            self.replay.stop(timeout)
