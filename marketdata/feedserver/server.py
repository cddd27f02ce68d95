"""A local server speaking Alpaca's market-data stream and REST bar API, playing a stored day.

One port serves both: websocket connections on `/v2/<feed>` (`iex`, `sip`, ... as Alpaca's stream URLs
end) and `GET /v2/stocks/bars` (the REST base URL is `http://HOST:PORT`). The day is played on a
simulated clock that starts at the session's open when the first client subscribes (or at once, if the
options say so) and runs `speed` times faster than real time; the bars of minute m go out when that
clock passes the minute's end, to every authenticated client subscribed to them (or to `*`).

What a client sees follows Alpaca: `[{"T": "success", "msg": "connected"}]` on connecting, auth answered
by `authenticated` or an error (402 wrong key or secret, 406 more connections for the key than the
limit, 409 a feed the key is not entitled to), subscribe and unsubscribe answered by the full lists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from marketdata.calendar import get_calendar
from marketdata.clock import elapsed
from marketdata.feedserver import protocol
from marketdata.feedserver.day import NS_PER_MINUTE, MinuteBar, StoredDay, load_day
from marketdata.feedserver.faults import FeedFaults
from marketdata.feedserver.protocol import Encoding
from marketdata.feedserver.rest import RestError, bars_page, parse_query
from marketdata.store import BarStore

#: channels whose subscription starts the day's clock
_DATA_CHANNELS = ("bars", "updatedBars", "dailyBars", "statuses")


@dataclass(frozen=True)
class FeedOptions:
    store: Path
    day: date
    speed: float = 1.0
    host: str = "127.0.0.1"
    port: int = 0
    #: for clients whose handshake names no Content-Type (alpaca-py sends `application/msgpack`)
    encoding: Encoding = Encoding.MSGPACK
    #: the stream feeds the key is entitled to; another answers auth with 409
    feeds: tuple[str, ...] = ("iex", "sip", "delayed_sip", "test")
    #: accept only this (key, secret); None accepts any non-empty pair
    credentials: tuple[str, str] | None = None
    #: authenticated connections per key (Alpaca allows one on most plans); None: no limit
    connection_limit: int | None = 1
    #: play minutes [start_minute, end_minute) of the session (None: to the close)
    start_minute: int = 0
    end_minute: int | None = None
    start_on_subscribe: bool = True
    exchange: str = "XNYS"
    faults: FeedFaults = field(default_factory=FeedFaults)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"--speed: {self.speed} must be above 0")


class _Client:
    __slots__ = ("encoding", "feed", "key", "silent_until", "subs", "ws")

    def __init__(self, ws: ServerConnection, encoding: Encoding, feed: str) -> None:
        self.ws, self.encoding, self.feed = ws, encoding, feed
        self.key: str | None = None
        self.subs: dict[str, dict[str, None]] = {channel: {} for channel in protocol.CHANNELS}
        self.silent_until = 0.0

    def wanted(self, channel: str, messages: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        subs = self.subs[channel]
        if "*" in subs:
            return [m for _, m in messages]
        return [m for s, m in messages if s in subs] if subs else []


@dataclass
class FeedStats:
    connections: int = 0
    frames_sent: int = 0
    bars_sent: int = 0
    drops: int = 0
    minutes_played: int = 0
    #: (minute, monotonic time its bars started going out, monotonic time the last went out)
    minute_send_times: list[tuple[int, float, float]] = field(default_factory=list)


class FeedServer:
    def __init__(self, options: FeedOptions, day: StoredDay | None = None) -> None:
        self.options = options
        self.calendar = get_calendar(options.exchange)
        self.day = day or load_day(options.store, options.day, self.calendar)
        self.store = BarStore(options.store, self.calendar)
        self.faults = options.faults
        self.stats = FeedStats()
        self._never = frozenset(s.upper() for s in self.faults.never_trades)
        self._clients: set[_Client] = set()
        self._server: Server | None = None
        self._started: asyncio.Event | None = None
        self._ended: asyncio.Event | None = None
        self._t0 = 0.0
        self._down_until = 0.0
        last = self.day.minute_count if options.end_minute is None else min(options.end_minute, self.day.minute_count)
        self._minutes = range(max(0, options.start_minute), last)
        self._sim0 = self.day.minute_open_ns(self._minutes.start)
        self._daily: dict[str, list[float]] = {}
        self._held: list[int] = []

    # -- addresses and the clock ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not started"
        return int(next(iter(self._server.sockets)).getsockname()[1])

    def ws_url(self, feed: str = "iex") -> str:
        return f"ws://{self.options.host}:{self.port}/v2/{feed}"

    @property
    def http_url(self) -> str:
        return f"http://{self.options.host}:{self.port}"

    def sim_now_ns(self) -> int:
        """The simulated time: the first played minute's open until the clock starts, then `speed`x real time."""
        if self._started is None or not self._started.is_set():
            return self._sim0
        return self._sim0 + int((elapsed() - self._t0) * self.options.speed * 1e9)

    @property
    def ended(self) -> bool:
        return self._ended is not None and self._ended.is_set()

    # -- running --------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._started, self._ended = asyncio.Event(), asyncio.Event()
        self._server = await serve(
            self._handle,
            self.options.host,
            self.options.port,
            process_request=self._process_request,
            compression=None,
            max_size=2**22,
        )
        if not self.options.start_on_subscribe:
            self._start_clock()

    async def play(self) -> None:
        """Plays the day to its end (the last minute's bars and the corrections after them)."""
        assert self._started is not None and self._ended is not None, "start() the server first"
        await self._started.wait()
        for sim_ns, _, action, arg in sorted(self._schedule()):
            delay = self._t0 + (sim_ns - self._sim0) / 1e9 / self.options.speed - elapsed()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._act(action, arg)
        for held in self._held:
            await self._send_minute(held)
        self._ended.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _start_clock(self) -> None:
        assert self._started is not None
        if not self._started.is_set():
            self._t0 = elapsed()
            self._started.set()

    def _schedule(self) -> Iterable[tuple[int, int, str, Any]]:
        faults, day = self.faults, self.day
        yield self._sim0, 0, "statuses", None
        for symbol, minute, length in faults.halts:
            if minute in self._minutes:
                yield day.minute_open_ns(minute), 1, "halt", (symbol.upper(), "H")
                yield day.minute_open_ns(minute + length), 1, "halt", (symbol.upper(), "T")
        for minute in self._minutes:
            end = day.minute_open_ns(minute + 1)
            if minute in faults.drop_at_minutes:
                yield end, 2, "drop", minute
            if minute == faults.silent_at_minute:
                yield end, 3, "silence", minute
            yield end, 4, "bars", minute
            if minute in faults.corrected_minutes:
                yield end + int(faults.correction_delay_s * 1e9), 5, "correct", minute

    async def _act(self, action: str, arg: Any) -> None:
        if action == "bars":
            self.stats.minutes_played += 1
            if arg in self.faults.late_minutes:
                self._held.append(arg)
                return
            began = elapsed()
            await self._send_minute(arg)
            self.stats.minute_send_times.append((arg, began, elapsed()))
            while self._held and self._held[0] < arg:
                await self._send_minute(self._held.pop(0))
        elif action == "correct":
            await self._broadcast("updatedBars", [(b.symbol, self._corrected(b)) for b in self._bars(arg)])
        elif action == "statuses":
            await self._send_statuses([(s, "T") for s in self.day.symbols if s not in self._never], self._sim0)
        elif action == "halt":
            symbol, code = arg
            await self._send_statuses([(symbol, code)], self.sim_now_ns())
        elif action == "drop":
            self.drop_connections()
        elif action == "silence":
            until = elapsed() + self.faults.silent_seconds
            for client in self._clients:
                client.silent_until = until

    def drop_connections(self) -> None:
        """Closes every connection as a dropped network would (no close frame); a control for tests."""
        self.stats.drops += 1
        self._down_until = elapsed() + self.faults.down_seconds
        for client in list(self._clients):
            self._clients.discard(client)
            client.ws.transport.abort()

    # -- the messages ---------------------------------------------------------------------------------

    def _bars(self, minute: int) -> list[MinuteBar]:
        return [b for b in self.day.minutes[minute] if b.symbol not in self._never]

    def _bar_message(self, kind: str, bar: MinuteBar, encoding: Encoding) -> dict[str, Any]:
        v = bar.volume
        return {
            "T": kind,
            "S": bar.symbol,
            "o": bar.open,
            "h": bar.high,
            "l": bar.low,
            "c": bar.close,
            "v": int(v) if v.is_integer() else v,
            "t": protocol.timestamp(bar.ts_ns, encoding),
            "n": 0,
            "vw": round((bar.high + bar.low + bar.close) / 3, 4),
        }

    def _corrected(self, bar: MinuteBar) -> MinuteBar:
        """The bar after a late trade of 100 shares at its close."""
        return MinuteBar(bar.symbol, bar.ts_ns, bar.open, bar.high, bar.low, bar.close, bar.volume + 100)

    def _daily_bar(self, bar: MinuteBar) -> MinuteBar:
        agg = self._daily.get(bar.symbol)
        if agg is None:
            agg = self._daily[bar.symbol] = [bar.open, bar.high, bar.low, bar.close, 0.0]
        agg[1], agg[2], agg[3] = max(agg[1], bar.high), min(agg[2], bar.low), bar.close
        agg[4] += bar.volume
        return MinuteBar(bar.symbol, self.day.midnight_ns, *agg)

    async def _send_minute(self, minute: int) -> None:
        bars = self._bars(minute)
        daily = [self._daily_bar(b) for b in bars]
        times = 2 if minute in self.faults.duplicate_minutes else 1
        for _ in range(times):
            await self._broadcast("bars", [(b.symbol, b) for b in bars], extra=("dailyBars", daily))

    async def _broadcast(
        self,
        channel: str,
        bars: list[tuple[str, MinuteBar]],
        extra: tuple[str, list[MinuteBar]] | None = None,
    ) -> None:
        kinds = {"bars": "b", "updatedBars": "u", "dailyBars": "d"}
        by_encoding: dict[Encoding, list[tuple[str, dict[str, Any]]]] = {}
        extra_by_encoding: dict[Encoding, list[tuple[str, dict[str, Any]]]] = {}
        for client in self._receivers():
            enc = client.encoding
            if enc not in by_encoding:
                by_encoding[enc] = [(s, self._bar_message(kinds[channel], b, enc)) for s, b in bars]
            messages = client.wanted(channel, by_encoding[enc])
            if extra is not None and client.subs[extra[0]]:
                if enc not in extra_by_encoding:
                    extra_by_encoding[enc] = [(b.symbol, self._bar_message("d", b, enc)) for b in extra[1]]
                messages += client.wanted(extra[0], extra_by_encoding[enc])
            await self._send(client, messages, bars=len(messages))

    async def _send_statuses(self, changes: list[tuple[str, str]], at_ns: int) -> None:
        texts = {"T": "Trading", "H": "Trading Halt"}
        for client in self._receivers():
            rows = [
                (
                    symbol,
                    {
                        "T": "s",
                        "S": symbol,
                        "sc": code,
                        "sm": texts[code],
                        "rc": "" if code == "T" else "T12",
                        "rm": "" if code == "T" else "Trading Halted; For information requested by the listing market",
                        "t": protocol.timestamp(at_ns, client.encoding),
                        "z": "A",
                    },
                )
                for symbol, code in changes
            ]
            await self._send(client, client.wanted("statuses", rows))

    def _receivers(self) -> list[_Client]:
        now = elapsed()
        return [c for c in self._clients if c.key is not None and c.silent_until <= now]

    async def _send(self, client: _Client, messages: list[dict[str, Any]], bars: int = 0) -> None:
        if not messages:
            return
        try:
            for frame in protocol.frames(messages, client.encoding):
                await client.ws.send(frame)
                self.stats.frames_sent += 1
        except ConnectionClosed:
            self._clients.discard(client)
            return
        self.stats.bars_sent += bars

    # -- the stream protocol --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        feed = ws.request.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        content_type = ws.request.headers.get("Content-Type", "")
        encoding = (
            Encoding.MSGPACK
            if "msgpack" in content_type
            else Encoding.JSON
            if "json" in content_type
            else self.options.encoding
        )
        wait = self._down_until - elapsed()
        if wait > 0:
            await asyncio.sleep(wait)
        client = _Client(ws, encoding, feed)
        self._clients.add(client)
        self.stats.connections += 1
        try:
            await self._reply(client, protocol.success("connected"))
            async for frame in ws:
                try:
                    message = protocol.decode(frame)
                    await self._on_message(client, message)
                except protocol.ProtocolError:
                    await self._reply(client, protocol.error(400))
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)

    async def _reply(self, client: _Client, *messages: dict[str, Any]) -> None:
        await client.ws.send(protocol.encode(list(messages), client.encoding))

    async def _on_message(self, client: _Client, message: dict[str, Any]) -> None:
        action = message["action"]
        if action == "auth":
            await self._auth(client, message)
        elif action in ("subscribe", "unsubscribe"):
            if client.key is None:
                await self._reply(client, protocol.error(401))
                return
            for channel in protocol.channels_in(message):
                subs = client.subs[channel]
                for symbol in protocol.symbols_of(message, channel):
                    if action == "subscribe":
                        subs[symbol.upper() if symbol != "*" else symbol] = None
                    else:
                        subs.pop(symbol.upper() if symbol != "*" else symbol, None)
            await self._reply(client, protocol.subscription({ch: list(s) for ch, s in client.subs.items()}))
            if action == "subscribe" and any(client.subs[ch] for ch in _DATA_CHANNELS):
                self._start_clock()
        else:
            await self._reply(client, protocol.error(400))

    async def _auth(self, client: _Client, message: dict[str, Any]) -> None:
        if client.key is not None:
            await self._reply(client, protocol.error(403))
            return
        key, secret = message.get("key"), message.get("secret")
        code: int | None = self.faults.auth_error
        if code is None:
            well_formed = isinstance(key, str) and key and isinstance(secret, str) and secret
            if not well_formed or (self.options.credentials is not None and (key, secret) != self.options.credentials):
                code = 402
            elif client.feed not in self.options.feeds:
                code = 409
            elif self.options.connection_limit is not None and (
                sum(1 for c in self._clients if c.key == key) >= self.options.connection_limit
            ):
                code = 406
        if code is not None:
            await self._reply(client, protocol.error(code))
            await client.ws.close()
            return
        client.key = str(key)
        await self._reply(client, protocol.success("authenticated"))

    # -- the REST endpoint ----------------------------------------------------------------------------

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        if path.rstrip("/") != "/v2/stocks/bars":
            return _json(404, {"message": "Not Found"})
        if not (request.headers.get("APCA-API-KEY-ID") and request.headers.get("APCA-API-SECRET-KEY")):
            return _json(401, {"message": "unauthorized."})
        if (
            self.options.credentials is not None
            and (
                request.headers["APCA-API-KEY-ID"],
                request.headers["APCA-API-SECRET-KEY"],
            )
            != self.options.credentials
        ):
            return _json(401, {"message": "unauthorized."})
        now = self.sim_now_ns()
        try:
            parsed = parse_query(dict(parse_qsl(query)), self.day.midnight_ns, now)
        except RestError as exc:
            return _json(400, {"message": str(exc)})
        body = await asyncio.to_thread(bars_page, self.store, parsed, now, self._never)
        return _json(200, body)


def _json(status: int, body: dict[str, Any]) -> Response:
    reasons = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
    payload = orjson.dumps(body)
    headers = Headers(
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), ("Connection", "close")]
    )
    return Response(status, reasons[status], headers, payload)


__all__ = ["NS_PER_MINUTE", "FeedOptions", "FeedServer", "FeedStats"]
