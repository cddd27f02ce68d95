"""`daytape demo` end to end, and every log command on what it wrote."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import daytape


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = daytape("demo", "--dir", str(folder), "--days", "3", "--quiet")
    assert result.returncode == 0, result.stderr
    log = f"sqlite:///{folder / 'daytape.db'}"
    runs = json.loads(daytape("runs", "--json", "--log", log).stdout)
    assert len(runs) == 1
    return folder, log, runs[0]["run_id"], result.stdout


def test_demo_writes_data_a_session_file_and_a_log(demo):
    folder, _, _, out = demo
    assert (folder / "session.yaml").is_file()
    assert (folder / "data" / "1m").is_dir()
    assert daytape("config", "check", str(folder / "session.yaml")).returncode == 0
    assert "Why is TSLA here" in out and "Why is NOSUCH here" in out
    assert "audit: 3 streams" in out and "clean" in out


def test_demo_sessions_include_the_thanksgiving_early_close(demo):
    _, log, run_id, _ = demo
    runs = json.loads(daytape("runs", "--json", "--log", log).stdout)
    assert runs[0]["sessions"] == 3 and runs[0]["status"] == "completed"
    state = json.loads(daytape("export", run_id, "--date", "2023-11-24", "--format", "json", "--log", log).stdout)
    assert state["symbols"]["SPY"]["bars"]["1m"]["count"] <= 210
    assert state["symbols"]["TSLA"]["metadata"]["upgraded_from_adhoc"] is True
    assert state["symbols"]["NVDA"]["state"] == "adhoc"
    assert state["rejected"] == {"NOSUCH": "NOSUCH: no 1m bars in the store"}


def test_every_log_command_works_on_the_demo_log(demo, tmp_path):
    _folder, log, run_id, _ = demo
    replay = daytape("replay", run_id, "--log", log, "--until", "40", "--json")
    assert replay.returncode == 0 and json.loads(replay.stdout)["session_state"] == "loading"
    explain = daytape("explain", run_id, "TSLA", "--interval", "5m", "--log", log, "--json")
    assert explain.returncode == 0 and json.loads(explain.stdout)["present"] is True
    assert daytape("audit", run_id, "--log", log).returncode == 0
    assert daytape("diff", run_id, run_id, "--log", log).returncode == 0
    verify = daytape("verify", run_id, "--log", log, "--quiet")
    assert verify.returncode == 0 and "deterministic" in verify.stdout
    out = tmp_path / "state.csv"
    assert daytape("export", run_id, "--format", "csv", "--out", str(out), "--log", log).returncode == 0
    assert out.read_text().startswith("date,symbol,state,")
    assert daytape("graph").returncode == 0


def test_demo_rejects_a_bad_day_count(tmp_path):
    result = daytape("demo", "--dir", str(tmp_path), "--days", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "--days: must be at least 1, got 0"
