"""The live client (alpaca-py's stream on its own thread) against the local feed: frames, kinds, threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from marketdata.clock import SimulatedClock
from marketdata.live.alpaca_stream import AlpacaLiveStream
from marketdata.live.frames import LiveFrame
from tests.feed.conftest import OPEN_NS, as_row, bars, drain, feed, notices, oracle_minute


def test_every_subscribed_bar_arrives_as_the_store_has_it(lean_store_root, credentials):
    with feed(lean_store_root, end_minute=5) as handle, AlpacaLiveStream(credentials, url=handle.ws_url()) as live:
        live.subscribe(["SPY", "IBM"], ["bar"])
        items = drain(live, handle)
    got = bars(items)
    expected = [oracle_minute(lean_store_root, s, m) for m in range(5) for s in ("IBM", "SPY")]
    assert [as_row(f) for f in got] == expected
    assert {f.symbol for f in got} == {"SPY", "IBM"}
    assert notices(items) == ["connected"]
    assert all(f.ts.tzinfo is not None and f.received_at >= f.ts for f in got)


def test_frames_are_plain_frozen_records_stamped_by_the_given_clock(lean_store_root, credentials):
    clock = SimulatedClock(datetime(2013, 10, 9, 13, 29, tzinfo=UTC))
    with (
        feed(lean_store_root, end_minute=1) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url(), clock=clock) as live,
    ):
        live.subscribe(["AIG"], ["bar", "daily_bar", "status"])
        items = drain(live, handle)
    frames = [i for i in items if isinstance(i, LiveFrame)]
    assert [f.kind for f in frames] == ["status", "bar", "daily_bar"]
    assert {f.received_at for f in frames} == {clock.now()}
    with pytest.raises(AttributeError):
        frames[0].symbol = "X"  # type: ignore[misc]
    status, bar, daily = frames
    assert (status.status_code, status.status_message, status.open) == ("T", "Trading", None)
    assert bar.volume == daily.volume and int(bar.ts.timestamp()) * 10**9 == OPEN_NS


def test_subscribe_and_unsubscribe_from_other_threads_mid_day(lean_store_root, credentials):
    with (
        feed(lean_store_root, end_minute=12, speed=300) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url()) as live,
    ):
        live.subscribe(["SPY"], ["bar"])
        first = live.get(timeout=30)
        assert notices([first]) == ["connected"]
        assert isinstance(live.get(timeout=30), LiveFrame)

        def change() -> None:
            live.subscribe(["BAC"], ["bar"])
            live.unsubscribe(["SPY"], ["bar"])

        worker = threading.Thread(target=change)
        worker.start()
        worker.join(30)
        items = drain(live, handle)
        assert live.subscribed("bar") == ["BAC"]
    symbols = [f.symbol for f in bars(items)]
    assert "BAC" in symbols and symbols[-1] == "BAC"
    first_bac = symbols.index("BAC")
    assert "SPY" not in symbols[first_bac + 1 :]


def test_a_subscription_before_any_other_starts_the_stream_and_stop_ends_its_thread(lean_store_root, credentials):
    with feed(lean_store_root, end_minute=1) as handle:
        live = AlpacaLiveStream(credentials, url=handle.ws_url())
        assert live.connects == 0
        live.subscribe(["spy"], ["bar"])
        drain(live, handle)
        live.stop()
        assert live.connects == 1 and live._thread is not None and not live._thread.is_alive()
        assert notices([live.get(timeout=5)]) == ["stopped"]
