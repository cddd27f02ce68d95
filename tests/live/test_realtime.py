"""`daytape run live.yaml` without --feed-url: today's session in real time, on the live clock
(`marketdata.clock.using_live_clock` puts a test's clock in the wall clock's place; the CLI runs in-process).
No network reaches Alpaca here, so the run against a feed is the session file's `stream_url`/`rest_url` pointed at
the local feed server playing a stored day, on a clock that starts just before that day's open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daytape import cli
from eventlog.store import open_store
from marketdata.clock import ScaledClock, using_live_clock
from marketdata.feedserver import FeedOptions, serve_in_thread
from specs import events as ev
from tests.e2e.conftest import daytape, october_session, write_session
from tests.feed.conftest import DAY, ENV


class StoppedClock:
    """A clock that always reads `t`."""

    speed = 1.0

    def __init__(self, t: datetime) -> None:
        self.t = t

    def now(self) -> datetime:
        return self.t

    def seconds_until(self, t: datetime) -> float:
        return max(0.0, (t - self.t).total_seconds())


@pytest.fixture
def credentials(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAYTAPE_LOG_URL", raising=False)


def live_file(tmp_path, store, **feed):
    log_url = f"sqlite:///{tmp_path / 'live.db'}"
    settings = {"grace_seconds": 30.0, "silence_timeout_seconds": 3600.0, **feed}
    session = october_session(store, log_url, mode="live", feed=settings)
    return write_session(tmp_path / "live.yaml", session), log_url


@pytest.mark.parametrize(
    ("now", "line"),
    [
        (
            datetime(2013, 10, 12, 15, 0, tzinfo=UTC),
            "no session today: 2013-10-12 (Saturday) is not a session of XNYS; the next is 2013-10-14",
        ),
        (
            datetime(2013, 10, 9, 20, 0, tzinfo=UTC),
            "no session left today: XNYS closed at 16:00 America/New_York on 2013-10-09; the next session is "
            "2013-10-10",
        ),
        (
            datetime(2013, 10, 11, 3, 59, tzinfo=UTC),  # 23:59 on the 10th in New York: that session has closed
            "no session left today: XNYS closed at 16:00 America/New_York on 2013-10-10; the next session is "
            "2013-10-11",
        ),
        (
            datetime(2013, 10, 14, 13, 0, tzinfo=UTC),
            "today (2013-10-14) is outside the file's start..end (2013-10-08..2013-10-10)",
        ),
    ],
)
def test_a_day_without_a_session_left_is_refused_in_one_line_before_anything_is_written(
    lean_store_root, tmp_path, capsys, credentials, now, line
):
    path, _ = live_file(tmp_path, lean_store_root)
    with using_live_clock(StoppedClock(now)):
        code = cli.main(["run", str(path)])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", line + "\n")
    assert not (tmp_path / "live.db").exists()


def test_before_the_open_the_run_waits_says_so_and_runs_the_session_on_the_files_feed(
    lean_store_root, tmp_path, capsys, credentials
):
    speed = 1200.0
    with serve_in_thread(FeedOptions(store=lean_store_root, day=DAY, speed=speed)) as handle:
        path, log_url = live_file(tmp_path, lean_store_root, stream_url=handle.ws_url(), rest_url=handle.http_url)
        clock = ScaledClock(datetime(2013, 10, 9, 13, 20, tzinfo=UTC), speed)  # 09:20 in New York
        with using_live_clock(clock):
            code = cli.main(["run", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines()[0] == "waiting for the open: XNYS opens at 09:30 America/New_York on 2013-10-09, in 10 min"
    assert ENV["ALPACA_SECRET_KEY"] not in out + err and ENV["ALPACA_API_KEY"] not in out + err
    run_id = out.strip().splitlines()[0]
    with open_store(log_url) as log:
        events = [row.event() for row in log.events(run_id)]
        [info] = log.list_runs()
    assert info.status == "completed"
    [connected] = [e for e in events if isinstance(e, ev.FeedConnected)]
    assert connected.at >= datetime(2013, 10, 9, 13, 30, tzinfo=UTC) - timedelta(seconds=5)  # after the wait
    [ended] = [e for e in events if isinstance(e, ev.SessionEnded)]
    assert ended.steps == 390
    assert {e.symbol for e in events if isinstance(e, ev.BarReceived)} >= {"SPY", "AIG", "BAC"}
    audit = daytape("audit", run_id, "--log", log_url)
    assert audit.returncode == 0, audit.stdout + audit.stderr
