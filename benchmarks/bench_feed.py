"""The live feed's speed: one minute of the whole market (8,000 symbols; 800 with --quick) sent at once by
the local feed server, received through alpaca-py's `StockDataStream` into daytape's queue, and then through
the whole live day: recorded in the tape and stepped.

The server runs in a process of its own (as `daytape feed serve` does), so it does not share this
process's interpreter lock with the client. It plays a day whose first minute has a bar for every
symbol; each figure is the time from the server's first send of that minute (CLOCK_MONOTONIC, which both
processes read) to:

- `feed_minute_s`: the last frame in the client's queue (the stream alone). Beside it the server's own send
  time and the client's rate in frames per second.
- `feed_live_minute_s`: the plugins' step of that minute in a live day (`run_live_day`: the open provisions
  the symbols from a Parquet store, the stream subscribes bars, updated bars, daily bars and statuses of all
  of them, every frame is appended to the tape in a real SQLite log before the minute gate sees it, and the
  gate releases the step when the last symbol's bar has come). The day's clock then runs fast to the close.
  Beside it the tape's append rate in that day (`feed_tape_append_events_per_s`: the frames and notices
  appended, over the time spent appending them) and the backtest's append rate on the same machine in the
  same run (`feed_backtest_append_events_per_s`: bench_eventlog's method, batches of 1,000 realistic events).

Runnable alone: `python -m benchmarks.bench_feed [--quick]`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from daytape.plugins import Strategy
from specs.events import FRAME_EVENT_KINDS, NOTICE_EVENT_KINDS

SESSION = dt.date(2024, 3, 5)
SYMBOLS = 8_000
QUICK_SYMBOLS = 800
#: simulated seconds per real second: the minute's bars go out 60 / SPEED s after the client subscribes
SPEED = 10.0
#: the live day's clock after its first step: the rest of the session passes in about a second
FAST = 30_000.0
ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
TAPE_KINDS = frozenset((*FRAME_EVENT_KINDS, *NOTICE_EVENT_KINDS))


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


@contextmanager
def _server(count: int) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    """The server process playing `count` symbols' first minute: its URL, and what it says once it has sent."""
    store = BENCH / "feed-store"
    store.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_feed", "--serve", str(count), str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        url = json.loads(server.stdout.readline())["url"]
        out = server.stdout

        def sent() -> dict[str, Any]:
            return json.loads(out.readline())  # type: ignore[no-any-return]

        yield url, sent
        server.stdin.write("done\n")
        server.stdin.flush()
        server.wait(timeout=60)
    finally:
        server.kill()


def _receive(count: int) -> dict[str, Any]:
    from marketdata.live.alpaca_stream import AlpacaLiveStream
    from marketdata.live.frames import LiveFrame

    with _server(count) as (url, sent):
        received = 0
        with AlpacaLiveStream(_credentials(), url=url) as live:
            live.subscribe(["*"], ["bar"])
            while received < count:
                if isinstance(live.get(timeout=120), LiveFrame):
                    received += 1
            last = time.monotonic()
        began, ended = _sent_times(sent())
    total = last - began
    return {
        "feed_minute_symbols": count,
        "feed_minute_s": round(total, 4),
        "feed_server_send_s": round(ended - began, 4),
        "feed_frames_per_s": round(count / total, 1),
    }


def _credentials() -> Any:
    from marketdata.live.credentials import credentials_from_env

    return credentials_from_env(environ={"ALPACA_API_KEY": "bench", "ALPACA_SECRET_KEY": "bench"})


def _sent_times(sent: dict[str, Any]) -> tuple[float, float]:
    return float(sent["began"]), float(sent["ended"])


class _FastForward:
    """The live day's clock: the open at its first reading (the stream's `connected`, as a rehearsal's), then
    `SPEED` times real time until `fast()`, then `FAST` times (to reach the close)."""

    def __init__(self, origin: dt.datetime) -> None:
        self.speed = SPEED
        self._origin, self._start = origin, 0.0

    def now(self) -> dt.datetime:
        if not self._start:
            self._start = time.monotonic()
        return self._origin + dt.timedelta(seconds=(time.monotonic() - self._start) * self.speed)

    def seconds_until(self, t: dt.datetime) -> float:
        return max(0.0, (t - self.now()).total_seconds() / self.speed)

    def fast(self) -> None:
        self._origin, self._start, self.speed = self.now(), time.monotonic(), FAST


class _StepTimer(Strategy):
    """Notes the monotonic and CPU times of the first step (the minute the server sent), then runs the clock
    fast."""

    def __init__(self, clock: _FastForward, sink: _TimedSink) -> None:
        super().__init__()
        self.clock, self.sink = clock, sink
        self.first_step: tuple[float, float] | None = None
        #: the minute bars on the tape when the first step ran (all of them, unless it ran by its deadline)
        self.bars_before = 0

    def on_step(self, ctx: Any) -> None:
        if self.first_step is None:
            self.first_step = (time.monotonic(), time.process_time())
            self.bars_before = self.sink.bars
            self.clock.fast()


def _first_bar_noted(stream: Any) -> list[float]:
    """The process's CPU time when the stream's first minute bar arrives (a list filled on that message)."""
    noted: list[float] = []
    on_message = stream._on_message

    async def note(message: dict[str, Any]) -> None:
        if not noted and message.get("T") == "b":
            noted.append(time.process_time())
        await on_message(message)

    for handlers in stream._sdk._handlers.values():
        for symbol in handlers:
            handlers[symbol] = note
    stream._on_message = note
    return noted


class _TimedSink:
    """The run's sink, timing the appends of the tape's events (frames and feed notices)."""

    def __init__(self, sink: Any) -> None:
        self.sink, self.seconds, self.events, self.appends, self.bars = sink, 0.0, 0, 0, 0

    def append(self, session_date: dt.date, events: Any) -> list[int]:
        tape = bool(events) and all(e.kind in TAPE_KINDS for e in events)
        start = time.perf_counter()
        seqs: list[int] = self.sink.append(session_date, events)
        if tape:
            self.seconds += time.perf_counter() - start
            self.events += len(events)
            self.appends += 1
            self.bars += sum(1 for e in events if e.kind == "BarReceived")
        return seqs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sink, name)


def _store(names: list[str]) -> Path:
    """A Parquet store with the session's bars of every symbol (the open provisions them from it)."""
    from marketdata.calendar import get_calendar
    from marketdata.generator import write_sample_store
    from marketdata.store import BarStore

    calendar = get_calendar("XNYS")
    root = BENCH / f"feed-live-store-{len(names)}"
    store = BarStore(root, calendar)
    if store.days(names[-1], "1m")[-1:] != [SESSION]:
        write_sample_store(store, names, SESSION, SESSION, calendar, seed=19, gap_rate=0.0)
    return root


def _live_day(count: int) -> dict[str, Any]:
    from daytape.day import run_store
    from daytape.liveday import run_live_day
    from daytape.runner import start_run
    from eventlog.sink import RunSink
    from eventlog.store import open_store
    from marketdata.calendar import get_calendar
    from marketdata.live.alpaca_stream import AlpacaLiveStream
    from specs.config import SessionConfig

    names = _symbols(count)
    store = _store(names)
    config = SessionConfig.model_validate(
        {
            "name": "bench-feed-live",
            "mode": "live",
            "start": SESSION,
            "end": SESSION,
            "store": str(store),
            "symbols": names,
            "streams": ["1m"],
            # the longest grace (6 s at SPEED): the step must be released by the minute's last bar, not the deadline
            "feed": {"grace_seconds": 60.0},
        }
    )
    log_path = BENCH / f"feed-live-{count}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{log_path}{suffix}").unlink(missing_ok=True)
    clock = _FastForward(get_calendar("XNYS").open(SESSION))
    with open_store(f"sqlite:///{log_path}") as log, _server(count) as (url, sent):
        run_id = start_run(log, config)
        sink = _TimedSink(RunSink(log, run_id))
        timer = _StepTimer(clock, sink)
        live = AlpacaLiveStream(_credentials(), url=url, silence_timeout=None, clock=clock)
        first_bar = _first_bar_noted(live)
        started = time.perf_counter()
        result = run_live_day(config, run_store(config), sink, SESSION, live, clock, [timer])  # type: ignore[arg-type]
        day_s = time.perf_counter() - started
        began, _ = _sent_times(sent())
        assert str(result.status) == "ended", result
        bars = sum(1 for row in log.events(run_id) if row.kind == "BarReceived")
    assert timer.first_step is not None and first_bar and bars >= count
    stepped, stepped_cpu = timer.first_step
    if timer.bars_before < count:
        raise RuntimeError(f"the first minute stepped by its deadline with {timer.bars_before} bars of {count}")
    return {
        "feed_live_minute_symbols": count,
        "feed_live_minute_s": round(stepped - began, 4),
        "feed_live_minute_cpu_s": round(stepped_cpu - first_bar[0], 4),
        "feed_live_day_s": round(day_s, 2),
        "feed_tape_events": sink.events,
        "feed_tape_appends": sink.appends,
        "feed_tape_append_events_per_s": round(sink.events / sink.seconds),
        "feed_backtest_append_events_per_s": _backtest_append_rate(),
    }


def _backtest_append_rate() -> int:
    """bench_eventlog's append figure (SQLite, batches of 1,000 realistic events) on a small workload."""
    from benchmarks.bench_eventlog import BATCH, _append_seconds, _chunks, _workload
    from tests.eventlog.streams import flatten

    work = {day: _chunks(flatten(batches), BATCH) for day, batches in _workload(quick=True).items()}
    count = sum(len(batch) for batches in work.values() for batch in batches)
    best = float("inf")
    for _ in range(3):
        path = BENCH / "feed-backtest-append.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        seconds, _, _ = _append_seconds(f"sqlite:///{path}", work)
        best = min(best, seconds)
    return round(count / best)


def run(quick: bool) -> dict[str, Any]:
    count = QUICK_SYMBOLS if quick else SYMBOLS
    return {**_receive(count), **_live_day(count)}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        for key, value in run(quick="--quick" in sys.argv[1:]).items():
            print(f"{key}: {value}")
