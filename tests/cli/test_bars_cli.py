"""`daytape data bars`: rows, columns and values against the raw LEAN files, pandas and TA-Lib; exit codes."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from daytape.cli import main
from marketdata.calendar import get_calendar
from tests.marketdata.lean_minutes import lean_minute_frame

CAL = get_calendar("XNYS")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def store(lean_root, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bars-cli") / "store"
    assert main(["data", "import-lean", str(lean_root), "--store", str(path), "--symbols", "SPY,GOOG,SHY"]) == 0
    return path


def bars(capsys, store: Path, *args: str) -> list[dict]:
    code, out, err = run(capsys, "data", "bars", "--store", str(store), *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def resampled(frame: pd.DataFrame, day: date, rule: str) -> pd.DataFrame:
    session_open, session_close = pd.Timestamp(CAL.open(day)), pd.Timestamp(CAL.close(day))
    regular = frame[(frame.index >= session_open) & (frame.index < session_close)]
    grouped = regular.resample(rule, origin=session_open, closed="left", label="left")
    out = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    return out[grouped["close"].count() > 0]


def test_early_close_15m_bars_with_indicators_match_pandas_and_talib(capsys, store, lean_root):
    day = date(2015, 12, 24)
    flags = "--symbol GOOG --interval 15m --from 2015-12-24 --to 2015-12-24"
    rows = bars(capsys, store, *flags.split(), "--indicator", "rsi_5_15m", "--indicator", "bollinger_4_15m")
    expected = resampled(lean_minute_frame(lean_root, "goog", day), day, "15min")
    assert [r["ts"] for r in rows] == [t.isoformat() for t in expected.index]
    assert rows[-1]["ts"] == "2015-12-24T17:45:00+00:00"  # 12:45 in New York: the bar that ends at 13:00
    for name in ("open", "high", "low", "close", "volume"):
        assert [r[name] for r in rows] == expected[name].tolist()
    close = expected["close"].to_numpy()
    rsi = talib.RSI(close, 5)
    upper, middle, lower = talib.BBANDS(close, 4, nbdevup=2, nbdevdn=2, matype=0)
    for i, row in enumerate(rows):
        for column, reference in (
            ("rsi_5_15m", rsi),
            ("bollinger_4_15m.upper", upper),
            ("bollinger_4_15m.middle", middle),
            ("bollinger_4_15m.lower", lower),
        ):
            if np.isnan(reference[i]):
                assert row[column] is None
            else:
                assert row[column] == pytest.approx(reference[i], abs=1e-9)


def test_csv_has_a_header_and_empty_cells_before_the_first_value(capsys, store):
    flags = (
        "--symbol SPY --interval 5m --from 2013-10-07 --to 2013-10-08 --indicator macd_3_6_2_5m --indicator sma_3_5m"
    )
    code, out, err = run(capsys, "data", "bars", "--store", str(store), *flags.split())
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == [
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "macd_3_6_2_5m.macd",
        "macd_3_6_2_5m.signal",
        "macd_3_6_2_5m.hist",
        "sma_3_5m",
    ]
    assert len(table) == 1 + 2 * 78
    assert table[1][0] == "2013-10-07T13:30:00+00:00"
    assert table[1][6:] == ["", "", "", ""] and table[3][9] != ""
    assert table[6][6] == "" and table[7][6] != ""  # macd starts at bar slow + signal - 2 = 6
    # indicators run over the bars shown, across the session boundary
    assert table[79][0] == "2013-10-08T13:30:00+00:00" and table[79][9] != ""


def test_base_interval_shows_the_regular_session_and_extended_adds_the_rest(capsys, store, lean_root):
    day = date(2013, 10, 7)
    frame = lean_minute_frame(lean_root, "spy", day)
    regular = bars(capsys, store, "--symbol", "SPY", "--interval", "1m", "--from", "2013-10-07", "--to", "2013-10-07")
    everything = bars(
        capsys,
        store,
        "--symbol",
        "SPY",
        "--interval",
        "1m",
        "--from",
        "2013-10-07",
        "--to",
        "2013-10-07",
        "--extended",
        "--indicator",
        "vwap_1m",
    )
    assert len(regular) == 390
    assert len(everything) == len(frame)
    assert [r["ts"] for r in everything] == [t.isoformat() for t in frame.index]
    assert everything[0]["ts"] < regular[0]["ts"] and everything[-1]["ts"] > regular[-1]["ts"]


def test_gappy_days_over_a_weekend(capsys, store, lean_root):
    rows = bars(capsys, store, "--symbol", "SHY", "--interval", "5m", "--from", "2008-03-07", "--to", "2008-03-10")
    days = [date(2008, 3, 7), date(2008, 3, 10)]
    expected = pd.concat([resampled(lean_minute_frame(lean_root, "shy", d), d, "5min") for d in days])
    assert [r["ts"] for r in rows] == [t.isoformat() for t in expected.index]
    assert [r["volume"] for r in rows] == expected["volume"].tolist()


def test_week_bars_from_daily_bars(capsys, store):
    rows = bars(capsys, store, "--symbol", "SPY", "--interval", "1w", "--from", "2013-12-02", "--to", "2013-12-31")
    daily = bars(capsys, store, "--symbol", "SPY", "--interval", "1d", "--from", "2013-12-02", "--to", "2013-12-31")
    assert len(rows) == 5
    assert rows[0]["open"] == daily[0]["open"] and rows[-1]["close"] == daily[-1]["close"]
    assert sum(r["volume"] for r in rows) == sum(d["volume"] for d in daily)
    assert rows[0]["ts"] == "2013-12-02T05:00:00+00:00"  # Monday 00:00 New York, like the daily bars


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "5m", "--indicator", "rsi_14_1m"], "--indicator rsi_14_1m: its interval 1m is not"),
        (["--interval", "5m", "--indicator", "foo_14_5m"], "--indicator: invalid indicator key 'foo_14_5m'"),
        (["--interval", "7x"], "--interval: invalid interval '7x'"),
        (["--interval", "5m", "--from", "2013-13-01"], "--from: '2013-13-01' is not a date"),
        (["--interval", "5m", "--from", "2013-10-09", "--to", "2013-10-08"], "--from 2013-10-09 is after --to"),
        (["--interval", "5m", "--symbol", "TSLA"], "unknown symbol TSLA"),
        (["--interval", "5m", "--extended"], "--extended: pre- and post-market bars exist for intraday base"),
        (["--interval", "5m", "--format", "xml"], "--format: 'xml' is not one of csv, json"),
        (["--interval", "1s"], "SPY has no 1s bars in the store"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, store, args, message):
    base = {"--symbol": "SPY", "--from": "2013-10-07", "--to": "2013-10-08"}
    for flag in args:
        base.pop(flag, None)
    flags = [item for pair in base.items() for item in pair]
    code, out, err = run(capsys, "data", "bars", "--store", str(store), *flags, *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_store_exits_2(capsys, tmp_path):
    code, _, err = run(
        capsys,
        "data",
        "bars",
        "--store",
        str(tmp_path / "nowhere"),
        "--symbol",
        "SPY",
        "--interval",
        "5m",
        "--from",
        "2013-10-07",
        "--to",
        "2013-10-07",
    )
    assert code == 2 and "no such folder" in err


def test_days_without_data_are_named_on_stderr(capsys, store):
    flags = "--symbol SPY --interval 15m --from 2013-10-11 --to 2013-10-15"
    code, out, err = run(capsys, "data", "bars", "--store", str(store), *flags.split())
    assert code == 0
    assert len(list(csv.reader(io.StringIO(out)))) == 1 + 26
    assert "no 1m bars on 2013-10-14, 2013-10-15" in err
