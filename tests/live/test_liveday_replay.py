"""A live day re-run from its tape writes the same events, however the live loop's timing went.

The live run here is the loop on a busy machine: its timer fires late (the clock is past the gate's release
when it advances) and its queue hands out inputs that arrived after a release before the loop got to that
release. The day is the LEAN store's 2013-10-09 (SPY, AIG, BAC, with the scanner's and strategy's IBM), its bars
arriving out of order with duplicates (tests/live/lean_frames.py); the oracle is the live run's own stream: the
replay (`ReplayFeed` on a `TapeClock`, what `verify` feeds) must write it again event for event."""

from __future__ import annotations

import queue
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from daytape.day import run_store
from daytape.live.replayfeed import ReplayFeed, TapeClock, item_arrival
from daytape.live.tape import minute_of
from daytape.liveday import run_live_day
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice
from specs import events as ev
from specs.config import SessionConfig
from specs.status import DayStatus
from statemachine.sink import InMemorySink
from tests.e2e.conftest import october_session
from tests.live.lean_frames import arriving, lean_minutes

DAY = datetime(2013, 10, 9).date()
OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)
CLOSE = datetime(2013, 10, 9, 20, 0, tzinfo=UTC)


class BusyFeed:
    """The stream's queue as a slow loop meets it: an item that arrived by `now + timeout + lag` is handed out
    (even when that is after the release the loop waited for), and a timeout fires `lag` late; `lag` is drawn
    anew each time, up to `max_lag_s`. `stop()` queues the `stopped` notice after what is left."""

    def __init__(self, items: list[LiveFrame | StreamNotice], seed: int, max_lag_s: float) -> None:
        self.items = list(items)
        self.clock = TapeClock(item_arrival(items[0]))
        self.rng, self.max_lag_s = random.Random(seed), max_lag_s
        self.stopped = False

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        pass

    def unsubscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        pass

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice:
        lag = timedelta(seconds=self.rng.uniform(0, self.max_lag_s))
        until = None if timeout is None or self.stopped else self.clock.now() + timedelta(seconds=timeout) + lag
        if self.items and (until is None or item_arrival(self.items[0]) <= until):
            item = self.items.pop(0)
            self.clock.set(item_arrival(item))
            return item
        if until is not None:
            self.clock.set(until)
        raise queue.Empty

    def stop(self, timeout: float = 10.0) -> None:
        if not self.stopped:
            self.stopped = True
            self.items.append(StreamNotice("stopped", max(self.clock.now(), CLOSE)))


class SlowSubscribeFeed(BusyFeed):
    """A busy loop whose subscriptions take `subscribe_lag` (a loaded machine, a stream slow to answer): the
    clock the loop reads right after subscribing is that much later, past a minute boundary."""

    def __init__(self, items: list[LiveFrame | StreamNotice], seed: int, subscribe_lag: timedelta) -> None:
        super().__init__(items, seed, max_lag_s=2.0)
        self.subscribe_lag = subscribe_lag
        self.subscriptions = 0

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind]) -> None:
        self.subscriptions += 1
        if self.subscriptions > 1:  # not the open's
            self.clock.set(self.clock.now() + self.subscribe_lag)


@pytest.fixture(scope="module")
def day_input(lean_root):
    bars = {symbol: lean_minutes(lean_root, symbol, DAY) for symbol in ("SPY", "AIG", "BAC")}
    frames = arriving(bars, seed=19, jitter_s=4.0, duplicates=0.05)
    connected = StreamNotice("connected", OPEN - timedelta(seconds=2), "ws://127.0.0.1/v2/iex")
    # a drop at 11:00 and the reconnection 40 s later, in their place among the frames
    drop = StreamNotice("disconnected", OPEN + timedelta(minutes=90, seconds=1), "ConnectionClosedError: no close")
    back = StreamNotice("reconnected", OPEN + timedelta(minutes=90, seconds=41), "ws://127.0.0.1/v2/iex")
    items: list[LiveFrame | StreamNotice] = [connected, *frames, drop, back]
    return sorted(items, key=lambda item: (item is not connected, item_arrival(item)))


def config_of(store) -> SessionConfig:
    session = october_session(store, "sqlite:///unused.db", mode="live", feed={"grace_seconds": 3.0})
    return SessionConfig.model_validate({**session, "start": DAY, "end": DAY})


@pytest.mark.parametrize(("seed", "max_lag_s"), [(1, 0.0), (2, 2.0), (3, 15.0), (4, 90.0)])
def test_a_live_day_re_runs_from_its_tape_to_the_same_events(lean_store_root, day_input, seed, max_lag_s):
    config = config_of(lean_store_root)
    live_sink = InMemorySink()
    busy = BusyFeed(day_input, seed, max_lag_s)
    result = run_live_day(config, run_store(config), live_sink, DAY, busy, busy.clock)
    assert result.status == DayStatus.ENDED, result.error
    recorded = live_sink.events(DAY)
    replay_sink = InMemorySink()
    replay = ReplayFeed(recorded, OPEN)
    again = run_live_day(config, run_store(config), replay_sink, DAY, replay, replay.clock)
    assert again.status == DayStatus.ENDED, again.error
    replayed = replay_sink.events(DAY)
    assert [e.model_dump() for e in replayed] == [e.model_dump() for e in recorded]
    kinds = [e.kind for e in recorded]
    assert kinds.count("BarReceived") > 1000 and {"FeedDisconnected", "FeedReconnected"} <= set(kinds)
    requests = [e for e in recorded if e.kind == "RequestReceived" and e.sim_time is not None and e.sim_time > OPEN]
    assert len(requests) >= 2  # the scanner's and the strategy's, at the steps that ran them


def test_a_mid_session_subscription_re_runs_at_its_recorded_time(lean_store_root, day_input):
    """The scanner's IBM is subscribed after the 10:00 step while the loop's clock is 70 s late: the minute the
    gate expects IBM from follows from that late reading, which the re-run takes from the tape (FeedSubscribed),
    not from its own clock (which reads the step's time)."""
    config = config_of(lean_store_root)
    live_sink = InMemorySink()
    slow = SlowSubscribeFeed(day_input, seed=5, subscribe_lag=timedelta(seconds=70))
    result = run_live_day(config, run_store(config), live_sink, DAY, slow, slow.clock)
    assert result.status == DayStatus.ENDED, result.error
    recorded = live_sink.events(DAY)
    [subscribed] = [e for e in recorded if isinstance(e, ev.FeedSubscribed)]
    assert subscribed.symbols == ["IBM"] and subscribed.kinds == ["bar", "updated_bar", "daily_bar", "status"]
    index = recorded.index(subscribed)
    step_time = max(e.sim_time for e in recorded[:index] if e.kind == "RequestReceived" and e.symbol == "IBM")
    assert minute_of(subscribed.at) > minute_of(step_time)  # past a minute boundary: IBM from a later minute
    replay_sink = InMemorySink()
    replay = ReplayFeed(recorded, OPEN)
    again = run_live_day(config, run_store(config), replay_sink, DAY, replay, replay.clock)
    assert again.status == DayStatus.ENDED, again.error
    assert [e.model_dump() for e in replay_sink.events(DAY)] == [e.model_dump() for e in recorded]
    assert replay.subscriptions_left == 0
