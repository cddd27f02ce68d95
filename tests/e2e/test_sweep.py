"""`daytape sweep` over a 3x3 grid on the LEAN data: runs every point, reuses them, resumes after SIGKILL,
and `sweep-report` lists them as text, CSV and JSON."""

from __future__ import annotations

import csv
import io
import itertools
import json
import signal
import sqlite3
import subprocess
import sys

import yaml

from tests.conftest import REPO_ROOT
from tests.e2e.cluster import wait_for
from tests.e2e.conftest import daytape, october_session, write_session

PERIODS = [10, 20, 30]
TIMES = ["10:30", "11:00", "11:30"]


def sweep_runs(db) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT run_id, name, status, config_json FROM runs ORDER BY started_at").fetchall()


def runs_so_far(db) -> int:
    """How many runs the log holds yet (none while it is still being made)."""
    try:
        return len(sweep_runs(db)) if db.exists() else 0
    except sqlite3.OperationalError:
        return 0


def test_a_3x3_sweep_runs_resumes_after_sigkill_reuses_and_reports(lean_store_root, tmp_path):
    db = tmp_path / "log.db"
    session = write_session(
        tmp_path / "s.yaml", october_session(lean_store_root, f"sqlite:///{db}", start="2013-10-08", end="2013-10-08")
    )
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"indicators.0.period": PERIODS, "strategy.params.at": TIMES}))
    command = [sys.executable, "-m", "daytape.cli", "sweep", str(session), "--grid", str(grid)]

    killed = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: killed.poll() is not None or runs_so_far(db) >= 3, "three points", 600)
        assert killed.poll() is None, "the sweep ended before it could be killed"
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.wait()
    before = sweep_runs(db)
    assert 3 <= len(before) < 9

    resumed = daytape("sweep", str(session), "--grid", str(grid), "--json")
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads(resumed.stdout)
    points = document["points"]
    assert [p["overrides"] for p in points] == [
        {"indicators.0.period": period, "strategy.params.at": at} for period, at in itertools.product(PERIODS, TIMES)
    ]
    assert all(p["status"] == "completed" and p["seal"] for p in points)
    completed_before = [run_id for run_id, _, status, _ in before if status == "completed"]
    assert [p["run_id"] for p in points[: len(completed_before)]] == completed_before
    assert {p["action"] for p in points[: len(completed_before)]} == {"reused"}
    assert {p["action"] for p in points[len(before) :]} <= {"ran"}
    if len(completed_before) < len(before):  # the point the kill cut off: its run is finished, not redone
        cut_off = points[len(completed_before)]
        assert (cut_off["run_id"], cut_off["action"]) == (before[-1][0], "resumed")
    runs = sweep_runs(db)
    assert len(runs) == 9, "a point was run twice"
    for point, (run_id, name, _, config_json) in zip(points, runs, strict=True):
        config = json.loads(config_json)
        assert run_id == point["run_id"] and name.startswith(f"sweep:{document['sweep']}:{point['point']} ")
        assert config["indicators"][0]["period"] == point["overrides"]["indicators.0.period"]
        assert config["strategy"]["params"]["at"] == point["overrides"]["strategy.params.at"]

    again = daytape("sweep", str(session), "--grid", str(grid), "--json")
    assert again.returncode == 0, again.stderr
    assert [(p["run_id"], p["action"]) for p in json.loads(again.stdout)["points"]] == [
        (p["run_id"], "reused") for p in points
    ]
    assert len(sweep_runs(db)) == 9

    log = f"sqlite:///{db}"
    as_json = daytape("sweep-report", document["sweep"], "--log", log, "--format", "json")
    rows = json.loads(as_json.stdout)["points"]
    assert [(r["point"], r["run_id"], r["status"], r["seal"]) for r in rows] == [
        (p["point"], p["run_id"], "completed", p["seal"]) for p in points
    ]
    as_csv = daytape("sweep-report", document["sweep"], "--log", log, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["point"], r["run_id"], r["seal"]) for r in table] == [
        (str(p["point"]), p["run_id"], p["seal"]) for p in points
    ]
    as_text = daytape("sweep-report", document["sweep"], "--log", log)
    assert len(as_text.stdout.splitlines()) == 9 and all(p["run_id"] in as_text.stdout for p in points)


def test_a_grid_path_the_config_lacks_is_bad_input(lean_store_root, tmp_path):
    session = write_session(tmp_path / "s.yaml", october_session(lean_store_root, f"sqlite:///{tmp_path / 'log.db'}"))
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"indicators.5.period": [1, 2]}))
    result = daytape("sweep", str(session), "--grid", str(grid))
    assert result.returncode == 2
    assert result.stderr.strip() == "grid: indicators.5.period: 5 is not an index of a list of 2"
    assert not (tmp_path / "log.db").exists()
    report = daytape("sweep-report", "abc", "--log", f"sqlite:///{tmp_path / 'other.db'}", "--format", "xml")
    assert report.returncode == 2 and report.stderr.strip().startswith("--format: unknown format 'xml'")
