"""`daytape run LIVE_FILE --feed-url URL [--date D] [--speed N] [--resume RUN]`: a live session rehearsed on a
local feed.

A run of one day, recorded like a backtest's (manifest, the day's stream, the seal): the config it records
is the file's with `start` and `end` set to the rehearsed day. The stream is alpaca-py's, pointed at the URL
(`ws://HOST:PORT` alone means the server's `/v2/<feed>` path); REST history and backfills go to the same host
over http. `run_live` is the run around one live day, rehearsed or real (daytape.realtime).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from daytape.day import run_store
from daytape.errors import UserError
from daytape.liveday import run_live_day
from daytape.liveresume import connected_at, resume_live_run
from daytape.resume import recorded_config
from daytape.runner import RunResult, mark_stopped, run_status, start_run
from eventlog.sink import RunSink
from eventlog.store import EventStore
from marketdata.calendar import get_calendar
from marketdata.clock import PacedClock, ScaledClock
from specs.config import SessionConfig

if TYPE_CHECKING:
    from marketdata.live.alpaca_stream import AlpacaLiveStream
    from marketdata.live.credentials import AlpacaCredentials
    from marketdata.sources.rest import MinuteFetch


def stream_urls(feed_url: str, feed: str) -> tuple[str, str]:
    """The stream URL alpaca-py connects to and the REST base URL of the same server."""
    parts = urlsplit(feed_url)
    path = parts.path if parts.path not in ("", "/") else f"/v2/{feed}"
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{parts.scheme}://{parts.netloc}{path}", f"{scheme}://{parts.netloc}"


def file_credentials(config: SessionConfig) -> AlpacaCredentials:
    """The key and secret from the environment variables the session file names (UserError naming a missing one)."""
    from marketdata.live.credentials import credentials_from_env
    from marketdata.live.errors import LiveFeedError

    try:
        return credentials_from_env(config.live_feed.key_env, config.live_feed.secret_env)
    except LiveFeedError as exc:
        raise UserError(str(exc)) from None


def run_rehearsal(
    log: EventStore,
    config: SessionConfig,
    feed_url: str,
    day: dt.date,
    speed: float,
    on_started: Callable[[str], None] | None = None,
    credentials: AlpacaCredentials | None = None,
) -> RunResult:
    """A new run of `config` rehearsing `day` on the feed at `feed_url`, `speed` times real time, with the
    credentials the file names (or `credentials`: the demo's, for its own local feed)."""
    clock = ScaledClock(get_calendar(config.exchange).open(day), speed)
    stream_url, rest_url = stream_urls(feed_url, config.live_feed.feed)
    return run_live(log, config, day, clock, stream_url, rest_url, on_started, credentials)


def run_live(
    log: EventStore,
    config: SessionConfig,
    day: dt.date,
    clock: PacedClock,
    stream_url: str | None,
    rest_url: str | None,
    on_started: Callable[[str], None] | None = None,
    credentials: AlpacaCredentials | None = None,
) -> RunResult:
    """A new run of `config`'s session on `day` from the stream at `stream_url` (None: Alpaca's), on `clock`."""
    credentials = credentials or file_credentials(config)
    config = config.model_copy(update={"start": day, "end": day})
    run_id = start_run(log, config)
    if on_started is not None:
        on_started(run_id)
    live = live_stream(config, credentials, stream_url, rest_url, clock)
    try:
        store = run_store(config)
        sink = RunSink(log, run_id)
        rest = rest_history(config, credentials, rest_url)
        result = run_live_day(config, store, sink, day, live, clock, record_to=store.store, rest=rest)
    except BaseException as exc:
        live.stop()
        mark_stopped(log, run_id, exc)
        raise
    status = run_status([result])
    seal = log.finish_run(run_id, status)
    return RunResult(run_id, status, [result], seal=seal)


def live_stream(
    config: SessionConfig,
    credentials: AlpacaCredentials,
    stream_url: str | None,
    rest_url: str | None,
    clock: PacedClock,
) -> AlpacaLiveStream:
    """alpaca-py's stream at `stream_url` (None: Alpaca's), stamping frames on the day's clock."""
    from marketdata.live.alpaca_stream import AlpacaLiveStream

    settings = config.live_feed
    return AlpacaLiveStream(
        credentials,
        feed=settings.feed,
        url=stream_url,
        rest_url=rest_url,
        silence_timeout=settings.silence_timeout_seconds / clock.speed,
        clock=clock,
    )


def rest_history(config: SessionConfig, credentials: AlpacaCredentials, rest_url: str | None) -> MinuteFetch:
    """Alpaca's REST minute bars at `rest_url` (None: Alpaca's): history with `feed.history: alpaca`."""
    from marketdata.live.alpaca_history import AlpacaHistory

    return AlpacaHistory(credentials, feed=config.live_feed.feed, url=rest_url).minute_bars


def resume_rehearsal(log: EventStore, run_id: str, feed_url: str, speed: float) -> RunResult:
    """Go on with the rehearsal `run_id` whose process stopped mid-day (daytape.liveresume): its clock runs on
    from when its day's stream first connected, at `speed`, in step with the feed that kept playing the day."""
    config = recorded_config(log, run_id)
    day = config.start
    credentials = file_credentials(config)
    started = connected_at(log, run_id, day)
    clock = ScaledClock(get_calendar(config.exchange).open(day), speed, started=started)
    stream_url, rest_url = stream_urls(feed_url, config.live_feed.feed)
    return resume_live_run(
        log,
        run_id,
        lambda: live_stream(config, credentials, stream_url, rest_url, clock),
        clock,
        rest=rest_history(config, credentials, rest_url),
    )
