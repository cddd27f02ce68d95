"""`daytape verify RUN` on a live rehearsal: the day re-run from its recorded tape on a simulated clock, through the
same live loop, with no feed server running, to the same events; and a tape changed after the run is caught,
whether the forger left the hashes as they were, recomputed them, or recomputed the stored seal too."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventlog.store import open_store
from marketdata.feedserver import FeedOptions, serve_in_thread
from tests.e2e.conftest import daytape, october_session, write_session
from tests.eventlog import tamper
from tests.feed.conftest import ENV

DAY = "2013-10-09"
SPEED = 1200.0


@pytest.fixture(scope="module")
def rehearsed(lean_store_root, tmp_path_factory):
    """A rehearsed day through the CLI against a feed server that is gone once it has played: (run id, db path)."""
    folder = tmp_path_factory.mktemp("live-verify")
    db = folder / "live.db"
    session = october_session(lean_store_root, f"sqlite:///{db}", mode="live", feed={"grace_seconds": 60.0})
    path = write_session(folder / "live.yaml", session)
    options = FeedOptions(store=lean_store_root, day=datetime(2013, 10, 9).date(), speed=SPEED)
    with serve_in_thread(options) as handle:
        url = handle.ws_url()
        result = daytape("run", str(path), "--feed-url", url, "--date", DAY, "--speed", f"{SPEED:g}", env=ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip(), db


def copy_of(rehearsed: tuple[str, Path], tmp_path: Path) -> tuple[str, Path]:
    run_id, db = rehearsed
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    return run_id, copy


def test_verify_re_runs_a_live_day_from_its_tape_to_the_same_events(rehearsed):
    run_id, db = rehearsed
    result = daytape("verify", run_id, "--log", f"sqlite:///{db}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"deterministic: run {run_id} re-ran from its tape to the same ")
    as_json = daytape("verify", run_id[:8], "--log", f"sqlite:///{db}", "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    with open_store(f"sqlite:///{db}") as log:
        written = len(log.events(run_id))
    assert report["deterministic"] is True and report["streams"] == 1 and report["events"] == written


def test_a_bar_price_changed_on_the_tape_fails_its_hash(rehearsed, tmp_path):
    run_id, db = copy_of(rehearsed, tmp_path)
    with open_store(f"sqlite:///{db}") as log:
        seq = tamper.first_seq(log, run_id, datetime(2013, 10, 9).date(), "BarReceived", "SPY")
        [row] = [r for r in tamper.rows_of(log, run_id, datetime(2013, 10, 9).date()) if r.seq == seq]
        close = json.loads(row.payload_json)["close"]
        tamper.forge_payload(log, run_id, datetime(2013, 10, 9).date(), seq, f'"close":{close}', '"close":1.5')
    result = daytape("verify", run_id, "--log", f"sqlite:///{db}")
    assert result.returncode == 1
    assert f"fails verification at seq {seq} (BarReceived)" in result.stderr


def test_a_bar_price_changed_and_its_hashes_recomputed_fails_the_seal(rehearsed, tmp_path):
    run_id, db = copy_of(rehearsed, tmp_path)
    day = datetime(2013, 10, 9).date()
    with open_store(f"sqlite:///{db}") as log:
        seq = tamper.first_seq(log, run_id, day, "BarReceived", "BAC")
        [row] = [r for r in tamper.rows_of(log, run_id, day) if r.seq == seq]
        close = json.loads(row.payload_json)["close"]
        tamper.forge_payload(log, run_id, day, seq, f'"close":{close}', '"close":1.5')
        tamper.rechain(log, run_id, day)
    result = daytape("verify", run_id, "--log", f"sqlite:///{db}")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"verify: run {run_id}: the stored seal ") and "does not match the log" in line


def test_arrival_times_moved_with_hashes_and_seal_recomputed_diverge_in_the_re_run(rehearsed, tmp_path):
    """A forger who recomputes everything the log holds still cannot make the tape say what did not happen: the
    bars of the minute before the scanner's 10:00 step all arriving 30 s after it (within the grace) move that
    step, and what comes after it, away from what the log recorded."""
    run_id, db = copy_of(rehearsed, tmp_path)
    day = datetime(2013, 10, 9).date()
    minute = datetime(2013, 10, 9, 13, 59, tzinfo=UTC)  # 09:59 New York: its step is the first at or after 10:00
    moved_to = (minute + timedelta(seconds=90)).isoformat()
    with open_store(f"sqlite:///{db}") as log:
        forged = []
        for row in tamper.rows_of(log, run_id, day):
            payload = json.loads(row.payload_json)
            if row.kind == "BarReceived" and payload["ts"] == minute.isoformat():
                old = f'"received_at":"{payload["received_at"]}"'
                tamper.set_event(
                    log, run_id, day, row.seq, payload_json=row.payload_json.replace(old, f'"received_at":"{moved_to}"')
                )
                forged.append(row.seq)
        assert len(forged) == 3  # SPY, AIG and BAC
        tamper.rechain(log, run_id, day)
        tamper.set_run(log, run_id, seal=tamper.reference_seal(log, run_id))
    assert daytape("audit", run_id, "--log", f"sqlite:///{db}").returncode == 0
    result = daytape("verify", run_id, "--log", f"sqlite:///{db}", "--json")
    assert result.returncode == 1, result.stdout
    report = json.loads(result.stdout)
    assert report["deterministic"] is False and report["first_divergence"]["seq"] > min(forged)
    text = daytape("verify", run_id, "--log", f"sqlite:///{db}")
    assert text.stdout.startswith(f"not deterministic: run {run_id}: first divergence at {DAY} seq ")


def test_a_rehearsal_the_feed_refused_verifies_to_where_it_stopped(lean_store_root, tmp_path):
    """The day stopped at the feed's `failed` notice (a refused key); its re-run stops at the same notice."""
    db = tmp_path / "refused.db"
    session = october_session(lean_store_root, f"sqlite:///{db}", mode="live")
    path = write_session(tmp_path / "live.yaml", session)
    day = datetime(2013, 10, 9).date()
    options = FeedOptions(store=lean_store_root, day=day, speed=SPEED, credentials=("other-key", "other-secret"))
    with serve_in_thread(options) as handle:
        refused = daytape("run", str(path), "--feed-url", handle.ws_url(), "--date", DAY, env=ENV)
    assert refused.returncode == 2, refused.stderr
    with open_store(f"sqlite:///{db}") as log:
        [run] = log.list_runs()
        kinds = [row.kind for row in log.events(run.run_id)]
    assert kinds[-1] == "FeedDisconnected" and run.status == "aborted"
    result = daytape("verify", run.run_id, "--log", f"sqlite:///{db}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"deterministic: run {run.run_id} re-ran from its tape to the same {len(kinds)}")
