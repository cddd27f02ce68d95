"""`daytape verify RUN --lookahead`: honest runs pass on the LEAN and the demo data; a strategy that reads
a future bar from the store's files (a back door round the view) is caught and named; a back door that
reads only closed bars is not; the user's store is left as it was."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

import daytape
from eventlog.errors import TamperedStream
from eventlog.kinds import KIND_NAMES
from tests.e2e.conftest import daytape as cli
from tests.e2e.conftest import october_session, write_session
from tests.eventlog.tamper import stored_payload, stored_text

PEEKER = "tests.api.backdoor:BackDoorPeeker"
NEW_YORK_OPEN_UTC = {dt.date(2013, 10, d): dt.datetime(2013, 10, d, 13, 30, tzinfo=dt.UTC) for d in (8, 9, 10)}


def tree_digest(root: Path) -> str:
    """Every file's path and bytes under `root` (the test's own reading of 'unchanged')."""
    sha = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(str(path.relative_to(root)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def lookahead(run_id: str, log_url: str, *extra: str) -> tuple[int, dict]:
    result = cli("verify", run_id, "--lookahead", "--json", "--log", log_url, *extra)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def october_run(folder: Path, store: Path, **overrides: object) -> tuple[str, str]:
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = write_session(folder / "session.yaml", october_session(store, log_url, **overrides))
    run = daytape.run(session)
    run.log.close()
    return log_url, run.run_id


def test_the_october_run_looks_nowhere_ahead(tmp_path, lean_store_root):
    log_url, run_id = october_run(tmp_path, lean_store_root)
    before = tree_digest(lean_store_root)
    code, report = lookahead(run_id, log_url, "--samples", "2", "--seed", "7")
    assert code == 0 and report["ok"], report
    assert report["samples"] == 2 and report["seed"] == 7
    assert report["plugins"] == ["daytape.examples:ListScanner", "daytape.examples:UpgradeStrategy"]
    moments = [(m["date"], dt.datetime.fromisoformat(m["t"])) for m in report["moments"]]
    assert [d for d, _ in moments] == ["2013-10-08"] * 2 + ["2013-10-09"] * 2 + ["2013-10-10"] * 2
    for day, t in moments:
        open_ = NEW_YORK_OPEN_UTC[dt.date.fromisoformat(day)]
        assert open_ < t < open_ + dt.timedelta(hours=6, minutes=30) and t.second == 0
    assert all(m["identical"] and m["calls_compared"] > 0 for m in report["moments"])
    assert tree_digest(lean_store_root) == before
    again = cli("verify", run_id, "--lookahead", "--samples", "2", "--seed", "7", "--log", log_url)
    assert again.returncode == 0 and "no look-ahead" in again.stdout
    assert all(f"t={t.isoformat()}" in again.stdout for _, t in moments)


def test_a_strategy_reading_the_close_at_the_open_is_caught(tmp_path, lean_store_root):
    strategy = {
        "class": PEEKER,
        "params": {"symbol": "SPY", "at": "09:31", "minutes_ahead": 389},
    }
    log_url, run_id = october_run(tmp_path, lean_store_root, strategy=strategy, end="2013-10-08")
    code, report = lookahead(run_id, log_url, "--samples", "2")
    assert code == 1 and not report["ok"]
    for moment in report["moments"]:
        assert not moment["identical"]
        first = moment["first_difference"]
        assert f"{PEEKER}.on_step at 2013-10-08T13:31:00+00:00: add_symbol(" in first, first
    text = cli("verify", run_id, "--lookahead", "--samples", "2", "--log", log_url)
    assert text.returncode == 1 and "look-ahead: run" in text.stdout and "BackDoorPeeker.on_step" in text.stdout
    with daytape.open_log(log_url) as log:
        one_day = log.run(run_id).day("2013-10-08").verify_lookahead(samples=2)
    assert not one_day.ok and one_day.as_dict()["moments"] == report["moments"]
    assert one_day.first is not None and one_day.first.first_difference == report["moments"][0]["first_difference"]


def test_a_back_door_to_closed_bars_only_is_no_look_ahead(tmp_path, lean_store_root):
    strategy = {
        "class": PEEKER,
        "params": {"store": str(lean_store_root), "symbol": "SPY", "at": "10:00", "minutes_ahead": 0},
    }
    log_url, run_id = october_run(tmp_path, lean_store_root, strategy=strategy, end="2013-10-08")
    code, report = lookahead(run_id, log_url, "--samples", "4", "--seed", "3")
    assert code == 0 and report["ok"], report
    with daytape.open_log(log_url) as log:
        requests = log.run(run_id).day("2013-10-08").requests()
    assert (requests["plugin"] == PEEKER).sum() == 1  # it did read the store at 10:00 and ask for a symbol


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lookahead-demo") / "daytape-demo"
    made = cli("demo", "--dir", str(folder), "--days", "2", "--quiet")
    assert made.returncode == 0, made.stderr
    log_url = f"sqlite:///{folder / 'daytape.db'}"
    return folder, log_url, json.loads(cli("runs", "--json", "--log", log_url).stdout)[0]["run_id"]


def test_the_demo_run_looks_nowhere_ahead(demo):
    folder, log_url, run_id = demo
    before = tree_digest(folder / "data")
    code, report = lookahead(run_id, log_url)
    assert code == 0 and report["ok"] and report["samples"] == 3 and report["seed"] == 0, report
    assert len(report["moments"]) == 6
    assert tree_digest(folder / "data") == before


def test_a_planted_look_ahead_on_the_demo_data_is_caught(demo, tmp_path):
    folder, _, _ = demo
    session = yaml.safe_load((folder / "session.yaml").read_text())
    session["strategy"] = {
        "class": PEEKER,
        "params": {"store": str(folder / "data"), "symbol": "AAPL", "at": "10:00", "minutes_ahead": 300},
    }
    session["end"] = session["start"]
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session["log"] = log_url
    run = daytape.run(write_session(tmp_path / "session.yaml", session))
    run.log.close()
    code, report = lookahead(run.run_id, log_url, "--samples", "12", "--seed", "1")
    assert code == 1
    day = session["start"] if isinstance(session["start"], str) else session["start"].isoformat()
    window = [
        m
        for m in report["moments"]
        # it reads at 10:00 New York (15:00 UTC) the bar that closes at 15:00 (20:00 UTC)
        if dt.time(15, 0) <= dt.datetime.fromisoformat(m["t"]).time() < dt.time(20, 0) and m["date"] == day
    ]
    others = [m for m in report["moments"] if m not in window]
    assert window and all(not m["identical"] for m in window), report
    assert all("BackDoorPeeker.on_step at" in m["first_difference"] for m in window)
    assert others and all(m["identical"] for m in others), report


def test_readers_verify_the_streams_they_read(demo, tmp_path):
    """Day readers refuse a stream whose payload was edited after the run; verify=False reads it as written."""
    folder, _, run_id = demo
    copy = tmp_path / "tampered.db"
    shutil.copy(folder / "daytape.db", copy)
    with sqlite3.connect(copy) as db:
        (day_number, seq, payload) = db.execute(
            "SELECT e.session_date, e.seq, e.payload FROM events AS e JOIN runs AS r ON r.run_key = e.run_key "
            "WHERE r.run_id = ? AND e.kind = ? ORDER BY e.session_date, e.seq LIMIT 1",
            (run_id, KIND_NAMES.index("SymbolValidated") + 1),
        ).fetchone()
        text = stored_text(payload)
        edited = text.replace('"can_proceed":true', '"can_proceed":false')
        assert edited != text
        db.execute(
            "UPDATE events SET payload = ? WHERE session_date = ? AND seq = ? "
            "AND run_key = (SELECT run_key FROM runs WHERE run_id = ?)",
            (stored_payload(edited), day_number, seq, run_id),
        )
    day = (dt.date(1970, 1, 1) + dt.timedelta(days=day_number)).isoformat()
    with daytape.open_log(f"sqlite:///{copy}") as log:
        tampered = log.run(run_id).day(day)
        for read in (
            tampered.events,
            tampered.requests,
            lambda: tampered.state(at=seq),
            lambda: tampered.explain("SPY"),
        ):
            with pytest.raises(TamperedStream) as caught:
                read()
            assert caught.value.seq == seq and str(caught.value.session_date) == day
    with daytape.open_log(f"sqlite:///{copy}", verify=False) as log:
        events = log.run(run_id).day(day).events()
        assert events.loc[seq, "payload"]["result"]["can_proceed"] is False
