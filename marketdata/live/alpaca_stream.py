"""Live bars from Alpaca's market-data stream through alpaca-py's `StockDataStream`, on a thread of their own.

`AlpacaLiveStream` runs the SDK's stream on its own thread and event loop and puts every bar, updated
bar, daily bar and trading status it receives into a thread-safe queue as a `LiveFrame`, with the
connection's changes (`StreamNotice`) in the same queue, in order. What it adds to the SDK:

- a dropped connection: the SDK reconnects and sends the subscriptions again; a `disconnected` and a
  `reconnected` notice mark the hole, and `backfill()` fetches the missed minutes from REST (what to do
  with them is the caller's policy);
- a silent socket: no market data for `silence_timeout` seconds (alpaca-py's `data_timeout`) closes the
  socket and the SDK opens a new one after its backoff (a `silent` notice, then `reconnected`). Keep it
  above the gap between two minutes' bars of the quietest subscription, or None to turn it off;
- a refused auth (401/402), the connection limit (406) and a plan without the feed (409) end the
  stream with a one-line error (the SDK alone would retry a refused auth forever): a `failed` notice,
  `error`, and `raise_if_failed()`;
- subscribe and unsubscribe from any thread (they run on the stream's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import datetime
from typing import Any

from alpaca.data.enums import DataFeed
from alpaca.data.live import StockDataStream

from marketdata.clock import Clock, WallClock
from marketdata.live.alpaca_history import AlpacaHistory
from marketdata.live.credentials import AlpacaCredentials
from marketdata.live.errors import LiveFeedError, stream_error
from marketdata.live.frames import KIND_OF_TYPE, FrameKind, LiveFrame, NoticeKind, StreamNotice
from specs.config import normalize_symbol

#: The SDK's handler table for each frame kind.
CHANNEL_OF_KIND: dict[FrameKind, str] = {
    "bar": "bars",
    "updated_bar": "updatedBars",
    "daily_bar": "dailyBars",
    "status": "statuses",
}
ALL_KINDS: tuple[FrameKind, ...] = ("bar", "updated_bar", "daily_bar", "status")

# The stream reports its own connection changes; the SDK's log lines (a traceback for a refused auth)
# would only repeat them on stderr where no logging is configured.
logging.getLogger("alpaca").addHandler(logging.NullHandler())


def _timestamp(value: Any) -> datetime:
    """A message's `t`: a msgpack Timestamp (what the stream sends alpaca-py) or an RFC 3339 string."""
    if hasattr(value, "to_datetime"):
        return value.to_datetime()  # type: ignore[no-any-return]
    return datetime.fromisoformat(str(value))


def frame_from_message(message: dict[str, Any], received_at: datetime) -> LiveFrame | None:
    """The frame of one raw stream message; None for a type that is not a bar or a status."""
    kind = KIND_OF_TYPE.get(message.get("T", ""))
    if kind is None:
        return None
    ts = _timestamp(message["t"])
    if kind == "status":
        return LiveFrame(
            kind,
            message["S"],
            ts,
            received_at,
            status_code=message.get("sc"),
            status_message=message.get("sm"),
            reason_code=message.get("rc"),
            reason_message=message.get("rm"),
            tape=message.get("z"),
        )
    n, vw = message.get("n"), message.get("vw")
    return LiveFrame(
        kind,
        message["S"],
        ts,
        received_at,
        float(message["o"]),
        float(message["h"]),
        float(message["l"]),
        float(message["c"]),
        float(message["v"]),
        None if n is None else float(n),
        None if vw is None else float(vw),
    )


class _Stream(StockDataStream):
    """alpaca-py's stream with the hooks above: every method calls the SDK's own and adds to it."""

    def __init__(self, owner: AlpacaLiveStream, credentials: AlpacaCredentials, feed: str, url: str | None) -> None:
        super().__init__(
            credentials.key,
            credentials.secret,
            raw_data=True,
            feed=DataFeed(feed),
            url_override=url,
            data_timeout=owner.silence_timeout,
        )
        self.owner = owner
        self.loop_ready = threading.Event()
        self.connects = 0

    async def _run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()  # type: ignore[assignment]
        self.loop_ready.set()
        await super()._run_forever()

    async def _start_ws(self) -> None:
        try:
            await super()._start_ws()
        except Exception as exc:
            if self._should_run and self.owner.error is None:
                self.owner.notice("disconnected", f"could not connect: {type(exc).__name__}: {exc}")
            raise
        self.connects += 1
        self.owner.notice("connected" if self.connects == 1 else "reconnected", self._endpoint)

    async def _auth(self) -> None:
        try:
            await super()._auth()
        except ValueError as exc:
            self._should_run = False
            if self._stop_stream_event is not None:
                self._stop_stream_event.set()  # no wait before the SDK's loop ends
            self.owner.fail(stream_error(str(exc), feed=self.owner.feed, env=self.owner.credential_variables))
            await self.close()
            raise

    async def _consume(self) -> bool:
        try:
            stale = await super()._consume()
        except Exception as exc:
            if self._should_run:
                self.owner.notice("disconnected", f"{type(exc).__name__}: {exc}")
            raise
        if stale and self._should_run:
            self.owner.notice("silent", f"no market data for {self._data_timeout:g} s: reconnecting")
        return stale

    async def add(self, channels: Sequence[str], symbols: Sequence[str], handler: Callable[..., Any]) -> None:
        for channel in channels:
            for symbol in symbols:
                self._handlers[channel][symbol] = handler
        if self._running and self._ws is not None:
            # if the connection is going, the next one sends every subscription
            with contextlib.suppress(Exception):
                await self._send_subscribe_msg()

    async def remove(self, channels: Sequence[str], symbols: Sequence[str]) -> None:
        for channel in channels:
            present = [s for s in symbols if s in self._handlers[channel]]
            for symbol in present:
                del self._handlers[channel][symbol]
            if present and self._running and self._ws is not None:
                # if the connection is going, the next one subscribes only what is left
                with contextlib.suppress(Exception):
                    await self._send_unsubscribe_msg(channel, present)

    async def shutdown(self) -> None:
        await self.stop_ws()
        if self._ws is not None:
            await self._ws.close()  # rather than waiting up to 5 s for the SDK's next look at its stop queue


class AlpacaLiveStream:
    """The live feed. `feed` is `iex` or `sip`; `url` overrides the stream URL (alpaca-py's `url_override`,
    e.g. a local `daytape feed serve`), `rest_url` the REST base URL used by `backfill`. `clock` stamps
    `received_at` (the wall clock unless a rehearsal gives its own). The stream starts with the first
    subscription; use it as a context manager, or call `stop()`."""

    def __init__(
        self,
        credentials: AlpacaCredentials,
        *,
        feed: str = "iex",
        url: str | None = None,
        rest_url: str | None = None,
        silence_timeout: float | None = 150.0,
        clock: Clock | None = None,
    ) -> None:
        if feed not in ("iex", "sip"):
            raise ValueError(f"feed: {feed!r} is not iex or sip")
        if silence_timeout is not None and not silence_timeout > 0:
            raise ValueError(f"silence_timeout: {silence_timeout} must be above 0 (or None: no limit)")
        self.feed = feed
        self.silence_timeout = silence_timeout
        self.credential_variables = credentials.variables
        self.frames: queue.Queue[LiveFrame | StreamNotice] = queue.Queue()
        self._clock: Clock = clock or WallClock()
        self._sdk = _Stream(self, credentials, feed, url)
        self._history = AlpacaHistory(credentials, feed=feed, url=rest_url)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._error: LiveFeedError | None = None

    # -- what the SDK's thread calls ------------------------------------------------------------------

    def notice(self, kind: NoticeKind, detail: str = "", error: Exception | None = None) -> None:
        self.frames.put(StreamNotice(kind, self._clock.now(), detail, error))

    def fail(self, error: LiveFeedError) -> None:
        self._error = error
        self.notice("failed", str(error), error)

    async def _on_message(self, message: dict[str, Any]) -> None:
        frame = frame_from_message(message, self._clock.now())
        if frame is not None:
            self.frames.put(frame)

    # -- the caller's side ----------------------------------------------------------------------------

    @property
    def error(self) -> LiveFeedError | None:
        """Why the stream gave up, once it has."""
        return self._error

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    @property
    def connects(self) -> int:
        """Connections made so far (the first and every reconnection)."""
        return self._sdk.connects

    def subscribed(self, kind: FrameKind = "bar") -> list[str]:
        return list(self._sdk._handlers[CHANNEL_OF_KIND[kind]])

    def subscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind] = ALL_KINDS) -> None:
        """Subscribes the symbols (`*` for all) to those kinds; starts the stream on the first call."""
        names = [s if s == "*" else normalize_symbol(s) for s in symbols]
        channels = [CHANNEL_OF_KIND[k] for k in kinds]
        with self._lock:
            if self._thread is None:
                for channel in channels:
                    for symbol in names:
                        self._sdk._handlers[channel][symbol] = self._on_message
                self._thread = threading.Thread(target=self._run, name="daytape-alpaca-stream", daemon=True)
                self._thread.start()
                return
        self._on_loop(self._sdk.add(channels, names, self._on_message))

    def unsubscribe(self, symbols: Iterable[str], kinds: Sequence[FrameKind] = ALL_KINDS) -> None:
        names = [s if s == "*" else normalize_symbol(s) for s in symbols]
        channels = [CHANNEL_OF_KIND[k] for k in kinds]
        with self._lock:
            if self._thread is None:
                for channel in channels:
                    for symbol in names:
                        self._sdk._handlers[channel].pop(symbol, None)
                return
        self._on_loop(self._sdk.remove(channels, names))

    def get(self, timeout: float | None = None) -> LiveFrame | StreamNotice:
        """The next frame or notice (queue.Empty after `timeout` seconds)."""
        return self.frames.get(timeout=timeout)

    def backfill(self, symbols: Sequence[str], start: datetime, end: datetime) -> list[LiveFrame]:
        """The minute bars start <= ts < end from REST, as `backfilled` bar frames stamped now."""
        return self._history.backfill(symbols, start, end, self._clock.now())

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread = self._thread
        if thread is None or not thread.is_alive():
            return
        if self._sdk.loop_ready.wait(timeout) and self._sdk._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                shutdown = asyncio.run_coroutine_threadsafe(self._sdk.shutdown(), self._sdk._loop)
                try:
                    shutdown.result(timeout)
                except TimeoutError:  # the loop stopped (a refused stream) before it ran the shutdown
                    shutdown.cancel()
        thread.join(timeout)
        self.notice("stopped")

    def __enter__(self) -> AlpacaLiveStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._sdk.run()
        except Exception as exc:
            if self._error is None:
                self.fail(LiveFeedError(f"the {self.feed} stream stopped: {type(exc).__name__}: {exc}"))

    def _on_loop(self, coroutine: Coroutine[Any, Any, None], timeout: float = 10.0) -> None:
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("subscribe and unsubscribe from another thread than the stream's")
        if self._error is not None:
            coroutine.close()
            raise self._error
        self._sdk.loop_ready.wait(timeout)
        loop = self._sdk._loop
        if loop is None or loop.is_closed():
            coroutine.close()
            self.raise_if_failed()
            raise LiveFeedError("the stream is not running")
        asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)
