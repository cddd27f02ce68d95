"""The resumed feed's subscriptions: the tape's while it replays, the stream's after the hand-over."""

from __future__ import annotations

import queue
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from daytape.live.replayfeed import ReplayFeed
from daytape.live.resumedfeed import ResumedFeed
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice
from tests.live.test_replayfeed import KINDS, OPEN, subscribing_tape

AT = OPEN + timedelta(minutes=2, seconds=10)
NOW = OPEN + timedelta(minutes=20)


class Stream:
    """The stream after the hand-over: what it was asked to subscribe, and its `connected` notice."""

    def __init__(self) -> None:
        self.subscribed: list[tuple[list[str], list[FrameKind]]] = []
        self.items: list[LiveFrame | StreamNotice] = [StreamNotice("connected", NOW, "ws://y")]

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        self.subscribed.append((list(symbols), list(kinds)))

    def unsubscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        pass

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice:
        if not self.items:
            raise queue.Empty
        return self.items.pop(0)

    def backfill(self, symbols: Sequence[str], start: datetime, end: datetime) -> list[LiveFrame]:
        return []

    def stop(self, timeout: float = 10.0) -> None:
        pass


class WallClock:
    def now(self) -> datetime:
        return NOW

    def seconds_until(self, t: datetime) -> float:
        return max(0.0, (t - NOW).total_seconds())


def resumed(caught_up: list[bool]) -> tuple[ResumedFeed, Stream]:
    stream = Stream()
    feed = ResumedFeed(ReplayFeed(subscribing_tape(AT), OPEN), lambda: stream, WallClock(), lambda: caught_up[0])
    return feed, stream


def play_out(feed: ResumedFeed) -> None:
    while not feed.replay.played_out:
        feed.get(timeout=600)


def test_a_subscription_while_replaying_plays_the_tapes_at_its_time():
    feed, _ = resumed([False])
    feed.subscribe(["SPY"], KINDS)
    feed.get(timeout=30)
    feed.get(timeout=600)
    feed.subscribe(["IBM"], KINDS)
    assert feed.now() == AT and feed.replay.subscriptions_left == 0


def test_a_subscription_past_the_tape_waits_for_the_hand_over_and_one_after_it_goes_to_the_stream():
    caught_up = [False]
    feed, stream = resumed(caught_up)
    feed.subscribe(["SPY"], KINDS)
    play_out(feed)
    feed.subscribe(["IBM"], KINDS)
    caught_up[0] = True
    last = feed.now()
    feed.subscribe(["MSFT"], KINDS)  # the process stopped before recording it: new, at the tape's clock
    assert feed.now() == last and feed.live is None
    stopped = feed.get(timeout=1)
    assert isinstance(stopped, StreamNotice) and stopped.kind == "disconnected"
    assert stream.subscribed == [(["SPY", "IBM", "MSFT"], list(KINDS))]
    back = feed.get(timeout=1)
    assert isinstance(back, StreamNotice) and back.kind == "reconnected"
    feed.subscribe(["AAPL"], KINDS)
    assert stream.subscribed[-1] == (["AAPL"], list(KINDS)) and feed.now() == NOW
