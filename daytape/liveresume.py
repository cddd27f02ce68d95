"""`--resume` of a live day whose process stopped mid-day: the day goes on from its tape.

A live day cannot be redone from its start (the stream has moved on), so the day's stream is kept and
continued. The day's loop is re-run from the start on the recorded tape (daytape.live.resumedfeed): the same
open, the same frames at the same arrival times, the same steps and plugin calls, so the coordinator's state,
the gate, the tape recorder and the plugins' own state come back to where they were. Every event the re-run
makes is checked against the log's next one by its hash (`ResumeSink`) and not written again; once the re-run
has re-made them all, the stream is connected again, the hole is recorded (FeedDisconnected where daytape
stopped, FeedReconnected with the missed minutes), and the day goes on, appending to its stream, to the close.
`verify` then re-runs the whole day, hole included, from the tape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from daytape.day import run_store
from daytape.errors import UserError
from daytape.live.replayfeed import ReplayFeed
from daytape.live.resumedfeed import ResumedFeed, Stream
from daytape.liveday import PacedClock, run_live_day
from daytape.resume import check_resumable, finished_days, recorded_config
from daytape.runner import RunResult, mark_stopped, run_status
from eventlog.errors import TamperedStream
from eventlog.hashing import event_hash, genesis_hash, payload_bytes
from eventlog.reading import get_run, read_events, verified_stream
from eventlog.sink import RunSink
from eventlog.store import EventFilter, EventStore
from marketdata.calendar import get_calendar
from marketdata.sources.rest import MinuteFetch
from specs.events import EventBase
from specs.status import RunStatus


class ResumeDiverged(UserError):
    """The re-run of a stopped live day's tape did not re-make the events its log holds: it cannot go on."""


class ResumeSink:
    """The day's events as the re-run makes them: each one the log already holds is checked by its hash (the
    chain from the day's genesis: the same hash is the same event after the same events) and not written
    again; the rest are appended after them."""

    def __init__(self, log: EventStore, run_id: str, day: dt.date) -> None:
        self.run_id, self.day = run_id, day
        try:
            rows = verified_stream(log, run_id, day)
        except TamperedStream as exc:
            raise UserError(f"cannot resume run {run_id}: {exc}; daytape audit {run_id} checks the whole run") from None
        self._recorded = [(int(row[0]), str(row[1]), str(row[4])) for row in rows]
        self._matched = 0
        self._prev = genesis_hash(day)
        self._sink = RunSink(log, run_id, resume=True)

    def caught_up(self) -> bool:
        return self._matched == len(self._recorded)

    def append(self, session_date: dt.date, events: Sequence[EventBase]) -> list[int]:
        seqs: list[int] = []
        for index, event in enumerate(events):
            if self.caught_up():
                return seqs + self._sink.append(session_date, events[index:])
            seq, kind, recorded = self._recorded[self._matched]
            digest = event_hash(self._prev, payload_bytes(event))
            if digest != recorded:
                raise ResumeDiverged(
                    f"cannot resume run {self.run_id}: re-running its tape made {event.kind} at seq {seq} of "
                    f"{self.day}, where the log has {'another ' if kind == event.kind else ''}{kind}; "
                    "the day cannot go on from where it stopped: start a new run"
                )
            self._prev, self._matched = digest, self._matched + 1
            seqs.append(seq)
        return seqs


def connected_at(log: EventStore, run_id: str, day: dt.date) -> dt.datetime | None:
    """The wall time the day's first connection was recorded (None if it never connected)."""
    rows = log.events(run_id, EventFilter(session_date=day, kinds=("FeedConnected",)))
    return rows[0].recorded_at if rows else None


def resume_live_run(
    log: EventStore,
    run_id: str,
    connect: Callable[[], Stream],
    clock: PacedClock,
    rest: MinuteFetch | None = None,
) -> RunResult:
    """Go on with the stopped live day of run `run_id`: its tape re-run, then the stream `connect()` opens, on
    `clock` (see the module docstring); `rest` is the REST history a `feed.history: alpaca` day reads. A run
    whose day has finished is left as it is (`nothing_to_resume`)."""
    config = recorded_config(log, run_id)
    day = config.start
    done = finished_days(log, run_id, {day})
    if day in done:
        status = run_status([done[day]])
        recorded = get_run(log, run_id)
        if recorded.status == status:
            return RunResult(run_id, status, [done[day]], nothing_to_resume=True, seal=recorded.seal)
        return RunResult(run_id, status, [done[day]], seal=log.finish_run(run_id, status))
    check_resumable(log, run_id, config)
    sink = ResumeSink(log, run_id, day)
    tape = [row.event() for row in read_events(log, run_id, session_date=day)]
    feed = ResumedFeed(ReplayFeed(tape, get_calendar(config.exchange).open(day)), connect, clock, sink.caught_up)
    log.finish_run(run_id, RunStatus.RUNNING)
    try:
        store = run_store(config)
        result = run_live_day(config, store, sink, day, feed, feed, record_to=store.store, rest=rest)
    except BaseException as exc:
        feed.stop()
        mark_stopped(log, run_id, exc)
        raise
    status = run_status([result])
    return RunResult(run_id, status, [result], seal=log.finish_run(run_id, status))
