"""`daytape run LIVE_FILE --feed-url URL [--date D] [--speed N]`: a live session rehearsed on a local feed.

A run of one day, recorded like a backtest's (manifest, the day's stream, the seal): the config it records
is the file's with `start` and `end` set to the rehearsed day. The stream is alpaca-py's, pointed at the URL
(`ws://HOST:PORT` alone means the server's `/v2/<feed>` path); REST backfills go to the same host over http.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from daytape.day import run_store
from daytape.errors import UserError
from daytape.liveday import run_live_day
from daytape.runner import RunResult, mark_stopped, run_status, start_run
from eventlog.sink import RunSink
from eventlog.store import EventStore
from marketdata.calendar import get_calendar
from marketdata.clock import ScaledClock
from specs.config import SessionConfig

if TYPE_CHECKING:
    from marketdata.live.credentials import AlpacaCredentials


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
    from marketdata.live.alpaca_stream import AlpacaLiveStream

    settings = config.live_feed
    credentials = credentials or file_credentials(config)
    config = config.model_copy(update={"start": day, "end": day})
    calendar = get_calendar(config.exchange)
    clock = ScaledClock(calendar.open(day), speed)
    stream_url, rest_url = stream_urls(feed_url, settings.feed)
    run_id = start_run(log, config)
    if on_started is not None:
        on_started(run_id)
    live = AlpacaLiveStream(
        credentials,
        feed=settings.feed,
        url=stream_url,
        rest_url=rest_url,
        silence_timeout=settings.silence_timeout_seconds / speed,
        clock=clock,
    )
    try:
        result = run_live_day(config, run_store(config), RunSink(log, run_id), day, live, clock)
    except BaseException as exc:
        live.stop()
        mark_stopped(log, run_id, exc)
        raise
    status = run_status([result])
    seal = log.finish_run(run_id, status)
    return RunResult(run_id, status, [result], seal=seal)
