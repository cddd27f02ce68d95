"""`daytape sweep` over a 3x3 grid on the LEAN data: runs every point, reuses them, resumes after SIGKILL,
and `sweep-report` lists them with the figures the strategy returned at each session's end, as text, CSV
and JSON."""

from __future__ import annotations

import csv
import io
import itertools
import json
import signal
import sqlite3
import subprocess
import sys

import pytest
import yaml

from eventlog.store import EventFilter, open_store
from tests.conftest import REPO_ROOT
from tests.e2e.cluster import wait_for
from tests.e2e.conftest import daytape, october_session, write_session

PERIODS = [10, 20, 30]
TIMES = ["10:30", "11:00", "11:30"]

#: A strategy beside the session file that reports figures from on_session_end: SPY's SMA at the close (its
#: period is a grid parameter), the time it fired at (another), whether IBM ended in full, and a count.
FIGURES_PLUGIN = """
from daytape.examples import UpgradeStrategy


class FiguresStrategy(UpgradeStrategy):
    def on_session_end(self, ctx):
        (sma,) = [key for key in ctx.view.indicators("SPY") if key.startswith("sma")]
        return {
            "spy_sma": ctx.view.indicator("SPY", sma),
            "fired_at": self.at.isoformat(),
            "ibm_full": ctx.view.symbols().get("IBM") == "full",
            "sessions": 1,
        }
"""


def figures_session(tmp_path, store, db, **overrides):  # type: ignore[no-untyped-def]
    (tmp_path / "sweepfigures.py").write_text(FIGURES_PLUGIN)
    strategy = {"class": "sweepfigures:FiguresStrategy", "params": {"symbols": ["IBM"], "at": "11:00"}}
    session = october_session(store, f"sqlite:///{db}", strategy=strategy, **overrides)
    return write_session(tmp_path / "s.yaml", session)


def closing_sma(db, run_id: str) -> dict[str, float]:
    """Per session date, SPY's SMA at the close as the run's SymbolStreamed records it (the oracle)."""
    with open_store(f"sqlite:///{db}") as log:
        streamed = log.events(run_id, EventFilter(kinds=("SymbolStreamed",), symbol="SPY"))
    rows = [(row.session_date, row.payload_json) for row in streamed]
    found = {}
    for day, payload in rows:
        indicators = json.loads(payload)["indicators"]
        (key,) = [k for k in indicators if k.startswith("sma")]
        found[str(day)] = indicators[key]["current_value"]
    return found


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
    session = figures_session(tmp_path, lean_store_root, db, start="2013-10-08", end="2013-10-08")
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
    for row, point in zip(rows, points, strict=True):
        assert row["parameters"] == point["overrides"]
        assert row["figures"] == {
            "spy_sma": closing_sma(db, row["run_id"])["2013-10-08"],
            "fired_at": point["overrides"]["strategy.params.at"] + ":00",
            "ibm_full": True,
            "sessions": 1,
        }
    assert len({r["figures"]["spy_sma"] for r in rows}) == 3  # one SMA per period

    as_csv = daytape("sweep-report", document["sweep"], "--log", log, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(table[0]) == [
        "point",
        "status",
        "run_id",
        "seal",
        "indicators.0.period",
        "strategy.params.at",
        "fired_at",
        "ibm_full",
        "sessions",
        "spy_sma",
    ]  # fmt: skip (the figures in name order: the log keeps a payload's keys sorted)
    assert [(r["point"], r["run_id"], r["seal"], r["indicators.0.period"], r["strategy.params.at"]) for r in table] == [
        (str(p["point"]), p["run_id"], p["seal"], *map(str, p["overrides"].values())) for p in points
    ]
    assert [float(r["spy_sma"]) for r in table] == pytest.approx([r["figures"]["spy_sma"] for r in rows], rel=1e-9)

    as_text = daytape("sweep-report", document["sweep"], "--log", log)
    lines = as_text.stdout.splitlines()
    assert lines[0].split() == list(table[0])
    assert len(lines) == 10 and all(p["run_id"] in as_text.stdout for p in points)
    assert daytape("runs", "--sweep", document["sweep"], "--log", log).stdout == as_text.stdout


def test_a_runs_figures_sum_its_sessions_numbers_and_keep_the_last_text(lean_store_root, tmp_path):
    db = tmp_path / "log.db"
    session = figures_session(tmp_path, lean_store_root, db, start="2013-10-08", end="2013-10-09")
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"strategy.params.at": ["10:30", "11:00"]}))
    swept = daytape("sweep", str(session), "--grid", str(grid), "--json")
    assert swept.returncode == 0, swept.stderr
    sweep = json.loads(swept.stdout)["sweep"]
    report = daytape("runs", "--sweep", sweep, "--log", f"sqlite:///{db}", "--json")
    document = json.loads(report.stdout)
    assert document["figures_rule"].startswith("numbers are summed")
    for row, at in zip(document["points"], ["10:30", "11:00"], strict=True):
        smas = closing_sma(db, row["run_id"])
        assert sorted(smas) == ["2013-10-08", "2013-10-09"]
        assert row["figures"]["spy_sma"] == pytest.approx(sum(smas.values()), rel=1e-12)
        assert row["figures"]["sessions"] == 2
        assert row["figures"]["fired_at"] == f"{at}:00" and row["figures"]["ibm_full"] is True
    explained = daytape("replay", document["points"][0]["run_id"], "--log", f"sqlite:///{db}", "--json")
    figures = json.loads(explained.stdout)["figures"]
    assert (
        figures["sweepfigures:FiguresStrategy"]["spy_sma"]
        == closing_sma(db, document["points"][0]["run_id"])["2013-10-09"]
    )


def test_figures_that_are_not_numbers_texts_or_flags_abort_the_day_naming_them(lean_store_root, tmp_path):
    db = tmp_path / "log.db"
    (tmp_path / "badfigures.py").write_text(
        "from daytape.examples import UpgradeStrategy\n\n\n"
        "class BadFigures(UpgradeStrategy):\n"
        "    def on_session_end(self, ctx):\n"
        "        return {'trades': [1, 2]}\n"
    )
    strategy = {"class": "badfigures:BadFigures", "params": {"symbols": ["IBM"], "at": "11:00"}}
    session = write_session(
        tmp_path / "s.yaml", october_session(lean_store_root, f"sqlite:///{db}", strategy=strategy, end="2013-10-08")
    )
    result = daytape("run", str(session), "--json", "--quiet")
    document = json.loads(result.stdout)
    (day,) = document["sessions"]
    assert day["status"] == "aborted"
    assert "plugin badfigures:BadFigures: on_session_end figure 'trades' is list" in day["error"]


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
