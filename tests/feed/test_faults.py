"""Every fault the feed can inject, through alpaca-py (in the live client) against the local server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketdata.feedserver import FeedFaults
from marketdata.live.alpaca_stream import AlpacaLiveStream
from marketdata.live.errors import (
    ConnectionLimitError,
    FeedAuthError,
    InsufficientSubscriptionError,
)
from marketdata.live.frames import StreamNotice
from tests.feed.conftest import ENV, MINUTE_NS, OPEN_NS, as_row, bars, drain, feed, notices, oracle_minute


def _minute(frame) -> int:
    return (int(frame.ts.timestamp()) * 1_000_000_000 - OPEN_NS) // MINUTE_NS


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def test_a_dropped_connection_is_reconnected_resubscribed_and_its_missed_minutes_backfilled(
    lean_store_root, credentials
):
    faults = FeedFaults(drop_at_minutes=(3,), down_seconds=0.5)
    with (
        feed(lean_store_root, end_minute=10, speed=300, faults=faults) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url(), rest_url=handle.http_url) as live,
    ):
        live.subscribe(["SPY", "AIG"], ["bar"])
        items = drain(live, handle)
        got = {_minute(f) for f in bars(items)}
        missed = sorted(set(range(10)) - got)
        assert missed and missed[0] == 3 and 9 in got  # the minutes while it was down, then the rest
        assert notices(items) == ["connected", "disconnected", "reconnected"]
        filled = live.backfill(
            ["SPY", "AIG"], _utc(OPEN_NS + missed[0] * MINUTE_NS), _utc(OPEN_NS + (missed[-1] + 1) * MINUTE_NS)
        )
    assert handle.stats.drops == 1 and handle.stats.connections == 2
    assert all(f.backfilled and f.kind == "bar" for f in filled)
    assert [as_row(f) for f in filled] == [oracle_minute(lean_store_root, s, m) for m in missed for s in ("AIG", "SPY")]


def test_a_silent_socket_is_detected_and_replaced(lean_store_root, credentials):
    faults = FeedFaults(silent_at_minute=2, silent_seconds=4.0)
    with (
        feed(lean_store_root, end_minute=30, speed=300, faults=faults) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url(), silence_timeout=1.0) as live,
    ):
        live.subscribe(["SPY"], ["bar"])
        items = drain(live, handle)
    kinds = notices(items)
    assert kinds[:2] == ["connected", "silent"] and "reconnected" in kinds
    after = items[next(i for i, x in enumerate(items) if isinstance(x, StreamNotice) and x.kind == "reconnected") :]
    assert bars(after) and _minute(bars(after)[-1]) == 29
    assert handle.stats.connections == 2


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (401, FeedAuthError, "not authenticated (401)"),
        (402, FeedAuthError, "authentication failed (402)"),
        (406, ConnectionLimitError, "connection limit exceeded (406)"),
        (409, InsufficientSubscriptionError, "insufficient subscription (409)"),
    ],
)
def test_a_refused_auth_ends_the_stream_with_one_line_and_no_retry(lean_store_root, credentials, code, error, words):
    with feed(lean_store_root, faults=FeedFaults(auth_error=code)) as handle:
        live = AlpacaLiveStream(credentials, url=handle.ws_url())
        live.subscribe(["SPY"], ["bar"])
        failed = live.get(timeout=30)
        assert live._thread is not None
        live._thread.join(30)
        assert not live._thread.is_alive()
        assert handle.stats.connections == 1  # no retry loop
    assert isinstance(failed, StreamNotice) and failed.kind == "failed"
    assert isinstance(live.error, error) and words in str(live.error) and "\n" not in str(live.error)
    assert ENV["ALPACA_SECRET_KEY"] not in str(live.error) and ENV["ALPACA_API_KEY"] not in str(live.error)
    with pytest.raises(error):
        live.raise_if_failed()
    with pytest.raises(error):
        live.subscribe(["AIG"], ["bar"])


def test_a_second_stream_on_the_same_key_meets_the_connection_limit(lean_store_root, credentials):
    with (
        feed(lean_store_root, end_minute=20, speed=60) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url()) as first,
    ):
        first.subscribe(["SPY"], ["bar"])
        assert notices([first.get(timeout=30)]) == ["connected"]
        second = AlpacaLiveStream(credentials, url=handle.ws_url())
        second.subscribe(["SPY"], ["bar"])
        assert notices([second.get(timeout=30)]) == ["failed"]
        assert isinstance(second.error, ConnectionLimitError)


def test_sip_without_the_plan_is_insufficient_subscription(lean_store_root, credentials):
    with feed(lean_store_root, feeds=("iex",)) as handle:
        live = AlpacaLiveStream(credentials, feed="sip", url=handle.ws_url("sip"))
        live.subscribe(["SPY"], ["bar"])
        live.get(timeout=30)
    assert isinstance(live.error, InsufficientSubscriptionError)
    assert str(live.error) == (
        "Alpaca sip stream: insufficient subscription (409): the key's plan does not include the sip feed "
        "(SIP needs a paid plan; feed: iex works on every plan)"
    )


def test_duplicate_and_late_frames_arrive_as_sent(lean_store_root, credentials):
    faults = FeedFaults(duplicate_minutes=(1,), late_minutes=(3,))
    with (
        feed(lean_store_root, end_minute=6, faults=faults) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url()) as live,
    ):
        live.subscribe(["IBM"], ["bar"])
        items = drain(live, handle)
    assert [_minute(f) for f in bars(items)] == [0, 1, 1, 2, 4, 3, 5]
    first, again = bars(items)[1:3]
    assert as_row(first) == as_row(again) and again.received_at >= first.received_at


def test_a_correction_arrives_as_an_updated_bar_after_its_minute(lean_store_root, credentials):
    faults = FeedFaults(corrected_minutes=(1,), correction_delay_s=30)
    with (
        feed(lean_store_root, end_minute=4, faults=faults) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url()) as live,
    ):
        live.subscribe(["SPY"], ["bar", "updated_bar"])
        items = drain(live, handle)
    sequence = [(f.kind, _minute(f)) for f in items if not isinstance(f, StreamNotice)]
    assert sequence == [("bar", 0), ("bar", 1), ("updated_bar", 1), ("bar", 2), ("bar", 3)]
    (update,) = bars(items, "updated_bar")
    original = oracle_minute(lean_store_root, "SPY", 1)
    assert original is not None and as_row(update) == (*original[:5], original[5] + 100)


def test_a_symbol_that_never_trades_is_accepted_and_silent(lean_store_root, credentials):
    faults = FeedFaults(never_trades=("BAC",))
    with (
        feed(lean_store_root, end_minute=3, faults=faults) as handle,
        AlpacaLiveStream(credentials, url=handle.ws_url(), rest_url=handle.http_url) as live,
    ):
        live.subscribe(["BAC", "ZZZZ", "AIG"], ["bar", "status"])
        items = drain(live, handle)
        history = live.backfill(["BAC", "ZZZZ"], _utc(OPEN_NS), _utc(OPEN_NS + 3 * MINUTE_NS))
    assert {f.symbol for f in items if not isinstance(f, StreamNotice)} == {"AIG"}
    assert history == []
    assert live.subscribed("bar") == ["BAC", "ZZZZ", "AIG"]


def test_bad_fault_options_are_named():
    with pytest.raises(ValueError, match="auth_error: 500 is not one of 401, 402, 406, 409"):
        FeedFaults(auth_error=500)
    with pytest.raises(ValueError, match="down_seconds: -1 is negative"):
        FeedFaults(down_seconds=-1)
