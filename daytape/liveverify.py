"""A live run re-run from its tape: each day's recorded frames and notices, at their recorded arrival times on
a simulated clock, through the same live loop (daytape.liveday) into another log. No stream, no feed server and
no wall clock: `ReplayFeed` stands in for the stream and its `TapeClock` for the clock.

A live run's input is its own log's tape, so the tape is checked first: the run's audit (hash chains, stream
ends, the stored seal) must pass, or a tape rewritten with its hashes recomputed would re-run to itself.
"""

from __future__ import annotations

from daytape.day import DayResult, run_store
from daytape.errors import CheckFailed, UserError
from daytape.live.replayfeed import ReplayFeed
from daytape.liveday import run_live_day
from eventlog.audit import audit_run
from eventlog.errors import TamperedStream
from eventlog.reading import read_events, streams
from eventlog.sink import RunSink
from eventlog.store import EventStore
from marketdata.calendar import get_calendar
from specs import events as ev
from specs.config import SessionConfig
from specs.events import EventBase


class TapeNotSealed(CheckFailed):
    """The run's log is not as the run sealed it (its stored seal, its status): its tape cannot be trusted (exit 1)."""


def check_tape(log: EventStore, run_id: str) -> None:
    """TamperedStream naming the first bad event of a stream, or TapeNotSealed for the run as a whole, unless the
    log is as the run wrote and sealed it (an open run, one that was stopped, passes: its tape is re-run up to
    where it stopped)."""
    bad = audit_run(log, run_id, allow_open=True).first_bad
    if bad is None:
        return
    if bad.session_date is not None:
        raise TamperedStream(run_id, bad.session_date, bad.seq, bad.kind, bad.why)
    raise TapeNotSealed(f"verify: run {run_id}: {bad.why}; daytape audit {run_id} checks the whole run")


def rerun_live(
    log: EventStore, run_id: str, config: SessionConfig, scratch: EventStore, rerun_id: str
) -> list[DayResult]:
    """Each day of live run `run_id` (in `log`) re-run from its tape into run `rerun_id` of `scratch`."""
    calendar = get_calendar(config.exchange)
    store = run_store(config)
    sink = RunSink(scratch, rerun_id)
    results = []
    for stream in streams(log, run_id):
        day = stream.session_date
        tape = [row.event() for row in read_events(log, run_id, session_date=day)]
        feed = ReplayFeed(tape, calendar.open(day))
        try:
            results.append(run_live_day(config, store, sink, day, feed, feed.clock))
        except UserError:
            if not stopped_by_the_feed(tape):
                raise
            # the day stopped at the feed's failure when it ran, and its re-run stops there too: the diff compares
    return results


def stopped_by_the_feed(tape: list[EventBase]) -> bool:
    """Whether the day's stream ends with the feed giving up (a refused key, a plan without the feed)."""
    return any(isinstance(event, ev.FeedDisconnected) and event.reason == "failed" for event in tape)
