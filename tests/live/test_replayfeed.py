"""The replay feed: a recorded tape handed out as a live stream's queue would, on a simulated clock."""

from __future__ import annotations

import queue
from datetime import UTC, datetime, timedelta

import pytest

from daytape.live.replayfeed import ReplayFeed
from daytape.live.tape import TapeError, TapeRecorder
from marketdata.live.frames import LiveFrame, StreamNotice
from specs import events as ev

OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def bar(symbol: str, minute: int, seconds: float, backfilled: bool = False) -> LiveFrame:
    ts = OPEN + minute * MINUTE
    return LiveFrame(
        "bar",
        symbol,
        ts,
        ts + MINUTE + timedelta(seconds=seconds),
        1.0,
        2.0,
        0.5,
        1.5,
        100.0,
        3,
        1.2,
        backfilled=backfilled,
    )


def tape() -> list[ev.EventBase]:
    recorder = TapeRecorder("iex", "backfill", OPEN, OPEN + 390 * MINUTE)
    events = [recorder.notice(StreamNotice("connected", OPEN, "ws://x"), ["SPY"])]
    events.append(recorder.frame(bar("SPY", 0, 0.5)))
    events.append(ev.StreamingStarted(sim_time=OPEN, symbols=["SPY"]))  # not the tape's: skipped
    events.append(recorder.frame(bar("SPY", 1, 0.4)))
    return events


def test_items_come_in_order_each_once_its_arrival_is_before_the_timeout():
    events = tape()
    feed = ReplayFeed(events, OPEN)
    connected = feed.get(timeout=30)
    assert isinstance(connected, StreamNotice) and connected.kind == "connected" and feed.clock.now() == OPEN
    # the first bar arrives 60.5 s after the open: not within 60 s
    with pytest.raises(queue.Empty):
        feed.get(timeout=60)
    assert feed.clock.now() == OPEN + MINUTE
    # ... and exactly at now + timeout is not before it either
    with pytest.raises(queue.Empty):
        feed.get(timeout=0.5)
    assert feed.clock.now() == OPEN + MINUTE + timedelta(seconds=0.5)
    first = feed.get(timeout=0.001)
    assert isinstance(first, LiveFrame) and first.ts == OPEN and feed.clock.seconds_until(OPEN) == 0.0


def test_a_played_out_tape_times_out_and_moves_the_clock_and_after_stop_the_rest_comes_at_once():
    feed = ReplayFeed(tape(), OPEN)
    feed.get(timeout=30)
    feed.stop()
    rest = [feed.get(timeout=0), feed.get(timeout=0)]
    assert all(isinstance(item, LiveFrame) for item in rest)
    assert feed.played_out
    with pytest.raises(queue.Empty):
        feed.get(timeout=0)
    fresh = ReplayFeed([], OPEN)
    with pytest.raises(queue.Empty):
        fresh.get(timeout=90)
    assert fresh.clock.now() == OPEN + timedelta(seconds=90)


def test_a_backfill_is_played_from_the_tape_at_its_recorded_time():
    recorder = TapeRecorder("iex", "backfill", OPEN, OPEN + 390 * MINUTE)
    at = OPEN + 5 * MINUTE
    events = [recorder.notice(StreamNotice("connected", OPEN, "ws://x"), ["SPY"])]
    events += recorder.backfilled(at, OPEN, OPEN + MINUTE, [bar("SPY", 0, 250, True), bar("SPY", 1, 190, True)])
    events.append(recorder.frame(bar("SPY", 5, 1.0)))
    feed = ReplayFeed(events, OPEN)
    feed.get(timeout=30)
    bars = feed.backfill(["SPY"], OPEN, OPEN + MINUTE)
    assert [b.ts for b in bars] == [OPEN, OPEN + MINUTE] and all(b.backfilled for b in bars)
    assert feed.clock.now() >= at
    following = feed.get(timeout=3600)
    assert isinstance(following, LiveFrame) and not following.backfilled
    with pytest.raises(TapeError):
        feed.backfill(["SPY"], OPEN, OPEN + MINUTE)


KINDS = ("bar", "updated_bar", "daily_bar", "status")


def subscribing_tape(at: datetime) -> list[ev.EventBase]:
    """SPY from the open; IBM subscribed mid-session at `at`, after SPY's first bar."""
    recorder = TapeRecorder("iex", "backfill", OPEN, OPEN + 390 * MINUTE)
    events = [recorder.notice(StreamNotice("connected", OPEN, "ws://x"), ["SPY"])]
    events.append(recorder.frame(bar("SPY", 0, 0.5)))
    events.append(recorder.subscribed(at, ["IBM"], KINDS))
    events.append(recorder.frame(bar("IBM", 2, 0.3)))
    return events


def test_a_mid_session_subscription_plays_its_recorded_time_and_is_no_item():
    at = OPEN + 2 * MINUTE + timedelta(seconds=10)
    feed = ReplayFeed(subscribing_tape(at), OPEN)
    feed.subscribe(["SPY"], KINDS)  # the open's: FeedConnected says it, nothing to play
    assert feed.subscriptions_left == 1 and feed.clock.now() == OPEN
    feed.get(timeout=30)
    spy = feed.get(timeout=120)
    assert isinstance(spy, LiveFrame) and spy.symbol == "SPY"
    feed.subscribe(["IBM"], KINDS)
    assert feed.clock.now() == at and feed.subscriptions_left == 0
    ibm = feed.get(timeout=120)
    assert isinstance(ibm, LiveFrame) and ibm.symbol == "IBM" and feed.played_out


def test_a_subscription_the_tape_does_not_hold_or_names_otherwise_is_a_tape_error():
    at = OPEN + 2 * MINUTE
    feed = ReplayFeed(subscribing_tape(at), OPEN)
    feed.subscribe(["SPY"], KINDS)
    with pytest.raises(TapeError, match=r"subscribed MSFT \(bar, updated_bar, daily_bar, status\), but .* IBM"):
        feed.subscribe(["MSFT"], KINDS)
    plain = ReplayFeed(tape(), OPEN)
    plain.subscribe(["SPY"], KINDS)
    with pytest.raises(TapeError, match=r"no subscription of IBM .*\(no FeedSubscribed left\)"):
        plain.subscribe(["IBM"], KINDS)
