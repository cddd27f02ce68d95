"""A run's data digest covers the files it reads (daytape.datascope): what the manifest says of it, what
verify and --resume make of a change inside and outside it, and older runs' whole-store digests."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from sqlalchemy import select, text, update

from daytape.cli import main
from daytape.datascope import check_data, run_paths
from eventlog.schema import events, runs
from eventlog.store import open_store
from marketdata.calendar import get_calendar
from marketdata.store import BarStore
from specs.config import SessionConfig
from tests.e2e.conftest import october_session, write_session
from tests.eventlog import tamper

CONFIG_SYMBOLS = ("SPY", "AIG", "BAC")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def a_run(capsys, tmp_path: Path, store: Path, **overrides: object) -> tuple[str, str, Path]:
    """(log URL, run id, session file) of a finished run of the October session on `store`."""
    tmp_path.mkdir(exist_ok=True)
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    path = write_session(tmp_path / "s.yaml", october_session(store, log_url, **overrides))
    code, out, err = cli(capsys, "run", str(path), "--json", "--quiet")
    assert code == 0, err
    return log_url, json.loads(out)["run_id"], path


def recorded(log_url: str, run_id: str) -> tuple[str, dict[str, str | None]]:
    with open_store(log_url) as store, store.engine.connect() as conn:
        digest, scope = conn.execute(select(runs.c.data_digest, runs.c.data_scope).where(runs.c.run_id == run_id)).one()
    document = json.loads(scope)
    assert document["scope"] == "run"
    return digest, document["files"]


def files_read_by_config_symbols(log_url: str, run_id: str) -> set[str]:
    """The oracle: the day files the run's events say each config symbol loaded, its history's sessions
    (HistoricalLoaded start..end) and each session day it streamed."""
    calendar = get_calendar()
    found: set[str] = set()
    with open_store(log_url) as store:
        rows = [
            (row.session_date, row.kind, row.symbol, row.payload_json)
            for row in store.events(run_id)
            if row.kind in ("HistoricalLoaded", "SessionBarsLoaded")
        ]
    for session_date, kind, symbol, payload in rows:
        if symbol not in CONFIG_SYMBOLS:
            continue
        data = json.loads(payload)
        if kind == "SessionBarsLoaded":
            days = [session_date]
        elif data["start"] is None:
            continue
        else:
            days = calendar.sessions(dt.date.fromisoformat(data["start"]), dt.date.fromisoformat(data["end"]))
        found.update(f"1m/symbol={symbol}/{day.isoformat()}.parquet" for day in days)
    return found


def test_the_digest_covers_exactly_the_files_the_config_symbols_read(capsys, tmp_path, lean_store_root):
    log_url, run_id, _ = a_run(capsys, tmp_path, lean_store_root)
    digest, files = recorded(log_url, run_id)
    assert set(files) == files_read_by_config_symbols(log_url, run_id)
    assert all(value is not None and len(value) == 16 for value in files.values())
    assert len(files) < len(list(lean_store_root.rglob("*.parquet")))
    assert digest != BarStore(lean_store_root).digest()

    code, out, _ = cli(capsys, "runs", "--log", log_url, "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert listed["data_digest"] == digest
    assert listed["data_scope"] == {"scope": "run", "files": len(files)}


def test_the_same_files_give_the_same_digest_in_another_folder(capsys, tmp_path, lean_store_root):
    copy = shutil.copytree(lean_store_root, tmp_path / "copy")
    (copy / "1m" / "symbol=IBM" / "2013-10-09.parquet").unlink()  # a file no config symbol reads
    first = a_run(capsys, tmp_path / "a", lean_store_root, scanner=None, strategy=None)
    second = a_run(capsys, tmp_path / "b", copy, scanner=None, strategy=None)
    assert recorded(*first[:2]) == recorded(*second[:2])


def test_a_file_the_run_does_not_read_changes_nothing_and_one_it_reads_is_named(capsys, tmp_path, lean_store_root):
    store = shutil.copytree(lean_store_root, tmp_path / "store")
    log_url, run_id, path = a_run(capsys, tmp_path, store, scanner=None, strategy=None)
    (store / "extra.bin").write_bytes(b"a file the run never reads")
    code, out, _ = cli(capsys, "verify", run_id, "--log", log_url, "--quiet")
    assert code == 0 and out.startswith("deterministic"), out

    changed = store / "1m" / "symbol=AIG" / "2013-10-09.parquet"
    changed.write_bytes((store / "1m" / "symbol=AIG" / "2013-10-10.parquet").read_bytes())
    code, out, _ = cli(capsys, "verify", run_id, "--log", log_url, "--quiet")
    assert code == 1
    assert (
        "the bar store changed since the run: its data digest differs: 1m/symbol=AIG/2013-10-09.parquet changed" in out
    )

    with open_store(log_url) as log, log.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(status="running"))
    code, _, err = cli(capsys, "run", str(path), "--resume", run_id, "--quiet")
    assert code == 2
    assert err.strip() == (
        f"cannot resume run {run_id}: the bar store {store} changed since it started (its data digest "
        "differs: 1m/symbol=AIG/2013-10-09.parquet changed); a resumed run must be the same code on the same data, "
        "so start a new run instead"
    )


def test_a_missing_day_that_appears_and_a_file_that_goes_are_named(tmp_path, lean_store_root):
    store = shutil.copytree(lean_store_root, tmp_path / "store")
    gone = store / "1m" / "symbol=BAC" / "2013-10-07.parquet"
    kept = gone.read_bytes()
    gone.unlink()
    config = SessionConfig.model_validate(october_session(store, "sqlite://", scanner=None, strategy=None))
    from daytape.runner import run_manifest

    manifest = run_manifest(config)
    scope = json.loads(manifest.data_scope or "")
    assert scope["files"]["1m/symbol=BAC/2013-10-07.parquet"] is None  # covered, as absent

    assert check_data(config, manifest.data_digest, manifest.data_scope).change is None
    gone.write_bytes(kept)
    assert check_data(config, manifest.data_digest, manifest.data_scope).change == (
        "its data digest differs: 1m/symbol=BAC/2013-10-07.parquet appeared"
    )
    (store / "1m" / "symbol=SPY" / "2013-10-08.parquet").unlink()
    assert check_data(config, manifest.data_digest, manifest.data_scope).change == (
        "its data digest differs: 1m/symbol=BAC/2013-10-07.parquet appeared (and 1 more file)"
    )


def test_an_older_run_keeps_its_whole_store_digest_and_verifies_against_it(capsys, tmp_path, lean_store_root):
    """A run recorded before the digest was scoped: no scope, the digest over every file of the store."""
    store = shutil.copytree(lean_store_root, tmp_path / "store")
    log_url, run_id, path = a_run(capsys, tmp_path, store, scanner=None, strategy=None)
    with open_store(log_url) as log, log.engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.run_id == run_id)
            .values(data_digest=BarStore(store).digest(), data_scope=None, seal=None, status="running")
        )
    code, out, _ = cli(capsys, "runs", "--log", log_url, "--json")
    assert json.loads(out)[0]["data_scope"] == {"scope": "store", "files": None}
    code, out, _ = cli(capsys, "verify", run_id, "--log", log_url, "--quiet")
    assert code == 0 and out.startswith("deterministic"), out

    (store / "extra.bin").write_bytes(b"any file of the store counts for an older run")
    code, _, err = cli(capsys, "run", str(path), "--resume", run_id, "--quiet")
    assert code == 2
    assert f"the bar store {store} changed since it started (its data digest differs); " in err


def test_the_scope_reaches_back_over_the_warm_up_of_every_day(tmp_path, lean_store_root):
    """An independent count: trailing 2 sessions, RSI 14 x2 = 28 1m bars (within one session), SMA 20 of 5m
    x2 = 40 5m bars = 200 minutes (within one session): the 2 trailing sessions before the first day."""
    config = SessionConfig.model_validate(october_session(lean_store_root, "sqlite://"))
    calendar = get_calendar()
    days = calendar.sessions(config.start, config.end)
    paths = run_paths(config, BarStore(lean_store_root, calendar), calendar, days)
    expected_days = ["2013-10-04", "2013-10-07", "2013-10-08", "2013-10-09", "2013-10-10"]
    assert paths == sorted(f"1m/symbol={s}/{d}.parquet" for s in CONFIG_SYMBOLS for d in expected_days)
    longer = config.model_copy(update={"historical": config.historical.model_copy(update={"trailing_days": 4})})
    assert len(run_paths(longer, BarStore(lean_store_root, calendar), calendar, days)) == 3 * 7


def test_resume_checks_the_bars_a_plugin_loaded_outside_the_scope(capsys, tmp_path, lean_store_root):
    """IBM is no config symbol: the scanner adds it, the strategy upgrades it. Its files are outside the
    manifest's scope, so --resume reads the bars its finished days loaded again and checks their digests."""
    store = shutil.copytree(lean_store_root, tmp_path / "store")
    log_url, run_id, path = a_run(capsys, tmp_path, store)
    _, files = recorded(log_url, run_id)
    assert not any("symbol=IBM" in name for name in files)
    with open_store(log_url) as log:
        key = tamper.run_key(log, run_id)
    with open_store(log_url) as log, log.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(status="running"))
        conn.execute(events.delete().where(events.c.run_key == key, events.c.session_date == dt.date(2013, 10, 10)))
        conn.execute(text("DELETE FROM sessions WHERE run_id = :run AND session_date = '2013-10-10'"), {"run": run_id})
    ibm = store / "1m" / "symbol=IBM"
    ibm_day = (ibm / "2013-10-09.parquet").read_bytes()
    (ibm / "2013-10-09.parquet").write_bytes((ibm / "2013-10-08.parquet").read_bytes())
    code, _, err = cli(capsys, "run", str(path), "--resume", run_id, "--quiet")
    assert code == 2, err
    assert f"cannot resume run {run_id}: the bar store {store} changed since it started (on 2013-10-09, IBM: " in err
    assert "(their digest differs)" in err and len(err.strip().splitlines()) == 1

    (ibm / "2013-10-09.parquet").write_bytes(ibm_day)
    code, out, err = cli(capsys, "run", str(path), "--resume", run_id, "--json", "--quiet")
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"
