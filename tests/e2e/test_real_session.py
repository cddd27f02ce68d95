"""A session file on the real October 2013 data, with both example plugins, checked through the export."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.e2e.conftest import daytape, october_session, write_session
from tests.marketdata.lean_minutes import lean_minute_frame

DAYS = ["2013-10-08", "2013-10-09", "2013-10-10"]


def regular_rows(lean_root, symbol: str, day: dt.date) -> int:
    """Regular-session minutes in the raw zip, counted without daytape's calendar (09:30-16:00 New York)."""
    frame = lean_minute_frame(lean_root, symbol, day)
    local = frame.index.tz_convert("America/New_York")
    minutes = local.hour * 60 + local.minute
    return int(((minutes >= 570) & (minutes < 960)).sum())


@pytest.fixture(scope="module")
def october_run(tmp_path_factory, lean_store_root):
    folder = tmp_path_factory.mktemp("october")
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = write_session(folder / "session.yaml", october_session(lean_store_root, log_url))
    result = daytape("run", str(session), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    return run, log_url, session


def export(run_id: str, log_url: str, day: str) -> dict:
    result = daytape("export", run_id, "--date", day, "--format", "json", "--log", log_url)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_run_ends_every_session(october_run):
    run, _, _ = october_run
    assert run["status"] == "completed"
    assert [s["date"] for s in run["sessions"]] == DAYS
    assert all(s["status"] == "ended" for s in run["sessions"])


@pytest.mark.parametrize("day", DAYS)
def test_config_symbols_are_full_with_history_quality_and_indicators(october_run, lean_root, day):
    run, log_url, _ = october_run
    state = export(run["run_id"], log_url, day)
    assert state["session_state"] == "ended"
    session_day = dt.date.fromisoformat(day)
    history_days = {
        "2013-10-08": [dt.date(2013, 10, 4), dt.date(2013, 10, 7)],
        "2013-10-09": [dt.date(2013, 10, 7), dt.date(2013, 10, 8)],
        "2013-10-10": [dt.date(2013, 10, 8), dt.date(2013, 10, 9)],
    }[day]
    for symbol in ("SPY", "AIG", "BAC"):
        data = state["symbols"][symbol]
        assert data["state"] == "full"
        assert data["metadata"] == {
            "meets_session_config_requirements": True,
            "added_by": "config",
            "auto_provisioned": False,
            "added_at": None,
            "upgraded_from_adhoc": False,
        }
        assert set(data["bars"]) == {"1m", "5m", "15m"}
        five = data["bars"]["5m"]
        assert {key: five[key] for key in ("derived", "base", "count", "expected", "present")} == {
            "derived": True,
            "base": "1m",
            "count": 78,
            "expected": 78,
            "present": 78,
        }
        assert five["quality"] == five["complete"] / 78 and len(five["partial"]) == 78 - five["complete"]
        assert data["bars"]["15m"]["count"] == 26
        present = regular_rows(lean_root, symbol, session_day)
        assert data["bars"]["1m"]["count"] == present
        assert data["bars"]["1m"]["quality"] == pytest.approx(present / 390)
        assert data["historical"]["sessions"] == 2
        assert data["historical"]["start"] == history_days[0].isoformat()
        assert data["historical"]["end"] == history_days[1].isoformat()
        assert data["historical"]["rows"] == sum(regular_rows(lean_root, symbol, d) for d in history_days)
        assert set(data["indicators"]) == {"sma_20_5m", "rsi_14_1m"}
        assert all(ind["valid"] for ind in data["indicators"].values())


@pytest.mark.parametrize("day", DAYS)
def test_ibm_is_scanned_adhoc_then_upgraded_by_the_strategy(october_run, day):
    run, log_url, _ = october_run
    ibm = export(run["run_id"], log_url, day)["symbols"]["IBM"]
    assert ibm["state"] == "full"
    meta = ibm["metadata"]
    assert meta["meets_session_config_requirements"] is True
    assert meta["added_by"] == "strategy"
    assert meta["auto_provisioned"] is True
    assert meta["upgraded_from_adhoc"] is True
    assert meta["added_at"] == f"{day}T14:00:00+00:00"  # the step at 10:00 New York (EDT), when 09:59 closes
    assert set(ibm["bars"]) == {"1m", "5m", "15m"}
    assert ibm["historical"]["sessions"] == 2
    assert "quality" in ibm["bars"]["1m"]


def test_the_scanner_alone_leaves_ibm_adhoc_with_warmup_history_only(tmp_path, lean_store_root):
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = october_session(lean_store_root, log_url, strategy=None, end="2013-10-08")
    result = daytape("run", str(write_session(tmp_path / "s.yaml", session)), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    ibm = export(run_id, log_url, "2013-10-08")["symbols"]["IBM"]
    assert ibm["state"] == "adhoc"
    assert ibm["metadata"]["added_by"] == "scanner"
    assert ibm["metadata"]["auto_provisioned"] is True
    assert ibm["metadata"]["meets_session_config_requirements"] is False
    assert set(ibm["bars"]) == {"1m", "5m"}
    assert "quality" not in ibm["bars"]["1m"]
    # sma_20_5m warms up on 20 x 2.0 = 40 five-minute bars: one full session holds 78
    assert ibm["historical"]["sessions"] == 1
    assert ibm["historical"]["end"] == "2013-10-07"
    assert set(ibm["indicators"]) == {"sma_20_5m"}


def test_the_log_audits_clean_explains_and_verifies(october_run):
    run, log_url, _ = october_run
    run_id = run["run_id"]
    audit = daytape("audit", run_id, "--log", log_url, "--json")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    explain = daytape("explain", run_id, "IBM", "--date", "2013-10-09", "--interval", "5m", "--log", log_url, "--json")
    assert explain.returncode == 0, explain.stderr
    why = json.loads(explain.stdout)
    assert why["present"] is True
    assert why["requests"][0]["source"] == "scanner"
    assert why["requests"][0]["plugin"] == "daytape.examples:ListScanner"
    verify = daytape("verify", run_id, "--log", log_url)
    assert verify.returncode == 0, verify.stderr
    assert "deterministic" in verify.stdout + verify.stderr


def test_csv_export_has_one_row_per_symbol(october_run, tmp_path):
    run, log_url, _ = october_run
    out = tmp_path / "state.csv"
    result = daytape(
        "export", run["run_id"], "--date", "2013-10-09", "--format", "csv", "--out", str(out), "--log", log_url
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].split(",")[:3] == ["date", "symbol", "state"]
    assert [line.split(",")[1] for line in lines[1:]] == ["AIG", "BAC", "IBM", "SPY"]
