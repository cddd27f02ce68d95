"""Running a feed server: in a thread of this process (tests, the demo, rehearsals) or in the foreground."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from marketdata.feedserver.day import StoredDay
from marketdata.feedserver.server import FeedOptions, FeedServer, FeedStats


@dataclass
class FeedHandle:
    """A server running on its own thread: its URLs, its clock and a few controls, callable from any thread."""

    server: FeedServer
    loop: asyncio.AbstractEventLoop
    _played: threading.Event

    def ws_url(self, feed: str = "iex") -> str:
        return self.server.ws_url(feed)

    @property
    def http_url(self) -> str:
        return self.server.http_url

    @property
    def stats(self) -> FeedStats:
        return self.server.stats

    def sim_now_ns(self) -> int:
        return self.server.sim_now_ns()

    def wait_ended(self, timeout: float | None = None) -> bool:
        """Blocks until the day has been played (True) or `timeout` seconds have passed (False)."""
        return self._played.wait(timeout)

    def drop_connections(self) -> None:
        self.loop.call_soon_threadsafe(self.server.drop_connections)


@contextmanager
def serve_in_thread(options: FeedOptions, day: StoredDay | None = None) -> Iterator[FeedHandle]:
    """Starts the server on an ephemeral port (unless the options name one) on a thread of its own; stops
    it and closes its connections on exit. Store and date errors are raised here, before any thread starts.
    `day` plays those bars instead of the store's (the store still answers REST)."""
    server = FeedServer(options, day)
    loop = asyncio.new_event_loop()
    ready, played = threading.Event(), threading.Event()
    failure: list[BaseException] = []
    stop: list[Callable[[], None]] = []

    async def main() -> None:
        await server.start()
        task = asyncio.ensure_future(server.play())
        task.add_done_callback(lambda _: played.set())
        finished = asyncio.Event()
        stop.append(finished.set)
        ready.set()
        await finished.wait()
        task.cancel()
        await server.close()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:
            failure.append(exc)
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=run, name="daytape-feed", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        raise failure[0]
    try:
        yield FeedHandle(server, loop, played)
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0])
        thread.join()


async def serve_until_ended(options: FeedOptions, on_ready: Callable[[FeedServer], None]) -> FeedServer:
    """Runs the server in this event loop until the day has been played; `on_ready` is told its URLs."""
    server = FeedServer(options)
    await server.start()
    on_ready(server)
    try:
        await server.play()
    finally:
        await server.close()
    return server
