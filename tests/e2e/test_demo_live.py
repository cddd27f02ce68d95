"""`daytape demo --live` end to end: the sample day played by the local feed through alpaca-py at speed, with the
demo's scanner and strategy, then verified from its tape; and the log commands on the run it wrote."""

from __future__ import annotations

import json

import pytest

from eventlog.store import open_store
from specs import events as ev
from tests.e2e.conftest import daytape

LIVE_DAY = "2023-11-24"


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-live")
    result = daytape("demo", "--live", "--dir", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    log = f"sqlite:///{folder / 'daytape.db'}"
    [run] = json.loads(daytape("runs", "--json", "--log", log).stdout)
    return folder, log, run, result.stdout


def test_the_live_demo_rehearses_its_day_and_verifies_it_from_the_tape(live_demo):
    folder, _, run, out = live_demo
    assert run["status"] == "completed" and run["sessions"] == 1
    assert f"verify: deterministic: run {run['run_id']} re-ran from its tape to the same " in out
    assert "minute bars, " in out and "1 connection received" in out
    assert "Why is TSLA here" in out and "audit: 1 stream" in out
    env = {"ALPACA_API_KEY": "x", "ALPACA_SECRET_KEY": "y"}
    checked = daytape("config", "check", str(folder / "live-session.yaml"), env=env)
    assert checked.returncode == 0, checked.stderr


def test_the_live_demo_run_is_a_live_day_of_the_early_close(live_demo):
    _, log, run, _ = live_demo
    with open_store(log) as opened:
        events = [row.event() for row in opened.events(run["run_id"])]
    [ended] = [e for e in events if isinstance(e, ev.SessionEnded)]
    assert ended.steps == 210  # 09:30 to the 13:00 early close, each minute stepped once
    assert {"FeedConnected", "BarReceived", "DailyBarReceived"} <= {e.kind for e in events}
    requests = [e for e in events if isinstance(e, ev.RequestReceived)]
    assert {(r.symbol, r.source) for r in requests} >= {("TSLA", "scanner"), ("NVDA", "scanner"), ("TSLA", "strategy")}
    again = daytape("verify", run["run_id"], "--log", log)
    assert again.returncode == 0 and again.stdout.startswith("deterministic:"), again.stdout + again.stderr
    assert daytape("audit", run["run_id"], "--log", log).returncode == 0
    export = json.loads(daytape("export", run["run_id"], "--format", "json", "--log", log).stdout)
    assert export["date"] == LIVE_DAY and export["symbols"]["TSLA"]["metadata"]["upgraded_from_adhoc"] is True
