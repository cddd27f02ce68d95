"""A real `daytape run` killed with SIGKILL mid-session, resumed, and compared with a clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import daytape, october_session, write_session

HANG_DAY = "2013-10-09"


def strategy() -> dict:
    return {"class": "tests.e2e.hanging:HangingStrategy", "params": {"symbols": ["IBM"], "at": "11:00"}}


def run_until_marker(session_path, marker, timeout_s: float = 120.0) -> None:
    """Start `daytape run`, wait until the strategy hangs mid-session on HANG_DAY, then SIGKILL it."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DAYTAPE_TEST_HANG_ON": HANG_DAY,
        "DAYTAPE_TEST_HANG_MARKER": str(marker),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "daytape.cli", "run", str(session_path), "--quiet"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        waited = 0.0
        while not marker.exists():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            assert waited < timeout_s, "the run never reached the hang point"
            time.sleep(0.1)
            waited += 0.1
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL


def test_a_killed_run_resumes_to_exactly_what_a_clean_run_writes(tmp_path, lean_store_root):
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = write_session(tmp_path / "s.yaml", october_session(lean_store_root, log_url, strategy=strategy()))
    marker = tmp_path / "hung"

    run_until_marker(session, marker)
    runs = json.loads(daytape("runs", "--json", "--log", log_url).stdout)
    assert len(runs) == 1 and runs[0]["status"] == "running"
    killed = runs[0]["run_id"]
    replay = daytape("replay", killed, "--date", HANG_DAY, "--log", log_url, "--json")
    assert json.loads(replay.stdout)["session_state"] == "streaming", "killed mid-session"

    resumed = daytape("run", str(session), "--resume", killed, "--json", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["run_id"] == killed and result["status"] == "completed"
    assert [s["status"] for s in result["sessions"]] == ["ended", "ended", "ended"]

    clean = daytape("run", str(session), "--json", "--quiet")
    assert clean.returncode == 0, clean.stderr
    clean_id = json.loads(clean.stdout)["run_id"]

    diff = daytape("diff", killed, clean_id, "--log", log_url, "--json")
    assert diff.returncode == 0, diff.stdout
    assert json.loads(diff.stdout)["same"] is True
    assert daytape("audit", killed, "--log", log_url).returncode == 0
