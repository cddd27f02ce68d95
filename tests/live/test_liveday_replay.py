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
from daytape.liveday import run_live_day
from marketdata.live.frames import FrameKind, LiveFrame, StreamNotice
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
