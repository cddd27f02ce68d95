"""`daytape calendar` and `daytape data import-lean | import-csv | check`: figures, exit codes, messages."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from daytape.cli import main

HEADER = "ts,open,high,low,close,volume\n"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def lean_store(lean_root, tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("cli-store") / "bars"
    assert main(["data", "import-lean", str(lean_root), "--store", str(store)]) == 0
    return store


# -- calendar -----------------------------------------------------------------------------------------------


def test_calendar_json_lists_sessions_in_exchange_time(capsys):
    code, out, err = run(capsys, "calendar", "--from", "2015-12-23", "--to", "2015-12-28", "--json")
    assert code == 0, err
    assert json.loads(out) == [
        {
            "date": "2015-12-23",
            "open": "2015-12-23T09:30:00-05:00",
            "close": "2015-12-23T16:00:00-05:00",
            "early_close": False,
        },
        {
            "date": "2015-12-24",
            "open": "2015-12-24T09:30:00-05:00",
            "close": "2015-12-24T13:00:00-05:00",
            "early_close": True,
        },
        {
            "date": "2015-12-28",
            "open": "2015-12-28T09:30:00-05:00",
            "close": "2015-12-28T16:00:00-05:00",
            "early_close": False,
        },
    ]


def test_calendar_table(capsys):
    code, out, _ = run(capsys, "calendar", "--exchange", "XNYS", "--from", "2015-12-24", "--to", "2015-12-24")
    assert code == 0
    assert "2015-12-24" in out and "13:00" in out and "yes" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--exchange", "NOPE", "--from", "2015-12-01", "--to", "2015-12-02"],
            "--exchange: unknown exchange 'NOPE': use an exchange_calendars code such as XNYS, XNAS, XLON",
        ),
        (["--from", "2015-13-01", "--to", "2015-12-02"], "--from: '2015-13-01' is not a date (YYYY-MM-DD)"),
        (["--from", "2015-12-01", "--to", "tomorrow"], "--to: 'tomorrow' is not a date (YYYY-MM-DD)"),
        (["--from", "2015-12-31", "--to", "2015-12-01"], "--from 2015-12-31 is after --to 2015-12-01"),
        (
            ["--from", "1900-01-01", "--to", "1900-02-01"],
            "1900-01-01 is outside the XNYS calendar's range 1990-01-02..2035-12-31",
        ),
    ],
)
def test_calendar_bad_input_exits_2_with_one_line(capsys, args, message):
    code, out, err = run(capsys, "calendar", *args)
    assert code == 2
    assert out == ""
    assert err == message + "\n"


# -- import-lean and check against the raw zips -----------------------------------------------------------------


def raw_minutes(lean_root: Path, symbol: str, day: date) -> list[int]:
    path = lean_root / "equity" / "usa" / "minute" / symbol / f"{day:%Y%m%d}_trade.zip"
    with zipfile.ZipFile(path) as archive:
        return [int(row[0]) for row in csv.reader(io.StringIO(archive.read(archive.namelist()[0]).decode()))]


@pytest.mark.parametrize(
    ("symbol", "day", "close_ms", "expected"),
    [
        ("spy", date(2013, 10, 7), 57_600_000, 390),
        ("goog", date(2015, 12, 24), 46_800_000, 210),  # early close at 13:00
        ("shy", date(2008, 3, 7), 57_600_000, 390),
        ("shy", date(2008, 3, 10), 57_600_000, 390),  # after the DST change
    ],
)
def test_data_check_figures_match_the_raw_files(capsys, lean_root, lean_store, symbol, day, close_ms, expected):
    code, out, err = run(
        capsys,
        "data",
        "check",
        "--store",
        str(lean_store),
        "--symbol",
        symbol,
        "--from",
        day.isoformat(),
        "--to",
        day.isoformat(),
        "--json",
    )
    assert code == 0, err
    [row] = json.loads(out)
    ms = raw_minutes(lean_root, symbol, day)
    inside = [m for m in ms if 34_200_000 <= m < close_ms]
    assert row["symbol"] == symbol.upper() and row["date"] == day.isoformat()
    assert row["rows"] == len(ms)
    assert row["session_rows"] == len(inside)
    assert row["outside_session"] == len(ms) - len(inside)
    assert row["expected"] == expected
    assert row["quality"] == pytest.approx(len(set(inside)) / expected)
    assert sum(g["missing"] for g in row["gaps"]) == expected - len(set(inside))
    assert all(g["start"].endswith("+00:00") and g["start"] <= g["end"] for g in row["gaps"])
    assert row["bad"]["total"] == 0
    if (symbol, day) == ("shy", date(2008, 3, 7)):
        assert len(set(inside)) == 333


def test_data_check_without_range_lists_every_stored_day(capsys, lean_store):
    code, out, _ = run(capsys, "data", "check", "--store", str(lean_store), "--json")
    assert code == 0
    rows = json.loads(out)
    assert {r["symbol"] for r in rows} == {"AAPL", "AIG", "BAC", "FOXA", "GOOG", "IBM", "NWSA", "SHY", "SPY", "TWX"}
    assert [r["date"] for r in rows if r["symbol"] == "GOOG"] == ["2015-12-23", "2015-12-24", "2015-12-28"]


def test_data_check_range_lists_sessions_without_data(capsys, lean_store):
    code, out, _ = run(
        capsys,
        "data",
        "check",
        "--store",
        str(lean_store),
        "--symbol",
        "goog",
        "--from",
        "2015-12-24",
        "--to",
        "2015-12-29",
        "--json",
    )
    assert code == 0
    rows = {r["date"]: r for r in json.loads(out)}
    assert list(rows) == ["2015-12-24", "2015-12-28", "2015-12-29"]
    assert rows["2015-12-29"]["rows"] == 0 and rows["2015-12-29"]["quality"] == 0.0


def test_data_check_table_goes_to_stdout(capsys, lean_store):
    code, out, _ = run(capsys, "data", "check", "--store", str(lean_store), "--symbol", "SHY")
    assert code == 0
    assert "2008-03-07" in out and "85.4%" in out


def test_import_lean_json_report(capsys, lean_root, tmp_path):
    code, out, err = run(
        capsys, "data", "import-lean", str(lean_root), "--store", str(tmp_path / "s"), "--symbols", "goog,shy", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["symbols"]["SHY"] == {"1m": {"rows": 652, "days": 2}}
    assert report["symbols"]["GOOG"]["1m"]["days"] == 3
    assert "SHY 1m: 2 days" in err


def test_import_lean_unknown_symbol_and_bad_root(capsys, lean_root, tmp_path):
    code, _, err = run(
        capsys, "data", "import-lean", str(lean_root), "--store", str(tmp_path / "s"), "--symbols", "tsla"
    )
    assert code == 2 and err.startswith("unknown symbol(s) TSLA: no LEAN minute or daily data under")
    code, _, err = run(capsys, "data", "import-lean", str(tmp_path / "nowhere"), "--store", str(tmp_path / "s"))
    assert code == 2 and err == f"{tmp_path / 'nowhere'}: no such folder\n"


# -- import-csv ---------------------------------------------------------------------------------------------------


def csv_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + body)
    return path


def import_args(path: Path, store: Path, **overrides: str) -> list[str]:
    options = {"--symbol": "X", "--interval": "1m", "--tz": "America/New_York", "--store": str(store), **overrides}
    return ["data", "import-csv", str(path), *[part for item in options.items() for part in item]]


def test_import_csv_then_check(capsys, tmp_path):
    path = csv_file(tmp_path, "2013-10-07 09:30,1,2,0.5,1.5,100\n2013-10-07 09:32,1,2,0.5,1.5,100\n")
    code, _, err = run(capsys, *import_args(path, tmp_path / "s"))
    assert code == 0, err
    code, out, _ = run(capsys, "data", "check", "--store", str(tmp_path / "s"), "--json")
    [row] = json.loads(out)
    assert (row["rows"], row["session_rows"], row["expected"]) == (2, 2, 390)
    assert row["gaps"][0] == {"start": "2013-10-07T13:31:00+00:00", "end": "2013-10-07T13:31:00+00:00", "missing": 1}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"--interval": "7x"}, "--interval: invalid interval '7x'"),
        ({"--interval": "0m"}, "--interval: invalid interval '0m'"),
        ({"--tz": "Mars/Olympus"}, "--tz: unknown time zone 'Mars/Olympus'"),
        ({"--symbol": "B AD"}, "--symbol: invalid symbol 'B AD'"),
    ],
)
def test_import_csv_bad_options_exit_2(capsys, tmp_path, overrides, message):
    path = csv_file(tmp_path, "2013-10-07 09:30,1,2,0.5,1.5,100\n")
    code, out, err = run(capsys, *import_args(path, tmp_path / "s", **overrides))
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_import_csv_unreadable_file_exit_2_naming_file_and_line(capsys, tmp_path):
    path = csv_file(tmp_path, "2013-10-07 09:30,1,2,0.5,1.5,100\n2013-10-07 09:31,1,2,0.5\n")
    code, _, err = run(capsys, *import_args(path, tmp_path / "s"))
    assert code == 2
    assert err == f"{path}:3: expected 6 fields (ts,open,high,low,close,volume), got 4\n"
    code, _, err = run(capsys, *import_args(tmp_path / "absent.csv", tmp_path / "s"))
    assert code == 2 and err.startswith(f"{tmp_path / 'absent.csv'}: cannot read")
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01\x02")
    code, _, err = run(capsys, *import_args(tmp_path / "binary.csv", tmp_path / "s"))
    assert code == 2 and err.startswith(f"{tmp_path / 'binary.csv'}:1: header lacks ts")


# -- bad bars: imported, then counted by data check (exit 1) ----------------------------------------------------

GOOD_ROWS = ["2013-10-07 09:30,10,11,9,10,100", "2013-10-07 09:31,10,11,9,10,100"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["2013-10-07 09:29,10,11,9,10,100"], "unsorted"),
        (["2013-10-07 09:31,10,11,9,10,100"], "duplicate"),
        (["2013-10-07 09:32,10,NaN,9,10,100"], "nan_price"),
        (["2013-10-07 09:32,inf,11,9,10,100"], "inf_price"),
        (["2013-10-07 09:32,10,11,9,10,inf"], "inf_volume"),
        (["2013-10-07 09:32,10,11,0,10,100"], "nonpositive_price"),
        (["2013-10-07 09:32,10,9,11,10,100"], "high_below_low"),
        (["2013-10-07 09:32,10,11,9,10,-100"], "negative_volume"),
    ],
)
def test_each_bad_bar_is_counted_by_data_check(capsys, tmp_path, extra, field):
    store = tmp_path / "s"
    code, _, err = run(capsys, *import_args(csv_file(tmp_path, "\n".join(GOOD_ROWS + extra) + "\n"), store))
    assert code == 0
    assert f"bad bars imported (kept for `data check`): 1 {field}" in err
    code, out, err = run(capsys, "data", "check", "--store", str(store), "--json")
    assert code == 1
    [row] = json.loads(out)
    assert row["bad"][field] == 1 and row["bad"]["total"] == 1
    assert err == f"bad bars in 1 symbol-day(s): X 2013-10-07: 1 {field}\n"


@pytest.mark.parametrize(("interval", "base"), [("1h", "1m"), ("5m", "1m"), ("1w", "1d")])
def test_import_csv_refuses_an_interval_the_store_cannot_serve(capsys, tmp_path, interval, base):
    store = tmp_path / "s"
    path = csv_file(tmp_path, "2013-10-09 09:30,10,11,9,10,100\n2013-10-09 10:30,10,11,9,10,100\n")
    code, out, err = run(capsys, *import_args(path, store, **{"--interval": interval}))
    assert (code, out) == (2, "")
    assert err == (
        f"--interval: {interval} bars cannot be stored: the store keeps base intervals (1s, 1m, 1d) "
        f"and derives {interval} from {base} when it is read; import {base} bars instead\n"
    )
    assert not store.exists()


def test_import_csv_of_base_intervals_is_readable(capsys, tmp_path):
    path = csv_file(tmp_path, "2013-10-09 09:30:00,10,11,9,10,100\n2013-10-09 09:30:01,10,11,9,10,100\n")
    assert run(capsys, *import_args(path, tmp_path / "s", **{"--interval": "1s"}))[0] == 0
    code, out, err = run(
        capsys, "data", "bars", "--store", str(tmp_path / "s"), "--symbol", "X", "--interval", "1s",
        "--from", "2013-10-09", "--to", "2013-10-09", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert [bar["ts"] for bar in json.loads(out)] == ["2013-10-09T13:30:00+00:00", "2013-10-09T13:30:01+00:00"]


def test_an_infinite_open_is_flagged_and_kept_out_of_the_session_and_its_derived_bars(capsys, tmp_path):
    """The issue's day: 390 minutes of 2013-10-09 with open=inf at 09:40; quality is 389/390, not 1.0, and no
    5m bar carries the inf."""
    minutes = [f"2013-10-09 {9 + (30 + m) // 60:02d}:{(30 + m) % 60:02d}" for m in range(390)]
    rows = [f"{ts},{'inf' if m == 10 else '10'},10.5,9.5,10.1,100" for m, ts in enumerate(minutes)]
    store = tmp_path / "s"
    code, _, err = run(capsys, *import_args(csv_file(tmp_path, "\n".join(rows) + "\n"), store))
    assert code == 0 and "1 inf_price" in err
    code, out, _ = run(capsys, "data", "check", "--store", str(store), "--json")
    assert code == 1
    [day] = json.loads(out)
    assert day["bad"]["inf_price"] == 1 and day["bad"]["total"] == 1
    assert day["quality"] == pytest.approx(389 / 390)
    assert day["gaps"] == [{"start": "2013-10-09T13:40:00+00:00", "end": "2013-10-09T13:40:00+00:00", "missing": 1}]
    code, out, err = run(
        capsys, "data", "bars", "--store", str(store), "--symbol", "X", "--interval", "5m",
        "--from", "2013-10-09", "--to", "2013-10-09", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    bars = json.loads(out)
    assert len(bars) == 78 and all(bar["open"] == 10 for bar in bars)


# -- data check bad input -----------------------------------------------------------------------------------------


def test_data_check_bad_input_exits_2(capsys, tmp_path, lean_store):
    cases = [
        (["--store", str(tmp_path / "absent")], f"--store: {tmp_path / 'absent'}: no such folder"),
        (
            ["--store", str(lean_store), "--symbol", "TSLA"],
            f"unknown symbol TSLA: no bars for it in the store {lean_store}",
        ),
        (["--store", str(lean_store), "--from", "2013-10-32"], "--from: '2013-10-32' is not a date (YYYY-MM-DD)"),
        (
            ["--store", str(lean_store), "--from", "2013-10-09", "--to", "2013-10-07"],
            "--from 2013-10-09 is after --to 2013-10-07",
        ),
        (["--store", str(lean_store), "--symbol", "B AD"], "--symbol: invalid symbol 'B AD'"),
    ]
    for args, message in cases:
        code, out, err = run(capsys, "data", "check", *args)
        assert (code, out) == (2, ""), args
        assert err.startswith(message) and err.count("\n") == 1, err


def test_corrupt_parquet_exits_2_naming_the_file(tmp_path):
    store = tmp_path / "s"
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + "\n".join(GOOD_ROWS) + "\n")
    assert main(import_args(path, store)) == 0
    broken = store / "1m" / "symbol=X" / "2013-10-07.parquet"
    broken.write_bytes(b"garbage")
    result = subprocess.run(
        [sys.executable, "-m", "daytape.cli", "data", "check", "--store", str(store)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{broken}: unreadable Parquet file")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
