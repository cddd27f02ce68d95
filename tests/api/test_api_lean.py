"""The Python API on a run over the real LEAN data (October 2013), checked against the raw LEAN zips."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

import daytape
from tests.api.oracles import aggregate, log_rows, regular_minutes, sessions
from tests.e2e.conftest import october_session, write_session
from tests.marketdata.lean_minutes import lean_minute_frame

DAY = dt.date(2013, 10, 9)


@pytest.fixture(scope="module")
def october(tmp_path_factory, lean_store_root):
    folder = tmp_path_factory.mktemp("api-october")
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = write_session(folder / "session.yaml", october_session(lean_store_root, log_url))
    run = daytape.run(session)
    yield folder, run
    run.log.close()


def test_the_run_from_python_ends_every_session(october):
    _, run = october
    assert run.status == "completed"
    assert [d.date for d in run.days] == sessions("2013-10-08", "2013-10-10")
    assert run.audit().ok


@pytest.mark.parametrize("symbol", ["SPY", "AIG", "BAC", "IBM"])
def test_bars_are_the_lean_minutes_of_the_regular_session(october, lean_root, symbol):
    _, run = october
    minutes = regular_minutes(lean_minute_frame(lean_root, symbol, DAY), DAY)
    day = run.day(DAY)
    got = day.bars(symbol, "1m")
    assert (got.open_time.to_numpy() == minutes.index.to_numpy()).all()
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(got[name].to_numpy(), minutes[name].to_numpy(), rtol=1e-12)
    expected = aggregate(minutes, DAY, 5)
    got5 = day.bars(symbol, "5m")
    assert got5.index.equals(expected.index)
    np.testing.assert_allclose(
        got5[["open", "high", "low", "close", "volume"]].to_numpy(), expected.to_numpy(), rtol=1e-12
    )


def test_rsi_is_wilders_over_the_history_the_run_loaded(october, lean_root):
    folder, run = october
    stored = log_rows(folder / "log.db", run.run_id, DAY.isoformat())
    loaded = next(r["payload"] for r in stored if r["kind"] == "HistoricalLoaded" and r["symbol"] == "SPY")
    days = [*sessions(loaded["start"], loaded["end"]), DAY]
    close = pd.concat([regular_minutes(lean_minute_frame(lean_root, "SPY", d), d).close for d in days])
    change = close.diff()
    period = 14
    gain, loss = change.clip(lower=0).to_numpy(), (-change).clip(lower=0).to_numpy()
    expected = np.full(len(close), np.nan)
    avg_gain, avg_loss = gain[1 : period + 1].mean(), loss[1 : period + 1].mean()
    for i in range(period, len(close)):
        if i > period:
            avg_gain = (avg_gain * (period - 1) + gain[i]) / period
            avg_loss = (avg_loss * (period - 1) + loss[i]) / period
        expected[i] = 100.0 if avg_loss == 0 else 100 - 100 / (1 + avg_gain / avg_loss)
    got = run.day(DAY).indicators("SPY", interval="1m", history=True)["rsi_14_1m"]
    assert len(got) == len(close)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_ibm_came_from_the_scanner_then_the_strategy(october):
    _, run = october
    day = run.day(DAY)
    explained = day.explain("IBM")
    assert [(r.source, r.plugin, r.outcome) for r in explained.requests] == [
        ("scanner", "daytape.examples:ListScanner", "completed"),
        ("strategy", "daytape.examples:UpgradeStrategy", "completed"),
    ]
    symbols = day.symbols()
    assert symbols.loc["IBM", "state"] == "full" and bool(symbols.loc["IBM", "upgraded_from_adhoc"])
    before = day.symbols(at=explained.requests[1].sim_time - dt.timedelta(minutes=1))
    assert before.loc["IBM", "state"] == "adhoc"
    assert "sma_20_5m" in day.indicators("IBM").columns


def test_the_cli_and_the_api_export_the_same_state(october):
    from tests.e2e.conftest import daytape as cli

    _folder, run = october
    exported = json.loads(
        cli("export", run.run_id, "--date", DAY.isoformat(), "--format", "json", "--log", run.log.url).stdout
    )
    frame = run.day(DAY).symbols()
    assert frame.index.tolist() == sorted(exported["symbols"])
    assert frame.state.to_dict() == {s: d["state"] for s, d in exported["symbols"].items()}
    assert frame.quality.to_dict() == {s: d["bars"]["1m"].get("quality") for s, d in exported["symbols"].items()}


@pytest.mark.parametrize("day", sessions("2013-10-08", "2013-10-10"))
def test_ibm_upgraded_loads_each_history_session_once(october, day):
    """The scanner's warm-up holds the session before the day; the upgrade to two trailing sessions reads only
    the one before it and joins them (issue 17: 2013-10-08 was read twice on the 9th)."""
    folder, run = october
    loads = [
        r["payload"]
        for r in log_rows(folder / "log.db", run.run_id, day.isoformat())
        if r["kind"] == "HistoricalLoaded" and r["symbol"] == "IBM"
    ]
    two = sessions((day - dt.timedelta(days=7)).isoformat(), (day - dt.timedelta(days=1)).isoformat())[-2:]
    assert [(p["start"], p["end"]) for p in loads] == [
        (two[1].isoformat(), two[1].isoformat()),
        (two[0].isoformat(), two[0].isoformat()),
    ]
    assert (loads[1]["joined"]["start"], loads[1]["joined"]["end"]) == (two[0].isoformat(), two[1].isoformat())
    state = run.day(day).state().symbols["IBM"]
    assert state.historical is not None and (state.historical.start, state.historical.sessions) == (two[0], 2)
