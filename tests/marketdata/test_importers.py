"""Importers: all of the real LEAN data, and plain CSV files, with errors that name the file and line."""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from marketdata.errors import DataImportError
from marketdata.importers import import_csv, import_lean, read_bars_csv
from marketdata.store import BarStore
from specs.intervals import IntervalError

NY = ZoneInfo("America/New_York")
HEADER = "ts,open,high,low,close,volume\n"


def raw_minute_rows(lean_root: Path, symbol: str, day: date) -> list[list[str]]:
    path = lean_root / "equity" / "usa" / "minute" / symbol / f"{day:%Y%m%d}_trade.zip"
    with zipfile.ZipFile(path) as archive:
        return list(csv.reader(io.StringIO(archive.read(archive.namelist()[0]).decode())))


def raw_bar(row: list[str], day: date) -> tuple:
    start = datetime(day.year, day.month, day.day, tzinfo=NY) + timedelta(milliseconds=int(row[0]))
    return (start.astimezone(UTC), *(int(v) / 10_000 for v in row[1:5]), float(row[5]))


@pytest.fixture(scope="module")
def imported(lean_root, tmp_path_factory):
    store = BarStore(tmp_path_factory.mktemp("lean-store"))
    return store, import_lean(lean_root, store)


def test_all_of_the_lean_data_imports(lean_root, imported):
    store, report = imported
    minute_zips = sorted((lean_root / "equity" / "usa" / "minute").glob("*/*_trade.zip"))
    daily_zips = sorted((lean_root / "equity" / "usa" / "daily").glob("*.zip"))
    assert report.files == len(minute_zips) + len(daily_zips)
    assert store.symbols("1m") == sorted({p.parent.name.upper() for p in minute_zips})
    assert store.symbols("1d") == sorted(p.stem.upper() for p in daily_zips)
    for path in minute_zips:
        day = datetime.strptime(path.name[:8], "%Y%m%d").date()
        rows = raw_minute_rows(lean_root, path.parent.name, day)
        assert store.read_days(path.parent.name, "1m", [day]).table.num_rows == len(rows), path
    assert report.bad.total == 0
    spy_days = [datetime.strptime(p.name[:8], "%Y%m%d").date() for p in minute_zips if p.parent.name == "spy"]
    assert report.written["SPY"]["1m"] == sum(len(raw_minute_rows(lean_root, "spy", d)) for d in spy_days)
    assert report.days["SPY"] == {"1m": 7, "1d": 5849}


@pytest.mark.parametrize(
    ("symbol", "day"),
    [("spy", date(2013, 10, 7)), ("goog", date(2015, 12, 24)), ("shy", date(2008, 3, 7)), ("shy", date(2008, 3, 10))],
)
def test_minute_bars_equal_the_raw_file_in_utc_and_dollars(lean_root, imported, symbol, day):
    store, _ = imported
    expected = sorted(raw_bar(row, day) for row in raw_minute_rows(lean_root, symbol, day))
    table = store.read_days(symbol, "1m", [day]).table
    got = list(
        zip(*(table.column(c).to_pylist() for c in ("ts", "open", "high", "low", "close", "volume")), strict=True)
    )
    assert got == expected


def test_daylight_saving_change_between_the_shy_days(imported):
    store, _ = imported
    friday = store.read_days("SHY", "1m", [date(2008, 3, 7)]).table.column("ts").to_pylist()
    monday = store.read_days("SHY", "1m", [date(2008, 3, 10)]).table.column("ts").to_pylist()
    assert datetime(2008, 3, 7, 14, 30, tzinfo=UTC) in friday  # 09:30 EST
    assert datetime(2008, 3, 10, 13, 30, tzinfo=UTC) in monday  # 09:30 EDT
    assert friday[0] == datetime(2008, 3, 7, 8, 54, tzinfo=NY)  # pre-market bars are kept


def test_daily_bars_are_the_session_date_at_midnight_new_york(lean_root, imported):
    store, _ = imported
    with zipfile.ZipFile(lean_root / "equity" / "usa" / "daily" / "spy.zip") as archive:
        lines = archive.read(archive.namelist()[0]).decode().splitlines()
    assert lines[0].startswith("19980102 00:00,")
    table = store.read_days("SPY", "1d", [date(1998, 1, 2), date(2013, 10, 7)]).table
    assert table.column("ts").to_pylist() == [datetime(1998, 1, 2, 5, tzinfo=UTC), datetime(2013, 10, 7, 4, tzinfo=UTC)]
    first = [int(v) / 10_000 for v in lines[0].split(",")[1:5]]
    assert [table.column(c)[0].as_py() for c in ("open", "high", "low", "close")] == first
    assert table.column("volume")[0].as_py() == float(lines[0].split(",")[5])
    assert len(store.days("SPY", "1d")) == len(lines)


def test_root_may_be_the_lean_folder_or_any_folder_above_equity(lean_root, tmp_path):
    for root in (lean_root, lean_root.parent, lean_root / "equity"):
        store = BarStore(tmp_path / root.name)
        report = import_lean(root, store, symbols=["goog"])
        assert store.symbols() == ["GOOG"] and report.days["GOOG"] == {"1m": 3, "1d": 4183}


def test_unknown_symbol_and_missing_data_are_named(lean_root, tmp_path):
    with pytest.raises(DataImportError, match="unknown symbol\\(s\\) TSLA: no LEAN minute or daily data under"):
        import_lean(lean_root, BarStore(tmp_path / "s"), symbols=["tsla"])
    with pytest.raises(DataImportError, match=f"{tmp_path}: no LEAN equity data"):
        import_lean(tmp_path, BarStore(tmp_path / "s"))
    with pytest.raises(DataImportError, match="no such folder"):
        import_lean(tmp_path / "absent", BarStore(tmp_path / "s"))


def test_a_broken_lean_zip_is_left_out_whole_and_named_with_its_line(lean_root, tmp_path):
    minute = tmp_path / "lean" / "equity" / "usa" / "minute" / "spy"
    minute.mkdir(parents=True)
    shutil.copy(lean_root / "equity" / "usa" / "minute" / "spy" / "20131007_trade.zip", minute)
    with zipfile.ZipFile(minute / "20131008_trade.zip", "w") as archive:
        archive.writestr("20131008_spy_minute_trade.csv", "34200000,1,2,1,2,5\n34260000,1,2,x,2,5\n")
    store = BarStore(tmp_path / "s")
    report = import_lean(tmp_path / "lean", store)
    [(path, problem)] = report.skipped
    assert path == str(minute / "20131008_trade.zip")
    assert re.search(r"20131008_trade\.zip:2: low 'x' is not a number", problem)
    assert store.days("SPY", "1m") == [date(2013, 10, 7)]  # the good file is in, nothing of the bad one
    (minute / "20131008_trade.zip").write_bytes(b"not a zip")
    report = import_lean(tmp_path / "lean", BarStore(tmp_path / "s2"))
    assert [p for p, _ in report.skipped] == [str(minute / "20131008_trade.zip")]
    assert "unreadable zip" in report.skipped[0][1]


# -- plain CSV -------------------------------------------------------------------------------------------------


def write_csv(tmp_path: Path, body: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def test_csv_naive_times_are_local_to_tz_across_a_dst_change(tmp_path):
    path = write_csv(tmp_path, HEADER + "2008-03-07 09:30:00,1,2,0.5,1.5,100\n2008-03-10T09:30,1,2,0.5,1.5,200\n")
    store = BarStore(tmp_path / "s")
    report = import_csv(path, "shy", "1m", "America/New_York", store)
    assert report.rows == 2 and report.days["SHY"] == {"1m": 2}
    ts = store.read_days("SHY", "1m", [date(2008, 3, 7), date(2008, 3, 10)]).table.column("ts").to_pylist()
    assert ts == [datetime(2008, 3, 7, 14, 30, tzinfo=UTC), datetime(2008, 3, 10, 13, 30, tzinfo=UTC)]


def test_csv_times_with_offsets_ignore_tz_and_columns_may_come_in_any_order(tmp_path):
    path = write_csv(
        tmp_path, "volume,ts,close,low,high,open\n7,2013-10-07T13:30:00Z,4,1,5,2\n8,2013-10-07T09:31:00-04:00,4,1,5,2\n"
    )
    table = read_bars_csv(path, "Asia/Tokyo")
    assert table.column("ts").to_pylist() == [
        datetime(2013, 10, 7, 13, 30, tzinfo=UTC),
        datetime(2013, 10, 7, 13, 31, tzinfo=UTC),
    ]
    assert table.column("open").to_pylist() == [2.0, 2.0] and table.column("volume").to_pylist() == [7.0, 8.0]


def test_csv_bad_bars_are_imported_and_counted(tmp_path):
    body = (
        HEADER
        + "\n".join(
            [
                "2013-10-07 09:31,1,2,0.5,1.5,100",
                "2013-10-07 09:30,1,2,0.5,1.5,100",
                "2013-10-07 09:30,1,2,0.5,1.5,100",
                "2013-10-07 09:32,nan,2,0.5,1.5,100",
                "2013-10-07 09:33,0,2,0.5,1.5,100",
                "2013-10-07 09:34,1,0.5,2,1.5,100",
                "2013-10-07 09:35,1,2,0.5,1.5,-1",
            ]
        )
        + "\n"
    )
    store = BarStore(tmp_path / "s")
    report = import_csv(write_csv(tmp_path, body), "X", "1m", "America/New_York", store)
    assert report.rows == 7
    assert report.bad.as_dict() == {
        "unsorted": 1,
        "duplicate": 1,
        "nan_price": 1,
        "inf_price": 0,
        "nonpositive_price": 1,
        "high_below_low": 1,
        "negative_volume": 1,
        "nan_volume": 0,
        "inf_volume": 0,
        "total": 6,
    }
    assert store.read_days("X", "1m", [date(2013, 10, 7)]).table.num_rows == 7


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", ":1: empty file; expected the header ts,open,high,low,close,volume"),
        ("ts,open,high,low,close\n", ":1: header lacks volume"),
        ("ts,open,open,high,low,close,volume\n", ":1: header repeats open"),
        (HEADER + "2013-10-07 09:30,1,2,1,2,5\n2013-10-07 09:31,1,2,1,2\n", ":3: expected 6 fields"),
        (HEADER + "2013-10-07 09:30,1,2,1,2,5\n2013-10-07 09:31,1,two,1,2,5\n", ":3: high 'two' is not a number"),
        (HEADER + "2013-10-07 09:30,1,2,1,2,5\nyesterday,1,2,1,2,5\n", ":3: ts 'yesterday' is not an ISO 8601 time"),
        (
            HEADER + "2013-10-07 09:30,1,2,1,2,5\n2013-10-07T09:31-04:00,1,2,1,2,5\n",
            ":3: ts '2013-10-07T09:31-04:00' has a UTC offset, unlike the first row",
        ),
        (
            HEADER + "2008-03-09 01:59,1,2,1,2,5\n2008-03-09 02:30,1,2,1,2,5\n",
            ":3: ts '2008-03-09 02:30' does not exist in America/New_York",
        ),
        (HEADER + "2008-11-02 01:30,1,2,1,2,5\n", ":2: ts '2008-11-02 01:30' is ambiguous in America/New_York"),
    ],
)
def test_csv_errors_name_the_file_and_line(tmp_path, body, message):
    path = write_csv(tmp_path, body)
    with pytest.raises(DataImportError) as error:
        import_csv(path, "X", "1m", "America/New_York", BarStore(tmp_path / "s"))
    assert str(error.value).startswith(f"{path}{message}"), str(error.value)


def test_csv_unknown_zone_missing_file_and_bad_interval(tmp_path):
    path = write_csv(tmp_path, HEADER)
    with pytest.raises(DataImportError, match="unknown time zone 'Mars/Olympus'"):
        import_csv(path, "X", "1m", "Mars/Olympus", BarStore(tmp_path / "s"))
    with pytest.raises(DataImportError, match=f"{tmp_path / 'absent.csv'}: cannot read"):
        import_csv(tmp_path / "absent.csv", "X", "1m", "UTC", BarStore(tmp_path / "s"))
    with pytest.raises(IntervalError, match="'7x'"):
        import_csv(path, "X", "7x", "UTC", BarStore(tmp_path / "s"))
    assert import_csv(path, "X", "1m", "UTC", BarStore(tmp_path / "s")).rows == 0
