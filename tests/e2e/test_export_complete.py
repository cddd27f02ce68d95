"""`daytape export` on a real LEAN run: the summary (the contract's shape, with each interval's quality and the
history's) and `--complete` (each interval's bars with the indicator values after each), in JSON and CSV.

The oracle is the raw LEAN zip read with pandas: a 5m bar's close is the close of the last minute in its
window, its volume the window's sum, and an SMA(3) the mean of the last three closes.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date

import pandas as pd
import pytest

from marketdata.store import BarStore
from tests.e2e.conftest import daytape, write_session
from tests.marketdata.lean_minutes import lean_minute_frame

DAY = "2013-10-09"
NEW_YORK = "America/New_York"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, lean_store_root):
    folder = tmp_path_factory.mktemp("export-complete")
    store = folder / "store"
    shutil.copytree(lean_store_root, store)
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = {
        "name": "export-complete",
        "exchange": "XNYS",
        "start": DAY,
        "end": DAY,
        "store": str(store),
        "log": log_url,
        "symbols": ["SPY", "AIG"],
        "streams": ["1m"],
        "derived": ["5m"],
        "historical": {"enabled": True, "trailing_days": 1},
        "indicators": [{"type": "sma", "period": 3, "interval": "5m"}, {"type": "rsi", "period": 14, "interval": "1m"}],
    }
    path = write_session(folder / "session.yaml", session)
    result = daytape("run", str(path), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["run_id"], log_url, store


def export(run_id: str, log_url: str, *extra: str) -> str:
    result = daytape("export", run_id, "--date", DAY, "--log", log_url, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def five_minute_bars(lean_root, symbol: str) -> pd.DataFrame:
    """The regular session's 5m bars, aggregated from the raw minutes with pandas."""
    frame = lean_minute_frame(lean_root, symbol, date.fromisoformat(DAY))
    local = frame.tz_convert(NEW_YORK).between_time("09:30", "15:59")
    grouped = local.resample("5min", origin="start_day", offset="30min")
    bars = pd.DataFrame({"close": grouped["close"].last(), "volume": grouped["volume"].sum()}).dropna()
    bars.index = bars.index.tz_convert("UTC")
    return bars


def test_the_summary_keeps_the_contract_shape_and_adds_quality_per_interval(small_run):
    run_id, log_url, _ = small_run
    document = json.loads(export(run_id, log_url, "--format", "json"))
    spy = document["symbols"]["SPY"]
    assert {"derived", "base", "count", "quality", "gaps"} <= set(spy["bars"]["1m"])
    five = spy["bars"]["5m"]
    assert (five["derived"], five["base"], five["count"], five["expected"]) == (True, "1m", 78, 78)
    assert five["quality"] == five["complete"] / 78
    assert all("data" not in bars for bars in spy["bars"].values())
    assert {"sessions", "start", "end", "rows", "quality", "expected", "present", "gaps"} <= set(spy["historical"])
    assert spy["historical"]["quality"] == spy["historical"]["present"] / spy["historical"]["expected"]

    text = export(run_id, log_url, "--format", "csv")
    header, *rows = list(csv.reader(io.StringIO(text)))
    contract = ["date", "symbol", "state", "meets_session_config_requirements", "added_by", "auto_provisioned"]
    assert header[: len(contract)] == contract
    assert header[-3:] == ["historical_quality", "interval_quality", "seal"]
    spy_row = dict(zip(header, next(r for r in rows if r[1] == "SPY"), strict=True))
    assert spy_row["interval_quality"] == f"1m={spy['bars']['1m']['quality']};5m={five['quality']}"


def test_complete_json_adds_each_intervals_bars_and_indicator_values(small_run, lean_root):
    run_id, log_url, _ = small_run
    document = json.loads(export(run_id, log_url, "--format", "json", "--complete"))
    for symbol in ("SPY", "AIG"):
        bars = document["symbols"][symbol]["bars"]
        for interval, entry in bars.items():
            assert len(entry["data"]) == entry["count"], f"{symbol} {interval}"
        five = pd.DataFrame(bars["5m"]["data"])
        five.index = pd.to_datetime(five["ts"], utc=True)
        wanted = five_minute_bars(lean_root, symbol)
        assert list(five.index) == list(wanted.index)
        assert five["close"].tolist() == pytest.approx(wanted["close"].tolist())
        assert five["volume"].tolist() == pytest.approx(wanted["volume"].tolist())
        sma = wanted["close"].rolling(3).mean()
        assert five["sma_3_5m"].iloc[2:].tolist() == pytest.approx(sma.iloc[2:].tolist(), rel=1e-12)
        assert "rsi_14_1m" not in five.columns
        minute_rows = bars["1m"]["data"]
        assert all("rsi_14_1m" in row and "sma_3_5m" not in row for row in minute_rows)
        # the last value of the day is the indicator's value at the close in the summary
        assert five["sma_3_5m"].iloc[-1] == document["symbols"][symbol]["indicators"]["sma_3_5m"]["current_value"]


def test_complete_csv_has_one_row_per_bar_with_indicator_columns(small_run):
    run_id, log_url, _ = small_run
    document = json.loads(export(run_id, log_url, "--format", "json", "--complete"))
    header, *rows = list(csv.reader(io.StringIO(export(run_id, log_url, "--format", "csv", "--complete"))))
    assert header == [
        "date", "symbol", "interval", "ts", "open", "high", "low", "close", "volume", "rsi_14_1m", "sma_3_5m", "seal",
    ]  # fmt: skip
    counts = {(s, i): b["count"] for s, d in document["symbols"].items() for i, b in d["bars"].items()}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        seen[(row[1], row[2])] = seen.get((row[1], row[2]), 0) + 1
    assert seen == counts
    last_spy_5m = [row for row in rows if row[1] == "SPY" and row[2] == "5m"][-1]
    assert float(last_spy_5m[10]) == document["symbols"]["SPY"]["bars"]["5m"]["data"][-1]["sma_3_5m"]
    assert last_spy_5m[9] == ""


def test_complete_refuses_a_store_that_changed_since_the_run(small_run, tmp_path):
    run_id, log_url, store = small_run
    day_file = BarStore(store).day_file("AIG", "1m", date.fromisoformat(DAY))
    saved = tmp_path / "aig.parquet"
    shutil.copy(day_file, saved)
    day_file.unlink()
    try:
        result = daytape("export", run_id, "--date", DAY, "--log", log_url, "--format", "json", "--complete")
        assert result.returncode == 1
        assert "AIG" in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert export(run_id, log_url, "--format", "json")  # the summary needs no bars
    finally:
        shutil.copy(saved, day_file)


def test_explain_of_a_derived_interval_shows_the_quality_that_covers_it(small_run):
    run_id, log_url, _ = small_run
    result = daytape("explain", run_id, "SPY", "--date", DAY, "--interval", "5m", "--log", log_url)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if "QualityCalculated" in line]
    assert "5m 1.0000: 0/0 complete, 0 partial" in line and "history " in line
