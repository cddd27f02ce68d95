"""A run over the real LEAN data whose session file's scanner asks for history-only bars
(`daytape.examples:BarScanner`, scope history) and whose strategy then upgrades the symbol: the log, the
export, `explain` and the Python API's rebuilt bars all follow the scope and the joined history, checked
against the raw LEAN zips."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import daytape
from daytape.errors import UserError
from tests.api.oracles import aggregate, log_rows, regular_minutes
from tests.e2e.conftest import daytape as cli
from tests.e2e.conftest import october_session, write_session
from tests.marketdata.lean_minutes import lean_minute_frame

DAY = dt.date(2013, 10, 9)
HELD, MISSING = dt.date(2013, 10, 8), dt.date(2013, 10, 7)  # trailing_days 2: 10-07 and 10-08


def _scanner(**params: object) -> dict:
    return {
        "class": "daytape.examples:BarScanner",
        "params": {"symbols": ["IBM"], "at": "10:00", "interval": "5m", **params},
    }


@pytest.fixture(scope="module")
def scoped(tmp_path_factory, lean_store_root):
    folder = tmp_path_factory.mktemp("api-scope")
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = october_session(
        lean_store_root, log_url, start=DAY.isoformat(), end=DAY.isoformat(), scanner=_scanner(days=1, scope="history")
    )
    run = daytape.run(write_session(folder / "session.yaml", session))
    yield folder, run
    run.log.close()


def test_the_scanner_asked_for_history_only_and_the_log_says_so(scoped):
    folder, run = scoped
    assert run.status == "completed" and run.audit().ok
    rows = [r for r in log_rows(folder / "log.db", run.run_id, DAY.isoformat()) if r["symbol"] == "IBM"]
    scanner = next(r for r in rows if r["kind"] == "RequestReceived")
    assert (scanner["payload"]["scope"], scanner["payload"]["schema_version"]) == ("history", 3)
    planned = next(r for r in rows if r["kind"] == "RequestPlanned")
    assert planned["payload"]["steps"] == [
        "create_symbol adhoc",
        "add_interval 1m",
        "add_interval 5m",
        "load_historical 1m x1 sessions",
    ]
    explained = run.day(DAY).explain("IBM", interval="5m")
    first = explained.requests[0]
    assert (first.source, first.plugin, first.scope) == ("scanner", "daytape.examples:BarScanner", "history")
    assert first.description == "scanner asked for 5m bars, 1 session of history only (no session bars) of IBM"


def test_before_the_upgrade_the_export_marks_the_interval_history_only(scoped):
    _, run = scoped
    day = run.day(DAY)
    upgrade = day.explain("IBM").requests[1]
    before = day.export(at=upgrade.sim_time - dt.timedelta(minutes=1))["symbols"]["IBM"]
    assert before["state"] == "adhoc"
    assert before["bars"]["5m"]["history_only"] is True and before["bars"]["1m"]["history_only"] is True
    assert before["historical"]["start"] == before["historical"]["end"] == HELD.isoformat()
    after = day.export()["symbols"]["IBM"]
    assert after["state"] == "full" and not any("history_only" in bars for bars in after["bars"].values())


def test_the_upgrade_loads_only_the_missing_session_and_the_api_rebuilds_the_joined_history(scoped, lean_root):
    folder, run = scoped
    rows = [r for r in log_rows(folder / "log.db", run.run_id, DAY.isoformat()) if r["symbol"] == "IBM"]
    loads = [r["payload"] for r in rows if r["kind"] == "HistoricalLoaded"]
    assert [(p["start"], p["end"]) for p in loads] == [
        (HELD.isoformat(), HELD.isoformat()),
        (MISSING.isoformat(), MISSING.isoformat()),
    ]
    assert loads[1]["joined"]["start"] == MISSING.isoformat() and loads[1]["joined"]["sessions"] == 2

    bars = run.day(DAY).bars("IBM", "1m", history=True)
    past = bars[bars.history]
    minutes = pd.concat([regular_minutes(lean_minute_frame(lean_root, "IBM", d), d) for d in (MISSING, HELD)])
    assert len(past) == len(minutes)
    assert (past.open_time.to_numpy() == minutes.index.to_numpy()).all()
    assert (past.close.to_numpy() == minutes.close.to_numpy()).all()
    assert loads[1]["joined"]["rows"] == len(minutes)
    assert "rsi_14_1m" in run.day(DAY).indicators("IBM").columns


def test_a_bad_scope_in_the_session_file_is_refused_naming_the_scanner(tmp_path, lean_store_root):
    session = october_session(
        lean_store_root, f"sqlite:///{tmp_path / 'log.db'}", scanner=_scanner(days=1, scope="later")
    )
    done = cli("config", "check", str(write_session(tmp_path / "session.yaml", session)))
    assert done.returncode == 2
    assert "scanner" in done.stderr and "scope must be one of both, history, session, got 'later'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def history_only(tmp_path_factory, lean_store_root):
    """No strategy: IBM stays held for its 5m history only, two sessions of it."""
    folder = tmp_path_factory.mktemp("api-history-only")
    session = october_session(
        lean_store_root,
        f"sqlite:///{folder / 'log.db'}",
        start=DAY.isoformat(),
        end=DAY.isoformat(),
        scanner=_scanner(days=2, scope="history"),
        strategy=None,
    )
    run = daytape.run(write_session(folder / "session.yaml", session))
    yield run
    run.log.close()


def test_the_api_gives_the_history_of_an_interval_held_for_it_only(history_only, lean_root):
    day = history_only.day(DAY)
    assert day.export()["symbols"]["IBM"]["bars"]["5m"] == {
        "derived": True,
        "base": "1m",
        "count": 0,
        "history_only": True,
    }
    got = day.bars("IBM", "5m", history=True)
    expected = pd.concat(
        [aggregate(regular_minutes(lean_minute_frame(lean_root, "IBM", d), d), d, 5) for d in (MISSING, HELD)]
    )
    assert got.history.all() and got.index.equals(expected.index)
    assert (got[["open", "high", "low", "close", "volume"]].to_numpy() == expected.to_numpy()).all()
    with pytest.raises(UserError, match="IBM had no 5m bars on 2013-10-09"):
        day.bars("IBM", "5m")
