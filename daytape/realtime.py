"""`daytape run LIVE_FILE` without `--feed-url`: today's session, in real time, on Alpaca's feed.

Today is the exchange's calendar date on the live clock (`marketdata.clock.live_clock()`: the wall clock, or
the one a test puts in its place). A day that is not a session, and a session already closed, stop with one
line (exit 2) before anything is written; before the open the run says how long it waits and waits; after the
open it joins the session (the minutes already gone step at once, as gaps). The stream and REST URLs are the
session file's `feed.stream_url` and `feed.rest_url`, else Alpaca's own (alpaca-py's defaults for the feed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from daytape.errors import UserError
from daytape.liveresume import resume_live_run
from daytape.rehearsal import file_credentials, live_stream, rest_history, run_live
from daytape.resume import recorded_config
from daytape.runner import RunResult
from eventlog.store import EventStore
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.clock import PacedClock, wait_until
from specs.config import SessionConfig


def _local(calendar: TradingCalendar, t: dt.datetime) -> str:
    return f"{t.astimezone(calendar.tz):%H:%M} {calendar.tz.key}"


def _in(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


@dataclass(frozen=True)
class Today:
    """Today's session as the live clock read it: the day, its open and close, and the reading."""

    exchange: str
    day: dt.date
    open: dt.datetime
    close: dt.datetime
    now: dt.datetime

    def announcement(self) -> str:
        """What the run says before it connects: how long it waits for the open, or that it joins the session."""
        calendar = get_calendar(self.exchange)
        opens = _local(calendar, self.open)
        if self.now < self.open:
            wait = (self.open - self.now).total_seconds()
            return f"waiting for the open: {self.exchange} opens at {opens} on {self.day}, in {_in(wait)}"
        return f"the {self.day} session opened at {opens}: joining it now"


def todays_session(config: SessionConfig, clock: PacedClock) -> Today:
    """Today's session on the exchange, or UserError: no session today, or none left."""
    calendar = get_calendar(config.exchange)
    now = clock.now()
    today = calendar.local_date(now)
    if not calendar.is_session(today):
        raise UserError(
            f"no session today: {today} ({today:%A}) is not a session of {config.exchange}; "
            f"the next is {calendar.next_session(today)}"
        )
    open_, close = calendar.open(today), calendar.close(today)
    if now >= close:
        raise UserError(
            f"no session left today: {config.exchange} closed at {_local(calendar, close)} on {today}; "
            f"the next session is {calendar.next_session(today)}"
        )
    if not config.start <= today <= config.end:
        raise UserError(f"today ({today}) is outside the file's start..end ({config.start}..{config.end})")
    return Today(config.exchange, today, open_, close, now)


def run_today(
    log: EventStore,
    config: SessionConfig,
    today: Today,
    clock: PacedClock,
    on_started: Callable[[str], None] | None = None,
) -> RunResult:
    """A new run of `today`'s session of `config` on `clock`, once the clock has reached the open."""
    wait_until(clock, today.open)
    settings = config.live_feed
    return run_live(log, config, today.day, clock, settings.stream_url, settings.rest_url, on_started)


def resume_today(log: EventStore, run_id: str, today: Today, clock: PacedClock) -> RunResult:
    """Go on with today's live run `run_id`, stopped mid-day: its tape re-run, then the stream connected again
    (daytape.liveresume); the minutes it was down are the reconnection's missed minutes. Only today's run."""
    config = recorded_config(log, run_id)
    if config.start != today.day:
        raise UserError(f"run {run_id} ran {config.start}: a live run goes on only on its own day ({today.day} today)")
    settings = config.live_feed
    credentials = file_credentials(config)
    return resume_live_run(
        log,
        run_id,
        lambda: live_stream(config, credentials, settings.stream_url, settings.rest_url, clock),
        clock,
        rest=rest_history(config, credentials, settings.rest_url),
    )
