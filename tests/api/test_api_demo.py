"""The Python API on the demo's data, each answer checked against an independent reading of the same files."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import daytape
from daytape.daybook import StoreChanged
from daytape.errors import UserError
from eventlog.errors import UnknownRun
from tests.api.oracles import aggregate, log_rows, parquet_minutes, regular_minutes, sessions
from tests.e2e.conftest import daytape as cli

DAY = dt.date(2023, 11, 24)  # the early close after Thanksgiving


def nulls_as_none(column: pd.Series) -> list:
    return [None if pd.isna(value) else value for value in column]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-demo") / "daytape-demo"
    made = cli("demo", "--dir", str(folder), "--days", "3", "--quiet")
    assert made.returncode == 0, made.stderr
    log = daytape.open_log(f"sqlite:///{folder / 'daytape.db'}")
    run_id = json.loads(cli("runs", "--json", "--log", log.url).stdout)[0]["run_id"]
    yield folder, log, log.run(run_id[:6])
    log.close()


def test_runs_and_manifest_say_what_the_cli_says(demo):
    _, log, run = demo
    listed = json.loads(cli("runs", "--json", "--log", log.url).stdout)
    frame = log.runs()
    assert frame.run_id.tolist() == [r["run_id"] for r in listed]
    assert frame.status.tolist() == ["completed"] and frame.sessions.tolist() == [3]
    assert run.manifest["config_hash"] == listed[0]["config_hash"]
    assert run.manifest["data_digest"] == listed[0]["data_digest"]
    assert run.manifest["config"]["symbols"] == ["SPY", "AAPL", "MSFT"]
    assert [d.date for d in run.days] == sessions("2023-11-21", "2023-11-24")


def test_events_are_the_stored_rows(demo):
    folder, _, run = demo
    stored = log_rows(folder / "daytape.db", run.run_id, DAY.isoformat())
    events = run.day(DAY).events()
    assert events.index.tolist() == [r["seq"] for r in stored]
    assert events.kind.tolist() == [r["kind"] for r in stored]
    assert nulls_as_none(events.symbol) == [r["symbol"] for r in stored]
    assert nulls_as_none(events.request_id) == [r["request_id"] for r in stored]
    assert [p["kind"] for p in events.payload] == [r["payload"]["kind"] for r in stored]


def test_requests_name_who_asked_and_how_it_ended(demo):
    folder, _, run = demo
    stored = log_rows(folder / "daytape.db", run.run_id, DAY.isoformat())
    received = {r["request_id"]: r["payload"] for r in stored if r["kind"] == "RequestReceived"}
    ends = {"RequestCompleted": "completed", "SymbolRejected": "rejected", "RequestSkipped": "skipped"}
    outcome = {r["request_id"]: ends[r["kind"]] for r in stored if r["kind"] in ends}
    requests = run.day(DAY).requests()
    assert requests.index.tolist() == list(received)
    assert requests.source.tolist() == [p["source"] for p in received.values()]
    assert nulls_as_none(requests.plugin) == [p.get("plugin") for p in received.values()]
    assert requests.outcome.to_dict() == outcome
    nosuch = requests[requests.symbol == "NOSUCH"].iloc[0]
    assert nosuch.outcome == "rejected" and "no 1m bars" in nosuch.reason
    assert requests.loc[requests.symbol == "TSLA", "plugin"].tolist() == [
        "daytape.examples:ListScanner",
        "daytape.examples:UpgradeStrategy",
    ]


@pytest.mark.parametrize("until", ["40", "2023-11-24T15:00:00+00:00", "2023-11-24T17:00:00+00:00"])
def test_symbols_at_a_point_are_replay_until(demo, until):
    _, log, run = demo
    replayed = json.loads(
        cli("replay", run.run_id, "--date", DAY.isoformat(), "--until", until, "--json", "--log", log.url).stdout
    )
    at: int | str = int(until) if until.isdigit() else until
    frame = run.day(DAY).symbols(at=at)
    assert frame.index.tolist() == sorted(replayed["symbols"])
    for symbol, data in replayed["symbols"].items():
        row = frame.loc[symbol]
        assert row.state == data["state"]
        for name in ("meets_session_config_requirements", "added_by", "auto_provisioned", "upgraded_from_adhoc"):
            assert row[name] == data["metadata"][name], (symbol, name)
        assert row.intervals == list(data["bars"])
        assert row.indicators == sorted(data["indicators"])
    assert run.day(DAY).state(at=at).events_applied == replayed["events_applied"]


def test_bars_are_the_stored_minutes_aggregated_from_the_open(demo):
    folder, _, run = demo
    minutes = regular_minutes(parquet_minutes(folder / "data", "SPY", DAY), DAY)
    day = run.day(DAY)
    one = day.bars("SPY", "1m")
    assert (one.open_time.to_numpy() == minutes.index.to_numpy()).all()
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(one[name].to_numpy(), minutes[name].to_numpy())
    for width in (5, 15):
        expected = aggregate(minutes, DAY, width)
        got = day.bars("SPY", f"{width}m")
        assert got.index.equals(expected.index)
        for name in ("open", "high", "low", "close"):
            np.testing.assert_array_equal(got[name].to_numpy(), expected[name].to_numpy())
        np.testing.assert_allclose(got.volume.to_numpy(), expected.volume.to_numpy(), rtol=1e-12)


def test_sma_over_history_and_day_is_the_textbook_one(demo):
    folder, _, run = demo
    stored = log_rows(folder / "daytape.db", run.run_id, DAY.isoformat())
    loaded = next(r["payload"] for r in stored if r["kind"] == "HistoricalLoaded" and r["symbol"] == "SPY")
    days = [*sessions(loaded["start"], loaded["end"]), DAY]
    closes = pd.concat(
        [aggregate(regular_minutes(parquet_minutes(folder / "data", "SPY", d), d), d, 5) for d in days]
    ).close
    expected = closes.rolling(20).mean()
    got = run.day(DAY).indicators("SPY", interval="5m", history=True)["sma_20_5m"]
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, equal_nan=True)
    registered = next(
        r["payload"]
        for r in stored
        if r["kind"] == "IndicatorRegistered" and r["symbol"] == "SPY" and r["payload"]["indicator"]["type"] == "sma"
    )
    at_open = expected[expected.index <= pd.Timestamp(registered["last_updated"])].iloc[-1]
    assert registered["current_value"] == pytest.approx(at_open, rel=1e-9)


def test_indicators_of_an_adhoc_symbol_start_where_its_scanner_warmed_them(demo):
    _, _, run = demo
    day = run.day(DAY)
    warm = day.bars("NVDA", "5m", history=True)
    values = day.indicators("NVDA", history=True)
    assert list(values.columns) == ["sma_20_5m"]
    assert values.index.equals(warm.index)
    assert day.indicators("NVDA").index.equals(warm.index[~warm.history.to_numpy()])


def test_a_changed_store_is_refused_not_shown(demo, tmp_path):
    folder, _, _ = demo
    copy = tmp_path / "daytape-demo"
    shutil.copytree(folder, copy)
    path = copy / "data" / "1m" / "symbol=SPY" / f"{DAY.isoformat()}.parquet"
    table = pq.read_table(path)
    close = table.column("close").to_numpy().copy()
    close[len(close) // 2] += 1.0
    pq.write_table(table.set_column(table.schema.get_field_index("close"), "close", pa.array(close)), path)
    with daytape.open_log(f"sqlite:///{copy / 'daytape.db'}") as log:
        run = log.run(log.runs().run_id.iloc[0], store=copy / "data")
        with pytest.raises(
            StoreChanged, match=r"SPY: the store's \w+ bars of 2023-11-24 are not the ones the run loaded"
        ):
            run.day(DAY).bars("SPY", "5m")
        assert len(run.day(DAY).bars("AAPL", "5m")) == 42


@pytest.mark.parametrize("gone", ["2023-11-22", "2023-11-24"])
def test_a_day_gone_from_the_store_is_named_not_shown(demo, tmp_path, gone):
    """A history day (11-22) or the day itself (11-24) removed from the store after the run."""
    folder, _, _ = demo
    copy = tmp_path / "daytape-demo"
    shutil.copytree(folder, copy)
    (copy / "data" / "1m" / "symbol=SPY" / f"{gone}.parquet").unlink()
    with daytape.open_log(f"sqlite:///{copy / 'daytape.db'}") as log:
        run = log.run(log.runs().run_id.iloc[0], store=copy / "data")
        with pytest.raises(StoreChanged, match=rf"^SPY: the store has no 1m bars for {gone} any more$"):
            run.day(DAY).bars("SPY", "5m")
        assert len(run.day(DAY).bars("AAPL", "5m")) == 42


def test_unknown_things_are_one_line_errors(demo):
    _, log, run = demo
    with pytest.raises(UserError, match="NOSUCH had no bars loaded"):
        run.day(DAY).bars("NOSUCH", "1m")
    with pytest.raises(UserError, match="had no 1h bars"):
        run.day(DAY).bars("SPY", "1h")
    with pytest.raises(UserError, match="has no session 2023-11-23"):
        run.day("2023-11-23")
    with pytest.raises(UnknownRun, match="zzz"):
        log.run("zzz")


def test_run_from_a_dict_with_overrides_is_the_same_run(demo, tmp_path):
    _folder, _, run = demo
    config = dict(run.manifest["config"])
    again = daytape.run(config, end="2023-11-22", log=f"sqlite:///{tmp_path / 'again.db'}")
    assert again.status == "completed"
    assert [d.date.isoformat() for d in again.days] == ["2023-11-21", "2023-11-22"]
    assert str(again.diff(run).first) == "2023-11-24: the date is only in run B"
    assert again.audit().ok
    with pytest.raises(UserError, match="end"):
        daytape.run(config, end="2023-11-01", log=f"sqlite:///{tmp_path / 'bad.db'}")
