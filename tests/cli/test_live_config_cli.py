"""`mode: live` session files: `config check` validates them fully (the feed section, the credentials' variables
named but never shown), and `run` checks the rehearsal options (the real-time run: tests/live/test_realtime.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

KEY, SECRET = "PKTESTKEY0123456789", "s3cr3t-never-shown-anywhere"


def live_file(tmp_path, feed: str = "") -> str:
    (tmp_path / "data").mkdir(exist_ok=True)
    path = tmp_path / "live.yaml"
    path.write_text(
        "name: live\nmode: live\nstart: 2013-10-07\nend: 2013-10-11\nstore: ./data\n"
        "log: sqlite:///live.db\nsymbols: [SPY, AAPL]\n" + feed
    )
    return str(path)


def daytape(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "PAPER_", "DAYTAPE_LOG"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "daytape.cli", *args], capture_output=True, text=True, env=environ, check=False
    )


CREDENTIALS = {"ALPACA_API_KEY": KEY, "ALPACA_SECRET_KEY": SECRET}


def test_config_check_accepts_a_live_file_and_never_shows_the_credentials(tmp_path):
    path = live_file(tmp_path)
    result = daytape("config", "check", path, env=CREDENTIALS)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{path}: ok (live on iex, history from store, grace 3 s, missed minutes backfill, credentials in "
        "ALPACA_API_KEY/ALPACA_SECRET_KEY; 2 symbols, 5 sessions 2013-10-07 .. 2013-10-11)\n"
    )
    as_json = daytape("config", "check", path, "--json", env=CREDENTIALS)
    assert as_json.returncode == 0
    for output in (result.stdout, result.stderr, as_json.stdout, as_json.stderr):
        assert KEY not in output and SECRET not in output


@pytest.mark.parametrize(
    ("env", "field", "variable"),
    [
        ({}, "feed.key_env", "ALPACA_API_KEY"),
        ({"ALPACA_API_KEY": KEY}, "feed.secret_env", "ALPACA_SECRET_KEY"),
        ({"ALPACA_API_KEY": "  ", "ALPACA_SECRET_KEY": SECRET}, "feed.key_env", "ALPACA_API_KEY"),
    ],
)
def test_config_check_names_a_missing_credential(tmp_path, env, field, variable):
    path = live_file(tmp_path)
    result = daytape("config", "check", path, env=env)
    assert result.returncode == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith(f"{path}: {field}: {variable} is not set: export the Alpaca API ")
    assert SECRET not in result.stderr and KEY not in result.stderr


def test_config_check_follows_the_variables_the_file_names(tmp_path):
    path = live_file(tmp_path, "feed: {key_env: PAPER_KEY, secret_env: PAPER_SECRET, feed: sip}\n")
    missing = daytape("config", "check", path, env=CREDENTIALS)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith(f"{path}: feed.key_env: PAPER_KEY is not set")
    ok = daytape("config", "check", path, env={"PAPER_KEY": KEY, "PAPER_SECRET": SECRET})
    assert ok.returncode == 0 and "live on sip" in ok.stdout and "PAPER_KEY/PAPER_SECRET" in ok.stdout


def test_a_real_time_run_of_a_file_whose_days_are_past_is_refused_in_one_line_before_anything_is_written(tmp_path):
    """Whatever today is on the wall clock: no session today, none left, or today outside 2013-10-07..11."""
    path = live_file(tmp_path)
    result = daytape("run", path, env=CREDENTIALS)
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(("no session today: ", "no session left today: ", "today ("))
    assert SECRET not in result.stderr
    assert not (tmp_path / "live.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--feed-url", "ws://127.0.0.1:9", "--date", "2013-10-12"], "--date: 2013-10-12 is not a session of XNYS"),
        (["--feed-url", "ws://127.0.0.1:9", "--date", "2013-12-25"], "--date: 2013-12-25 is not a session of XNYS"),
        (["--feed-url", "ws://127.0.0.1:9", "--date", "2013-13-01"], "--date: '2013-13-01' is not a date"),
        (["--feed-url", "ws://127.0.0.1:9", "--speed", "0"], "--speed: expected a number above 0"),
        (["--feed-url", "ws://127.0.0.1:9", "--speed", "-60"], "--speed: expected a number above 0"),
        (["--feed-url", "http://127.0.0.1:9"], "--feed-url: expected a ws:// or wss:// URL"),
        (["--date", "2013-10-09"], "--date: a rehearsal plays a stored day on a local feed: give --feed-url too"),
        (["--speed", "60"], "--speed: a rehearsal plays a stored day on a local feed: give --feed-url too"),
    ],
)
def test_the_rehearsal_options_are_checked(tmp_path, args, message):
    path = live_file(tmp_path)
    result = daytape("run", path, *args, env=CREDENTIALS)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_speed_that_is_not_a_number_is_a_usage_error(tmp_path):
    result = daytape("run", live_file(tmp_path), "--feed-url", "ws://127.0.0.1:9", "--speed", "fast", env=CREDENTIALS)
    assert result.returncode == 2 and "--speed" in result.stderr


def test_rehearsal_options_need_a_live_file(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "bt.yaml"
    path.write_text("name: bt\nstart: 2013-10-09\nend: 2013-10-09\nstore: ./data\nsymbols: [SPY]\n")
    result = daytape("run", str(path), "--feed-url", "ws://127.0.0.1:9", "--log", f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{path}: mode: backtest: --feed-url, --date and --speed rehearse a mode: live session"
    )
