"""A live session rehearsed end to end: `daytape run live.yaml --feed-url ws://127.0.0.1:PORT --date 2013-10-09
--speed 600` against the local feed server (playing the LEAN store's day) through the real alpaca-py SDK, then
`audit`, `explain` and `replay` of the run. The oracle of the frames is the store's Parquet files (read with
pyarrow), and of the strategy's view a backtest of the same day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventlog.store import open_store
from marketdata.feedserver import FeedOptions, serve_in_thread
from specs import events as ev
from tests.e2e.conftest import daytape, october_session, write_session
from tests.feed.conftest import ENV, oracle_bars

DAY = "2013-10-09"
OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)
CLOSE = datetime(2013, 10, 9, 20, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
OPEN_NS, CLOSE_NS = int(OPEN.timestamp()) * 10**9, int(CLOSE.timestamp()) * 10**9
SPEED = 600.0


def ns(t: datetime) -> int:
    return int(t.timestamp()) * 10**9


def live_session(store: Path, log_url: str) -> dict:
    return october_session(store, log_url, mode="live", feed={"grace_seconds": 30.0})


@pytest.fixture(scope="module")
def rehearsal(lean_store_root, tmp_path_factory):
    """One rehearsed day: the CLI run against a feed server in this process; (run id, log URL, events, store)."""
    folder = tmp_path_factory.mktemp("rehearsal")
    log_url = f"sqlite:///{folder / 'live.db'}"
    path = write_session(folder / "live.yaml", live_session(lean_store_root, log_url))
    options = FeedOptions(store=lean_store_root, day=datetime(2013, 10, 9).date(), speed=SPEED)
    with serve_in_thread(options) as handle:
        url = handle.ws_url().rsplit("/v2/", 1)[0]  # ws://127.0.0.1:PORT, as a user gives it
        result = daytape("run", str(path), "--feed-url", url, "--date", DAY, "--speed", f"{SPEED:g}", env=ENV)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    with open_store(log_url) as log:
        events = [row.event() for row in log.events(run_id)]
    return run_id, log_url, events, lean_store_root


def test_the_rehearsal_records_every_frame_before_the_step_it_feeds(rehearsal):
    _, _, events, store = rehearsal
    kinds = [e.kind for e in events]
    assert kinds[0] == "TeardownStarted" and "SessionEnded" in kinds
    [ended_event] = [e for e in events if isinstance(e, ev.SessionEnded)]
    assert ended_event.steps == 390  # every minute of the session stepped once, to the close
    assert {"FeedConnected", "BarReceived", "DailyBarReceived"} <= set(kinds)
    assert any(isinstance(e, ev.FeedDisconnected) and e.reason == "stopped" for e in events)
    bars = [e for e in events if isinstance(e, ev.BarReceived)]
    # every session bar of the config symbols the store holds came through the SDK, with the store's prices
    for symbol in ("SPY", "AIG", "BAC"):
        stored = {
            ts: row for ts, *row in oracle_bars(store, symbol) if OPEN.timestamp() * 1e9 <= ts < CLOSE.timestamp() * 1e9
        }
        got = {
            int(b.ts.timestamp() * 1e9): [b.open, b.high, b.low, b.close, b.volume] for b in bars if b.symbol == symbol
        }
        assert {ts: got.get(ts) for ts in stored} == {ts: list(row) for ts, row in stored.items()}
    # the tape precedes the step it feeds: a step at t comes after every bar received by t is recorded, and every
    # minute's bars are on the tape before the request or session events of a later minute
    streaming = kinds.index("StreamingStarted")
    ended = kinds.index("SessionEnded")
    first_bar = kinds.index("BarReceived")
    assert streaming < first_bar < ended
    last_step_time = OPEN
    for event in events[streaming + 1 : ended]:
        if isinstance(event, ev.BarReceived):
            # a bar is recorded before any event whose sim_time is past its minute's end
            assert event.received_at >= last_step_time or event.ts + MINUTE <= last_step_time
        elif event.sim_time is not None:
            last_step_time = max(last_step_time, event.sim_time)
    requests = [e for e in events if isinstance(e, ev.RequestReceived) and e.sim_time is not None and e.sim_time > OPEN]
    assert requests, "the scanner's and the strategy's mid-session requests ran at their steps"
    for request in requests:
        index = events.index(request)
        before = {(b.symbol, b.ts) for b in events[:index] if isinstance(b, ev.BarReceived)}
        # the bars of the minutes up to that step (the minute that closed at or before it) were on the tape first
        minute = request.sim_time.replace(second=0, microsecond=0) - MINUTE
        assert ("SPY", minute) in before


def test_the_rehearsed_run_audits_explains_and_replays(rehearsal):
    run_id, log_url, _, _ = rehearsal
    audit = daytape("audit", run_id, "--log", log_url)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    explain = daytape("explain", run_id, "IBM", "--date", DAY, "--log", log_url, "--json")
    assert explain.returncode == 0, explain.stderr
    assert json.loads(explain.stdout)["present"] is True
    replay = daytape("replay", run_id, "--log", log_url)
    assert replay.returncode == 0, replay.stderr


def test_the_rehearsal_streams_what_a_backtest_of_the_day_streams(rehearsal, tmp_path):
    """The same day as a backtest: each symbol's streamed bars (counts and digests per interval), quality and
    indicator values at the close, and the requests the plugins made, are the rehearsal's (the live day's
    session bars are the received ones, settled in batch at the close)."""
    _, _, events, store = rehearsal
    log_url = f"sqlite:///{tmp_path / 'backtest.db'}"
    path = write_session(tmp_path / "backtest.yaml", october_session(store, log_url))
    result = daytape("run", str(path), "--from", DAY, "--to", DAY, "--quiet")
    assert result.returncode == 0, result.stderr
    with open_store(log_url) as log:
        backtest = [row.event() for row in log.events(result.stdout.strip())]

    def streamed(stream: list[ev.EventBase]) -> dict[str | None, dict]:
        # a live day receives the session's minutes only: the store's pre- and post-market rows are not counted
        exclude = {"sim_time": True, "quality": {"outside_session"}}
        return {e.symbol: e.model_dump(exclude=exclude) for e in stream if isinstance(e, ev.SymbolStreamed)}

    def requests(stream: list[ev.EventBase]) -> list[tuple]:
        return [(e.request_id, e.symbol, e.kind) for e in stream if isinstance(e, ev.RequestReceived)]

    assert streamed(events) == streamed(backtest) and len(streamed(events)) >= 4
    assert requests(events) == requests(backtest)
    assert not any(e.kind in ev.FRAME_EVENT_KINDS for e in backtest)


def test_a_rehearsal_whose_credentials_the_feed_refuses_stops_in_one_line(lean_store_root, tmp_path):
    log_url = f"sqlite:///{tmp_path / 'live.db'}"
    path = write_session(tmp_path / "live.yaml", live_session(lean_store_root, log_url))
    day = datetime(2013, 10, 9).date()
    options = FeedOptions(store=lean_store_root, day=day, speed=SPEED, credentials=("other-key", "other-secret"))
    with serve_in_thread(options) as handle:
        result = daytape("run", str(path), "--feed-url", handle.ws_url(), "--date", DAY, env=ENV)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line == (
        "live feed: Alpaca iex stream: authentication failed (402): check the key and secret in "
        "ALPACA_API_KEY/ALPACA_SECRET_KEY"
    )
    assert ENV["ALPACA_SECRET_KEY"] not in result.stderr + result.stdout
