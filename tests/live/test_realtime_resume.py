"""`daytape run live.yaml --resume RUN` without --feed-url: today's real-time run, stopped mid-day by Ctrl-C, goes
on from its tape on the same day, against the local feed server that kept playing the day meanwhile (the session
file's `stream_url`/`rest_url`), on a test's live clock (`using_live_clock`; the CLI runs in-process). The events
written before the stop stay as they were, the hole is on the tape with its missed minutes (backfilled from the
REST history, the file's default), the day completes, audits clean and verifies from its tape; a run of another
day, a backtest's run and a finished run are refused or left as they are."""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta

from daytape import cli
from daytape.live.resumedfeed import STOPPED_DETAIL
from eventlog.store import open_store
from marketdata.clock import using_live_clock
from marketdata.feedserver import FeedHandle, FeedOptions, serve_in_thread
from specs import events as ev
from tests.e2e.conftest import daytape, october_session, write_session
from tests.live.test_realtime import StoppedClock, credentials, live_file

__all__ = ["credentials"]

OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)
SPEED = 2400.0
#: the feed's minute (from the open) at which the run gets Ctrl-C: after the scanner's 10:00 request
STOP_AFTER_MINUTES = 45
#: the feed's minute by which the run is resumed: the minutes between are the hole
RESUME_AFTER_MINUTES = 60
#: a reading of the live clock in the middle of the run's day, and one on the next day
MIDDAY = datetime(2013, 10, 9, 17, 0, tzinfo=UTC)
NEXT_DAY = datetime(2013, 10, 10, 17, 0, tzinfo=UTC)


class FeedClock:
    """The feed server's simulated time as the live clock: Alpaca's stream is in step with the wall clock, and
    this clock with the local feed (at the open until the run subscribes, then `speed` times real time)."""

    def __init__(self, handle: FeedHandle, speed: float) -> None:
        self.handle, self.speed = handle, speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.handle.sim_now_ns() / 1e9, UTC)

    def seconds_until(self, t: datetime) -> float:
        return max(0.0, (t - self.now()).total_seconds() / self.speed)


def _ns(minutes: int) -> int:
    return int((OPEN + timedelta(minutes=minutes)).timestamp()) * 10**9


def _wait_for_minute(handle: FeedHandle, minutes: int, stop: threading.Event) -> bool:
    deadline = time.monotonic() + 120
    while handle.sim_now_ns() < _ns(minutes):
        if stop.wait(0.02) or time.monotonic() > deadline:
            return False
    return True


def _ctrl_c_at(handle: FeedHandle, minutes: int, stop: threading.Event) -> threading.Thread:
    """A thread that sends SIGINT to this process's main thread (the one running the CLI) once the feed reaches
    `minutes` after the open, unless `stop` is set first."""
    main = threading.main_thread().ident
    assert main is not None

    def send() -> None:
        if _wait_for_minute(handle, minutes, stop):
            signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def chain(log_url: str, run_id: str) -> list[tuple[int, str]]:
    with open_store(log_url) as log:
        return [(row.seq, row.hash) for row in log.events(run_id)]


def run_status(log_url: str, run_id: str) -> str:
    with open_store(log_url) as log:
        [info] = [r for r in log.list_runs() if r.run_id == run_id]
    return str(info.status)


def test_a_stopped_real_time_run_resumes_on_its_day_from_its_tape_records_the_hole_and_verifies(
    lean_store_root, tmp_path, capsys, credentials
):
    with serve_in_thread(FeedOptions(store=lean_store_root, day=OPEN.date(), speed=SPEED)) as handle:
        path, _ = live_file(tmp_path, lean_store_root, stream_url=handle.ws_url(), rest_url=handle.http_url)
        log_url = f"sqlite:///{tmp_path / 'given.db'}"  # --log given, not the file's: the hint names it
        stop = threading.Event()
        with using_live_clock(FeedClock(handle, SPEED)):
            sender = _ctrl_c_at(handle, STOP_AFTER_MINUTES, stop)
            try:
                code = cli.main(["run", str(path), "--log", log_url])
            finally:
                stop.set()
                sender.join()
            out, err = capsys.readouterr()
            assert (code, out) == (130, ""), err
            with open_store(log_url) as log:
                [info] = log.list_runs()
            run_id = info.run_id
            assert err.strip().splitlines()[-1] == (
                f"interrupted; run {run_id} stopped; resume with: daytape run {path} --resume {run_id} --log {log_url}"
            )
            assert run_status(log_url, run_id) == "interrupted"
            before = chain(log_url, run_id)

            with using_live_clock(StoppedClock(NEXT_DAY)):
                code = cli.main(["run", str(path), "--resume", run_id, "--log", log_url])
            out, err = capsys.readouterr()
            assert (code, out) == (2, "")
            assert err.strip().splitlines()[-1] == (
                f"run {run_id} ran 2013-10-09: a live run goes on only on its own day (2013-10-10 today)"
            )
            assert chain(log_url, run_id) == before and run_status(log_url, run_id) == "interrupted"

            assert _wait_for_minute(handle, RESUME_AFTER_MINUTES, threading.Event())
            code = cli.main(["run", str(path), "--resume", run_id[:8], "--log", log_url])
        out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == run_id
    assert err.splitlines()[0] == "the 2013-10-09 session opened at 09:30 America/New_York: joining it now"

    after = chain(log_url, run_id)
    assert after[: len(before)] == before, "the events written before the stop stay as they were"
    assert run_status(log_url, run_id) == "completed"
    assert not (tmp_path / "live.db").exists(), "the file's log is not the one --log gave"
    with open_store(log_url) as log:
        events = [row.event() for row in log.events(run_id)]
    [hole] = [e for e in events if isinstance(e, ev.FeedDisconnected) and e.detail == STOPPED_DETAIL]
    index = events.index(hole)
    assert index >= len(before) and hole.reason == "dropped" and hole.last_minute is not None
    assert hole.last_minute < OPEN + timedelta(minutes=STOP_AFTER_MINUTES + 1)
    [back] = [e for e in events[index:] if isinstance(e, ev.FeedReconnected)]
    assert back.policy == "backfill" and back.missed_minutes >= RESUME_AFTER_MINUTES - STOP_AFTER_MINUTES - 1
    assert back.missed_start == hole.last_minute + timedelta(minutes=1)
    assert back.missed_end is not None and back.missed_end < back.at
    [filled] = [e for e in events if isinstance(e, ev.FeedBackfilled)]
    assert (filled.start, filled.end, filled.minutes) == (back.missed_start, back.missed_end, back.missed_minutes)
    backfilled = [e for e in events if isinstance(e, ev.BarReceived) and e.backfilled]
    assert len(backfilled) == filled.bars > 0
    assert all(back.missed_start <= b.ts <= back.missed_end for b in backfilled)
    streamed = [e for e in events if isinstance(e, ev.BarReceived) and not e.backfilled]
    assert not any(back.missed_start <= b.ts <= back.missed_end for b in streamed)
    assert any(b.ts > back.missed_end for b in streamed), "the stream went on after the hole"
    [ended] = [e for e in events if isinstance(e, ev.SessionEnded)]
    assert ended.steps == 390  # every minute stepped once: before the stop, in the hole, after it

    audit = daytape("audit", run_id, "--log", log_url)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    verify = daytape("verify", run_id, "--log", log_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith(f"deterministic: run {run_id} re-ran from its tape to the same {len(after)} events")

    with using_live_clock(StoppedClock(MIDDAY)):
        code = cli.main(["run", str(path), "--resume", run_id, "--log", log_url])
    out, err = capsys.readouterr()
    assert (code, out.strip()) == (0, run_id), err
    assert f"run {run_id} is completed: its day has finished; nothing to resume" in err.splitlines()
    assert chain(log_url, run_id) == after


def test_a_backtest_run_is_not_resumed_as_todays_live_run(lean_store_root, tmp_path, capsys, credentials):
    path, log_url = live_file(tmp_path, lean_store_root)
    backtest = october_session(lean_store_root, log_url, start="2013-10-08", end="2013-10-08")
    done = daytape("run", str(write_session(tmp_path / "backtest.yaml", backtest)))
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    before = chain(log_url, run_id)
    with using_live_clock(StoppedClock(MIDDAY)):
        code = cli.main(["run", str(path), "--resume", run_id, "--log", log_url])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == (
        f"{path}: run {run_id} is a backtest; resume it with its backtest session file"
    )
    assert chain(log_url, run_id) == before
