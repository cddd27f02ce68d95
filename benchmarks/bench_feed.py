"""The live feed's speed: one minute of the whole market (8,000 symbols; 800 with --quick) sent at once by
the local feed server, received through alpaca-py's `StockDataStream` into daytape's queue.

The server runs in a process of its own (as `daytape feed serve` does), so it does not share this
process's interpreter lock with the client. It plays a day whose first minute has a bar for every
symbol; the figure is the time from the server's first send of that minute to the last frame in the
client's queue (CLOCK_MONOTONIC, which both processes read). Beside it: the server's own send time and
the client's rate in frames per second.

Runnable alone: `python -m benchmarks.bench_feed [--quick]`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SESSION = dt.date(2024, 3, 5)
SYMBOLS = 8_000
QUICK_SYMBOLS = 800
#: simulated seconds per real second: the minute's bars go out 60 / SPEED s after the client subscribes
SPEED = 30.0


def _symbols(count: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    names = []
    for i in range(count):
        name = ""
        n = i
        for _ in range(4):
            n, r = divmod(n, 26)
            name = letters[r] + name
        names.append(name)
    return names


def serve(count: int, store: Path) -> None:
    """The server process: a day whose first minute has a bar for each of `count` symbols."""
    from marketdata.calendar import get_calendar
    from marketdata.feedserver import FeedOptions, serve_in_thread
    from marketdata.feedserver.day import NS_PER_MINUTE, MinuteBar, StoredDay

    calendar = get_calendar("XNYS")
    open_ns, close_ns = calendar.open_close_ns(SESSION)
    minutes: list[list[MinuteBar]] = [[] for _ in range((close_ns - open_ns) // NS_PER_MINUTE)]
    names = _symbols(count)
    for i, symbol in enumerate(names):
        price = 10.0 + i % 500
        minutes[0].append(MinuteBar(symbol, open_ns, price, price + 0.5, price - 0.5, price + 0.25, 1000.0 + i))
    midnight = dt.datetime.combine(SESSION, dt.time.min, tzinfo=calendar.tz)
    day = StoredDay(SESSION, open_ns, close_ns, minutes, names, int(midnight.timestamp()) * 10**9)
    options = FeedOptions(store=store, day=SESSION, speed=SPEED, end_minute=1, connection_limit=None)
    with serve_in_thread(options, day) as handle:
        print(json.dumps({"url": handle.ws_url()}), flush=True)
        handle.wait_ended()
        time.sleep(0.5)
        ((_, began, ended),) = handle.stats.minute_send_times
        print(json.dumps({"began": began, "ended": ended, "bars": handle.stats.bars_sent}), flush=True)
        sys.stdin.readline()  # until the client is done


def run(quick: bool) -> dict[str, Any]:
    from marketdata.live.alpaca_stream import AlpacaLiveStream
    from marketdata.live.credentials import credentials_from_env
    from marketdata.live.frames import LiveFrame

    count = QUICK_SYMBOLS if quick else SYMBOLS
    store = Path(__file__).resolve().parents[1] / ".bench" / "feed-store"
    store.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_feed", "--serve", str(count), str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        url = json.loads(server.stdout.readline())["url"]
        credentials = credentials_from_env(environ={"ALPACA_API_KEY": "bench", "ALPACA_SECRET_KEY": "bench"})
        received = 0
        with AlpacaLiveStream(credentials, url=url) as live:
            live.subscribe(["*"], ["bar"])
            while received < count:
                if isinstance(live.get(timeout=120), LiveFrame):
                    received += 1
            last = time.monotonic()
        sent = json.loads(server.stdout.readline())
        server.stdin.write("done\n")
        server.stdin.flush()
        server.wait(timeout=60)
    finally:
        server.kill()
    total = last - sent["began"]
    return {
        "feed_minute_symbols": count,
        "feed_minute_s": round(total, 4),
        "feed_server_send_s": round(sent["ended"] - sent["began"], 4),
        "feed_frames_per_s": round(count / total, 1),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        for key, value in run(quick="--quick" in sys.argv[1:]).items():
            print(f"{key}: {value}")
