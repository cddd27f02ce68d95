"""`--resume` of a live rehearsal whose process was killed mid-day (SIGKILL: nothing of it runs after), against
the local feed server that goes on playing the day meanwhile, through alpaca-py: the day goes on from its tape
(the events it had written stay as they were), the hole is on the tape with the minutes it missed, and the
finished run audits clean and verifies from its tape."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from daytape.live.resumedfeed import STOPPED_DETAIL
from eventlog.store import open_store
from marketdata.feedserver import FeedOptions, serve_in_thread
from specs import events as ev
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import daytape, october_session, write_session
from tests.feed.conftest import ENV

DAY = "2013-10-09"
OPEN = datetime(2013, 10, 9, 13, 30, tzinfo=UTC)
SPEED = 600.0
#: the feed's minute (from the open) by which the first process is killed: after the scanner's 10:00 request
KILL_AFTER_MINUTES = 45


def _as_from_a_terminal() -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def chain(log_url: str, run_id: str) -> list[tuple[int, str]]:
    with open_store(log_url) as log:
        return [(row.seq, row.hash) for row in log.events(run_id)]


def test_a_killed_rehearsal_resumes_from_its_tape_records_the_hole_and_verifies(lean_store_root, tmp_path):
    log_url = f"sqlite:///{tmp_path / 'live.db'}"
    session = october_session(
        lean_store_root, log_url, mode="live", feed={"grace_seconds": 30.0, "missed_minutes": "gap"}
    )
    path = write_session(tmp_path / "live.yaml", session)
    options = FeedOptions(store=lean_store_root, day=OPEN.date(), speed=SPEED)
    with serve_in_thread(options) as handle:
        url = handle.ws_url().rsplit("/v2/", 1)[0]
        args = ["run", str(path), "--feed-url", url, "--date", DAY, "--speed", f"{SPEED:g}"]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **ENV}
        env.pop("DAYTAPE_LOG_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "daytape.cli", *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=_as_from_a_terminal,
        )
        try:
            kill_at = int((OPEN + timedelta(minutes=KILL_AFTER_MINUTES)).timestamp()) * 10**9
            deadline = time.monotonic() + 120
            while handle.sim_now_ns() < kill_at:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "the feed never reached the minute to kill at"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        [run] = json.loads(daytape("runs", "--json", "--log", log_url).stdout)
        run_id = run["run_id"]
        assert run["status"] == "running"
        before = chain(log_url, run_id)
        resumed = daytape(*args, "--resume", run_id[:8], env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == run_id

    after = chain(log_url, run_id)
    assert after[: len(before)] == before, "the events written before the kill stay as they were"
    with open_store(log_url) as log:
        events = [row.event() for row in log.events(run_id)]
    stopped = [e for e in events if isinstance(e, ev.FeedDisconnected) and e.detail == STOPPED_DETAIL]
    [hole] = stopped
    index = events.index(hole)
    assert index >= len(before) and hole.reason == "dropped" and hole.last_minute is not None
    [back] = [e for e in events[index:] if isinstance(e, ev.FeedReconnected)]
    assert back.policy == "gap" and back.missed_minutes >= 1
    assert back.missed_start == hole.last_minute + timedelta(minutes=1)
    assert back.missed_end is not None and back.missed_end < back.at
    # no bar of a missed minute came from the stream; the minutes after it did
    received = {(b.symbol, b.ts) for b in events if isinstance(b, ev.BarReceived)}
    assert not any(back.missed_start <= ts <= back.missed_end for _, ts in received)
    assert any(ts > back.missed_end for _, ts in received)
    [ended] = [e for e in events if isinstance(e, ev.SessionEnded)]
    assert ended.steps == 390  # every minute stepped once: before the kill, in the hole (gaps), after it

    audit = daytape("audit", run_id, "--log", log_url)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    verify = daytape("verify", run_id, "--log", log_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith(f"deterministic: run {run_id} re-ran from its tape to the same {len(after)} events")


def test_resuming_a_finished_live_run_changes_nothing(lean_store_root, tmp_path):
    """The demo's kind of run, finished: --resume says there is nothing to resume and writes nothing."""
    log_url = f"sqlite:///{tmp_path / 'live.db'}"
    path = write_session(tmp_path / "live.yaml", october_session(lean_store_root, log_url, mode="live"))
    options = FeedOptions(store=lean_store_root, day=OPEN.date(), speed=6000.0, end_minute=3)
    with serve_in_thread(options) as handle:
        url = handle.ws_url()
        done = daytape("run", str(path), "--feed-url", url, "--date", DAY, "--speed", "6000", env=ENV)
        assert done.returncode == 0, done.stderr
        run_id = done.stdout.strip()
        before = chain(log_url, run_id)
        again = daytape(
            "run", str(path), "--feed-url", url, "--date", DAY, "--speed", "6000", "--resume", run_id, env=ENV
        )
    assert again.returncode == 0, again.stderr
    assert "nothing to resume" in again.stderr
    assert chain(log_url, run_id) == before
    other_day = daytape("run", str(path), "--feed-url", url, "--date", "2013-10-10", "--resume", run_id, env=ENV)
    assert other_day.returncode == 2
    assert other_day.stderr.strip() == f"--date 2013-10-10: run {run_id} ran 2013-10-09; --resume goes on with that day"
