"""Alpaca's market-data stream (v2) messages, as alpaca-py's `StockDataStream` sends and reads them.

A client's messages are `{"action": "auth", "key", "secret"}`, `{"action": "subscribe" | "unsubscribe",
<channel>: [symbols]}`, msgpack (what alpaca-py sends) or JSON text. The server answers with lists of
messages: `{"T": "success", "msg": "connected" | "authenticated"}`, `{"T": "error", "code", "msg"}`,
`{"T": "subscription", <channel>: [symbols], ...}` with every channel's full list, and data messages
whose `T` names their kind (`b` minute bar, `u` updated bar, `d` daily bar, `s` trading status).

Encoding: msgpack, where `t` is a msgpack Timestamp (extension type -1, which alpaca-py turns into a
datetime with `.to_datetime()`), or JSON, where `t` is an RFC 3339 string ending in `Z`, as Alpaca
sends it to a client that did not ask for msgpack.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgpack
import orjson

from marketdata.errors import MarketDataError

#: The channels a client can subscribe to, in the order Alpaca lists them in a `subscription` message.
CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")
#: Channels Alpaca lists beside them, following the trades subscription (alpaca-py never subscribes them).
DERIVED_CHANNELS = ("corrections", "cancelErrors")

#: Alpaca's stream error codes and their messages (alpaca-py matches "insufficient subscription" by text).
ERROR_MESSAGES = {
    400: "invalid syntax",
    401: "not authenticated",
    402: "auth failed",
    403: "already authenticated",
    404: "auth timeout",
    405: "symbol limit exceeded",
    406: "connection limit exceeded",
    409: "insufficient subscription",
    410: "invalid subscribe action for this feed",
}

#: At most this many data messages in one frame, so a minute of the whole market stays far below the
#: 1 MiB a websockets client accepts in one message by default.
MESSAGES_PER_FRAME = 1000


class Encoding(StrEnum):
    MSGPACK = "msgpack"
    JSON = "json"


def success(msg: str) -> dict[str, Any]:
    return {"T": "success", "msg": msg}


def error(code: int) -> dict[str, Any]:
    return {"T": "error", "code": code, "msg": ERROR_MESSAGES[code]}


def subscription(subscribed: dict[str, list[str]]) -> dict[str, Any]:
    """The full lists of every channel, as Alpaca answers each subscribe and unsubscribe."""
    message: dict[str, Any] = {"T": "subscription"}
    for channel in CHANNELS:
        message[channel] = list(subscribed.get(channel, ()))
    message["corrections"] = list(subscribed.get("trades", ()))
    message["cancelErrors"] = list(subscribed.get("trades", ()))
    return message


def rfc3339(ts_ns: int) -> str:
    """`2013-10-09T13:30:00Z`, with the fraction of a second only when there is one (as Alpaca writes it)."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def timestamp(ts_ns: int, encoding: Encoding) -> Any:
    return msgpack.Timestamp.from_unix_nano(ts_ns) if encoding is Encoding.MSGPACK else rfc3339(ts_ns)


def encode(messages: list[dict[str, Any]], encoding: Encoding) -> bytes | str:
    """One frame: msgpack bytes (a binary frame) or JSON text (a text frame)."""
    if encoding is Encoding.MSGPACK:
        return msgpack.packb(messages)
    return orjson.dumps(messages).decode()


def frames(messages: list[dict[str, Any]], encoding: Encoding) -> Iterator[bytes | str]:
    for start in range(0, len(messages), MESSAGES_PER_FRAME):
        yield encode(messages[start : start + MESSAGES_PER_FRAME], encoding)


class ProtocolError(MarketDataError, ValueError):
    """A client message the server cannot read (answered with error 400)."""


def decode(frame: bytes | str) -> dict[str, Any]:
    """A client's message: msgpack in a binary frame, JSON in a text frame."""
    try:
        message = msgpack.unpackb(frame) if isinstance(frame, bytes) else orjson.loads(frame)
    except (ValueError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"unreadable message: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("action"), str):
        raise ProtocolError("a message must be a map with an action")
    return message


def symbols_of(message: dict[str, Any], channel: str) -> list[str]:
    value = message.get(channel) or []
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ProtocolError(f"{channel} must be a list of symbols")
    return value


def channels_in(message: dict[str, Any]) -> Iterable[str]:
    return (channel for channel in CHANNELS if channel in message)
