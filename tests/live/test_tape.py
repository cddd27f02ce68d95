"""The tape (daytape.live.tape): frames received through alpaca-py from the local feed server become the tape's
events, are appended to a real event log (hash-chained, audited), and play back as the same frames at their
recorded arrival times on a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daytape.live.tape import TapeError, TapeRecorder, event_frame, frame_event, play_tape
from eventlog.audit import audit_run
from eventlog.manifest import RunManifest
from eventlog.store import open_store
from marketdata.calendar import get_calendar
from marketdata.clock import SimulatedClock
from marketdata.feedserver import FeedFaults
from marketdata.live.alpaca_stream import AlpacaLiveStream
from marketdata.live.frames import LiveFrame, StreamNotice
from specs import events as ev
from tests.feed.conftest import DAY, drain, feed

OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def received_day(store, credentials) -> tuple[TapeRecorder, list[LiveFrame | StreamNotice], list[ev.EventBase]]:
    """A short day from the local feed through the real SDK (a correction, a halt, daily bars, a dropped
    connection whose missed minutes are backfilled from the REST endpoint), recorded as it arrives."""
    faults = FeedFaults(
        drop_at_minutes=(3,), down_seconds=0.5, corrected_minutes=(1,), correction_delay_s=20, halts=(("IBM", 2, 2),)
    )
    calendar = get_calendar("XNYS")
    recorder = TapeRecorder("iex", "backfill", calendar.open(DAY), calendar.close(DAY))
    received: list[LiveFrame | StreamNotice] = []
    tape: list[ev.EventBase] = []
    symbols = ["IBM", "SPY"]
    with (
        feed(store, end_minute=8, speed=300, faults=faults) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url(), rest_url=handle.http_url) as live,
    ):
        live.subscribe(symbols, ["bar", "updated_bar", "daily_bar", "status"])
        reconnected = None
        for item in drain(live, handle):
            received.append(item)
            if isinstance(item, LiveFrame):
                tape.append(recorder.frame(item))
                continue
            event = recorder.notice(item, symbols)
            tape.append(event)
            if isinstance(event, ev.FeedReconnected) and event.missed_minutes:
                reconnected = event
        # the missed minutes, fetched (after the day here) from the feed's REST endpoint: recorded when they came
        assert reconnected is not None and reconnected.missed_start is not None and reconnected.missed_end
        filled = live.backfill(symbols, reconnected.missed_start, reconnected.missed_end + MINUTE)
        assert filled
        at = max(f.received_at for f in filled)
        tape.extend(recorder.backfilled(at, reconnected.missed_start, reconnected.missed_end, filled))
        received.extend(filled)
    return recorder, received, tape


def test_frames_from_the_sdk_make_a_tape_that_plays_back_identical(lean_store_root, credentials, tmp_path):
    _, received, tape = received_day(lean_store_root, credentials)
    kinds = {e.kind for e in tape}
    assert kinds >= {"FeedConnected", "BarReceived", "BarUpdated", "DailyBarReceived", "TradingStatusReceived"}
    assert kinds >= {"FeedDisconnected", "FeedReconnected", "FeedBackfilled"}
    [back] = [e for e in tape if isinstance(e, ev.FeedReconnected)]
    assert back.missed_start == OPEN + 3 * MINUTE and back.missed_minutes >= 1 and back.policy == "backfill"
    assert any(isinstance(e, ev.BarReceived) and e.backfilled for e in tape)

    # into a real log, hash-chained like every event, and out again
    calendar = get_calendar("XNYS")
    with open_store(f"sqlite:///{tmp_path / 'tape.db'}") as store:
        run_id = store.create_run(RunManifest(name="tape"))
        head: list[ev.EventBase] = [
            ev.TeardownStarted(session_date=DAY),
            ev.LoadingStarted(
                session_date=DAY, open=calendar.open(DAY), close=calendar.close(DAY), config_symbols=["IBM", "SPY"]
            ),
            ev.StreamingStarted(symbols=["IBM", "SPY"], sim_time=calendar.open(DAY)),
        ]
        sink = store.sink(run_id)
        sink.append(DAY, head)
        for event in tape:
            sink.append(DAY, [event])
        rows = store.events(run_id)
        stored = [row.event() for row in rows]
        report = audit_run(store, run_id, allow_open=True)
    assert report.first_bad is None and report.events == len(head) + len(tape)
    assert stored[len(head) :] == tape
    assert not any(credentials.key in r.payload_json or credentials.secret in r.payload_json for r in rows)

    clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))
    played = []
    for item in play_tape(stored, clock):
        assert clock.now() == (item.received_at if isinstance(item, LiveFrame) else item.at)
        played.append(item)
    frames = [i for i in received if isinstance(i, LiveFrame)]
    assert [i for i in played if isinstance(i, LiveFrame)] == frames
    notices = [(n.kind, n.at, n.detail) for n in received if isinstance(n, StreamNotice)]
    assert [(n.kind, n.at, n.detail) for n in played if isinstance(n, StreamNotice)] == notices


def frame(kind: str = "bar", minute: int = 0, **fields) -> LiveFrame:
    ts = OPEN + minute * MINUTE
    prices = {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 100.0} if kind != "status" else {}
    return LiveFrame(kind, "SPY", ts, ts + MINUTE + SECOND, **{**prices, **fields})  # type: ignore[arg-type]


def test_each_frame_kind_round_trips_through_its_event():
    for item in [
        frame("bar", trade_count=12.0, vwap=1.25),
        frame("bar", backfilled=True),
        frame("updated_bar", 3),
        frame("daily_bar"),
        frame("status", status_code="H", status_message="Trading Halt", reason_code="T1", tape="C"),
    ]:
        assert event_frame(frame_event(item)) == item


def test_a_bar_without_prices_or_a_backfilled_correction_is_refused():
    with pytest.raises(TapeError, match="without its prices"):
        frame_event(LiveFrame("bar", "SPY", OPEN, OPEN + MINUTE))
    with pytest.raises(TapeError, match="marked backfilled"):
        frame_event(frame("updated_bar", backfilled=True))
    with pytest.raises(TapeError, match="SessionFailed is not a frame"):
        event_frame(ev.SessionFailed(reason="x"))


def test_the_minutes_a_drop_missed_by_the_gap_policy():
    recorder = TapeRecorder("sip", "gap", OPEN, OPEN + 390 * MINUTE)
    recorder.frame(frame("bar", 4))
    recorder.frame(frame("bar", 2))  # an older minute arriving late does not move the last minute back
    drop = recorder.notice(StreamNotice("disconnected", OPEN + 5 * MINUTE + 10 * SECOND, "socket closed"))
    assert isinstance(drop, ev.FeedDisconnected) and drop.last_minute == OPEN + 4 * MINUTE
    assert drop.reason == "dropped"
    back = recorder.notice(StreamNotice("reconnected", OPEN + 9 * MINUTE + 2 * SECOND))
    assert isinstance(back, ev.FeedReconnected)
    assert (back.missed_start, back.missed_end, back.missed_minutes, back.policy) == (
        OPEN + 5 * MINUTE,
        OPEN + 8 * MINUTE,
        4,
        "gap",
    )
    quick = recorder.notice(StreamNotice("reconnected", OPEN + 5 * MINUTE + 30 * SECOND))
    assert isinstance(quick, ev.FeedReconnected) and quick.missed_minutes == 0 and quick.missed_start is None


def test_a_drop_before_the_open_misses_nothing_before_the_open():
    recorder = TapeRecorder("iex", "backfill", OPEN, OPEN + 390 * MINUTE)
    failed = recorder.notice(StreamNotice("silent", OPEN - 3 * MINUTE, "no frame for 30 s"))
    assert isinstance(failed, ev.FeedDisconnected) and failed.reason == "silent" and failed.last_minute is None
    back = recorder.notice(StreamNotice("reconnected", OPEN + 2 * MINUTE + SECOND))
    assert isinstance(back, ev.FeedReconnected)
    assert (back.missed_start, back.missed_end, back.missed_minutes) == (OPEN, OPEN + MINUTE, 2)


def test_playing_skips_the_steps_own_events_and_backfill_headers():
    bar = frame("bar", 0)
    events = [
        ev.StreamingStarted(symbols=["SPY"], sim_time=OPEN),
        ev.FeedBackfilled(at=OPEN, start=OPEN, end=OPEN, minutes=1, bars=1),
        frame_event(bar),
    ]
    clock = SimulatedClock(OPEN - MINUTE)
    assert list(play_tape(events, clock)) == [bar] and clock.now() == bar.received_at
