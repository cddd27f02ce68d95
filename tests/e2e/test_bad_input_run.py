"""Bad data during a run: the symbol is rejected or its bars flagged with a reason in the log, the others go on,
and nothing already written is lost."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa

from marketdata.store import BarStore
from tests.e2e.conftest import daytape, october_session, write_session


def run_json(session) -> tuple[int, dict]:
    result = daytape("run", str(session), "--json", "--quiet")
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


def export(run_id, log, day) -> dict:
    result = daytape("export", run_id, "--date", day, "--format", "json", "--log", log)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_corrupt_day_file_drops_that_symbol_with_the_file_named(tmp_path, lean_store_root):
    store = tmp_path / "store"
    shutil.copytree(lean_store_root, store)
    corrupt = BarStore(store).day_file("AIG", "1m", __import__("datetime").date(2013, 10, 9))
    corrupt.write_bytes(b"this is not parquet")
    log = f"sqlite:///{tmp_path / 'log.db'}"
    session = write_session(tmp_path / "s.yaml", october_session(store, log, scanner=None, strategy=None))
    code, run = run_json(session)
    assert code == 0 and run["status"] == "completed"
    day8, day9, day10 = (export(run["run_id"], log, d) for d in ("2013-10-08", "2013-10-09", "2013-10-10"))
    assert set(day8["symbols"]) == {"SPY", "AIG", "BAC"}
    for state in (day9, day10):  # 10-09 is the session of day9 and history of day10
        assert set(state["symbols"]) == {"SPY", "BAC"}
        assert "AIG" not in state["rejected"]  # it validates (the file is there); loading it fails
        assert str(corrupt) in state["failed"]["AIG"]
        assert "failed" in state["failed"]["AIG"] or "corrupt" in state["failed"]["AIG"].lower()
    assert daytape("audit", run["run_id"], "--log", log).returncode == 0


def test_bad_bars_are_flagged_in_the_log_not_passed_as_clean(tmp_path, lean_store_root):
    store_root = tmp_path / "store"
    shutil.copytree(lean_store_root, store_root)
    store = BarStore(store_root)
    day = __import__("datetime").date(2013, 10, 8)
    table = store.read_days("BAC", "1m", [day]).table
    volume = table.column("volume").to_numpy().copy()
    close = table.column("close").to_numpy().copy()
    volume[200] = -5.0
    close[201] = float("nan")
    table = table.set_column(5, "volume", pa.array(volume)).set_column(4, "close", pa.array(close))
    store.write("BAC", "1m", table)
    log = f"sqlite:///{tmp_path / 'log.db'}"
    session = write_session(
        tmp_path / "s.yaml", october_session(store_root, log, end="2013-10-08", scanner=None, strategy=None)
    )
    code, run = run_json(session)
    assert code == 0
    bac = export(run["run_id"], log, "2013-10-08")["symbols"]["BAC"]
    flagged = bac["bars"]["1m"]["flagged"]
    assert flagged["negative_volume"] == 1 and flagged["nan_price"] == 1
    spy = export(run["run_id"], log, "2013-10-08")["symbols"]["SPY"]
    assert "flagged" not in spy["bars"]["1m"]


def test_a_day_where_every_config_symbol_fails_fails_and_the_run_says_so(tmp_path, lean_store_root):
    log = f"sqlite:///{tmp_path / 'log.db'}"
    session = write_session(
        tmp_path / "s.yaml",
        october_session(
            lean_store_root, log, symbols=["NOPE", "ALSONOPE"], scanner=None, strategy=None, end="2013-10-08"
        ),
    )
    code, run = run_json(session)
    assert code == 1
    assert run["status"] == "failed"
    assert run["sessions"][0]["status"] == "failed"
    assert run["sessions"][0]["rejected"] == {
        "ALSONOPE": "ALSONOPE: no 1m bars in the store",
        "NOPE": "NOPE: no 1m bars in the store",
    }
    runs = json.loads(daytape("runs", "--json", "--log", log).stdout)
    assert runs[0]["status"] == "failed"
    assert daytape("audit", run["run_id"], "--log", log).returncode == 0


def test_an_unknown_config_symbol_is_dropped_and_the_day_goes_on(tmp_path, lean_store_root):
    log = f"sqlite:///{tmp_path / 'log.db'}"
    session = write_session(
        tmp_path / "s.yaml",
        october_session(lean_store_root, log, symbols=["SPY", "TSLA"], scanner=None, strategy=None, end="2013-10-08"),
    )
    code, run = run_json(session)
    assert code == 0
    state = export(run["run_id"], log, "2013-10-08")
    assert set(state["symbols"]) == {"SPY"}
    assert state["rejected"] == {"TSLA": "TSLA: no 1m bars in the store"}


def test_a_bad_log_url_and_a_missing_store_are_bad_input(tmp_path, lean_store_root):
    session = write_session(tmp_path / "s.yaml", october_session(lean_store_root, "mysql://nowhere/x"))
    result = daytape("run", str(session))
    assert result.returncode == 2 and "mysql://nowhere/x" in result.stderr and "Traceback" not in result.stderr
    missing = write_session(
        tmp_path / "m.yaml", october_session(tmp_path / "nostore", f"sqlite:///{tmp_path / 'l.db'}")
    )
    result = daytape("run", str(missing))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{missing}: store: {tmp_path / 'nostore'}: no such folder"
