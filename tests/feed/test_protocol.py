"""The stream protocol as Alpaca speaks it: messages, lists, field names, encodings, error codes.

A raw websocket client checks the bytes; alpaca-py's own `StockDataStream` (parsed models, no
`raw_data`) checks that the SDK reads them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgpack
import orjson
import pytest
from alpaca.data.live import StockDataStream
from websockets.sync.client import connect

from marketdata.feedserver import Encoding, FeedFaults
from tests.feed.conftest import OPEN_NS, feed, oracle_minute

BAR_FIELDS = {"T", "S", "o", "h", "l", "c", "v", "t", "n", "vw"}
MSGPACK = {"Content-Type": "application/msgpack"}


def _recv(ws: Any, encoding: str = "msgpack") -> list[dict[str, Any]]:
    frame = ws.recv(timeout=30)
    if encoding == "msgpack":
        assert isinstance(frame, bytes)
        return msgpack.unpackb(frame)  # type: ignore[no-any-return]
    assert isinstance(frame, str)
    return orjson.loads(frame)  # type: ignore[no-any-return]


def _send(ws: Any, message: dict[str, Any]) -> None:
    ws.send(msgpack.packb(message))


def _answer(ws: Any) -> list[dict[str, Any]]:
    """The next control answer (success, error, subscription), past any data frames."""
    while True:
        messages = _recv(ws)
        if messages[0]["T"] not in ("b", "u", "d", "s"):
            return messages


@contextmanager
def _authenticated(url: str, key: str = "k") -> Iterator[Any]:
    with connect(url, additional_headers=MSGPACK) as ws:
        assert _recv(ws) == [{"T": "success", "msg": "connected"}]
        _send(ws, {"action": "auth", "key": key, "secret": "s"})
        assert _recv(ws) == [{"T": "success", "msg": "authenticated"}]
        yield ws


def test_connect_auth_subscribe_unsubscribe_answer_with_the_full_lists(lean_store_root):
    with feed(lean_store_root) as handle, _authenticated(handle.ws_url()) as ws:
        _send(ws, {"action": "subscribe", "bars": ["SPY", "aig"], "statuses": ["*"]})
        first = _recv(ws)
        assert first == [
            {
                "T": "subscription",
                "trades": [],
                "quotes": [],
                "bars": ["SPY", "AIG"],
                "updatedBars": [],
                "dailyBars": [],
                "statuses": ["*"],
                "lulds": [],
                "corrections": [],
                "cancelErrors": [],
            }
        ]
        _send(ws, {"action": "subscribe", "dailyBars": ["IBM"], "bars": ["BAC"]})
        assert _answer(ws)[0]["bars"] == ["SPY", "AIG", "BAC"]
        _send(ws, {"action": "unsubscribe", "bars": ["AIG"], "statuses": ["*"]})
        last = _answer(ws)[0]
        assert (last["bars"], last["dailyBars"], last["statuses"]) == (["SPY", "BAC"], ["IBM"], [])


def test_errors_carry_alpacas_codes(lean_store_root):
    with feed(lean_store_root, connection_limit=1) as handle:
        with connect(handle.ws_url(), additional_headers=MSGPACK) as ws:
            _recv(ws)
            _send(ws, {"action": "subscribe", "bars": ["SPY"]})
            assert _recv(ws) == [{"T": "error", "code": 401, "msg": "not authenticated"}]
            ws.send(b"\xc1 not msgpack")
            assert _recv(ws) == [{"T": "error", "code": 400, "msg": "invalid syntax"}]
            _send(ws, {"action": "auth", "key": "k", "secret": ""})
            assert _recv(ws) == [{"T": "error", "code": 402, "msg": "auth failed"}]
        with _authenticated(handle.ws_url()) as ws:
            _send(ws, {"action": "auth", "key": "k", "secret": "s"})
            assert _answer(ws) == [{"T": "error", "code": 403, "msg": "already authenticated"}]
            with connect(handle.ws_url(), additional_headers=MSGPACK) as second:
                _recv(second)
                _send(second, {"action": "auth", "key": "k", "secret": "s"})
                assert _recv(second) == [{"T": "error", "code": 406, "msg": "connection limit exceeded"}]
    with (
        feed(lean_store_root, feeds=("iex",)) as handle,
        connect(handle.ws_url("sip"), additional_headers=MSGPACK) as ws,
    ):
        _recv(ws)
        _send(ws, {"action": "auth", "key": "k", "secret": "s"})
        assert _recv(ws) == [{"T": "error", "code": 409, "msg": "insufficient subscription"}]


def test_msgpack_bars_carry_the_sdk_field_names_and_an_extension_timestamp(lean_store_root):
    with feed(lean_store_root, end_minute=2) as handle, _authenticated(handle.ws_url()) as ws:
        _send(ws, {"action": "subscribe", "bars": ["SPY"], "dailyBars": ["SPY"]})
        _recv(ws)
        frame = ws.recv(timeout=30)
        assert isinstance(frame, bytes)
        bar, daily = msgpack.unpackb(frame)
        assert set(bar) == BAR_FIELDS and bar["T"] == "b" and bar["S"] == "SPY"
        # msgpack's Timestamp extension (type -1: fixext4 0xd6 0xff), which alpaca-py's .to_datetime() reads
        assert isinstance(bar["t"], msgpack.Timestamp) and b"\xd6\xff" in frame
        expected = oracle_minute(handle.server.options.store, "SPY", 0)
        assert expected is not None
        assert (bar["t"].to_unix_nano(), bar["o"], bar["h"], bar["l"], bar["c"], float(bar["v"])) == expected
        assert daily["T"] == "d" and daily["t"].to_unix_nano() == OPEN_NS - (9 * 60 + 30) * 60_000_000_000 + 0
        assert (daily["o"], daily["c"], float(daily["v"])) == (expected[1], expected[4], expected[5])


def test_json_when_the_client_asks_for_it(lean_store_root):
    with feed(lean_store_root, end_minute=1) as handle:
        with connect(handle.ws_url(), additional_headers={"Content-Type": "application/json"}) as ws:
            assert _recv(ws, "json") == [{"T": "success", "msg": "connected"}]
            ws.send(orjson.dumps({"action": "auth", "key": "k", "secret": "s"}).decode())
            assert _recv(ws, "json") == [{"T": "success", "msg": "authenticated"}]
            ws.send(orjson.dumps({"action": "subscribe", "bars": ["IBM"]}).decode())
            _recv(ws, "json")
            (bar,) = _recv(ws, "json")
        assert set(bar) == BAR_FIELDS and bar["t"] == "2013-10-09T13:30:00Z"
    with feed(lean_store_root, end_minute=1, encoding=Encoding.JSON) as handle, connect(handle.ws_url()) as ws:
        assert _recv(ws, "json") == [{"T": "success", "msg": "connected"}]


def test_the_sdk_parses_every_kind_into_its_own_models(lean_store_root):
    """alpaca-py without raw_data: Bar for b/u/d, TradingStatus for s, timestamps as datetimes."""
    faults = FeedFaults(corrected_minutes=(0,), correction_delay_s=20, halts=(("AIG", 1, 1),))
    received: dict[str, list[Any]] = {"bars": [], "updated": [], "daily": [], "statuses": []}
    with feed(lean_store_root, end_minute=3, faults=faults) as handle:
        stream = StockDataStream("k", "s", url_override=handle.ws_url())

        def keep(name: str) -> Any:
            async def handler(item: Any) -> None:
                received[name].append(item)

            return handler

        stream.subscribe_bars(keep("bars"), "SPY", "AIG")
        stream.subscribe_updated_bars(keep("updated"), "SPY")
        stream.subscribe_daily_bars(keep("daily"), "AIG")
        stream.subscribe_trading_statuses(keep("statuses"), "AIG")
        thread = threading.Thread(target=stream.run, daemon=True)
        thread.start()
        assert handle.wait_ended(60)
        asyncio.run_coroutine_threadsafe(stream.stop_ws(), stream._loop).result(10)
        thread.join(30)
    store = handle.server.options.store
    assert [(b.symbol, b.timestamp.minute) for b in received["bars"][:2]] == [("AIG", 30), ("SPY", 30)]
    for bar in received["bars"]:
        minute = (int(bar.timestamp.timestamp() * 1e9) - OPEN_NS) // 60_000_000_000
        expected = oracle_minute(store, bar.symbol, minute)
        assert expected is not None
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == expected[1:]
    (update,) = received["updated"]
    first_spy = oracle_minute(store, "SPY", 0)
    assert first_spy is not None
    assert update.symbol == "SPY" and update.volume == first_spy[5] + 100 and update.close == first_spy[4]
    assert [d.volume for d in received["daily"]] == [
        sum(oracle_minute(store, "AIG", m)[5] for m in range(n + 1))  # type: ignore[index]
        for n in range(3)
    ]
    assert [s.status_code for s in received["statuses"]] == ["T", "H", "T"]
    assert received["statuses"][1].status_message == "Trading Halt"


@pytest.mark.parametrize("subscription", [["*"], ["SPY", "AIG", "BAC", "IBM"]])
def test_a_wildcard_gets_every_symbol(lean_store_root, subscription):
    with feed(lean_store_root, end_minute=1) as handle, _authenticated(handle.ws_url()) as ws:
        _send(ws, {"action": "subscribe", "bars": subscription})
        _recv(ws)
        assert sorted(m["S"] for m in _recv(ws)) == ["AIG", "BAC", "IBM", "SPY"]
