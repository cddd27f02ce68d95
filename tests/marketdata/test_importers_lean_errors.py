"""LEAN zips that cannot be read are named with what is wrong (file, line, field), each on its own."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from marketdata.errors import DataImportError
from marketdata.importers import import_lean, read_lean_daily_zip, read_lean_minute_zip
from marketdata.store import BarStore


def lean_zip(path: Path, members: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("34200000,1,2,1,2\n", r"m\.zip:1: expected 6 fields \(ms, open, high, low, close, volume\), got 5"),
        ("34200000,1,2,1,2,5\n3.5e6,1,2,1,2,5\n", r"m\.zip:2: ms since midnight '3\.5e6' is not a whole number"),
        ("34200000,1,2,1,2,\n", r"m\.zip:1: volume '' is not a number"),
    ],
)
def test_a_bad_minute_row_is_named_with_its_line(tmp_path, body, message):
    path = lean_zip(tmp_path / "m.zip", {"m.csv": body})
    with pytest.raises(DataImportError, match=message):
        read_lean_minute_zip(path, date(2013, 10, 8))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("20131008 00:00,1,2,1,2\n", r"d\.zip:1: expected 6 fields \(date, open, high, low, close, volume\), got 5"),
        ("20131008 00:00,1,2,1,2,5\n2013-10-09,1,2,1,2,5\n", r"d\.zip:2: date '2013-10-09' is not yyyymmdd 00:00"),
        ("20131008 00:00,1,2,one,2,5\n", r"d\.zip:1: low 'one' is not a number"),
    ],
)
def test_a_bad_daily_row_is_named_with_its_line(tmp_path, body, message):
    path = lean_zip(tmp_path / "d.zip", {"d.csv": body})
    with pytest.raises(DataImportError, match=message):
        read_lean_daily_zip(path)


def test_a_daily_zip_reads_as_bars_at_midnight_new_york(tmp_path):
    path = lean_zip(tmp_path / "d.zip", {"d.csv": "20131008 00:00,1690000,1700000,1680000,1695000,1000\n"})
    table = read_lean_daily_zip(path)
    assert table.column("ts").to_pylist()[0].isoformat() == "2013-10-08T04:00:00+00:00"
    assert table.column("close").to_pylist() == [169.5]


def test_a_zip_must_hold_exactly_one_file(tmp_path):
    path = lean_zip(tmp_path / "two.zip", {"a.csv": "", "b.csv": ""})
    with pytest.raises(DataImportError, match=r"two\.zip: expected one CSV file in the zip, found 2"):
        read_lean_minute_zip(path, date(2013, 10, 8))


def test_a_minute_zip_whose_name_is_no_date_is_skipped_and_named(tmp_path):
    minute = tmp_path / "lean" / "equity" / "usa" / "minute" / "spy"
    lean_zip(minute / "20131399_trade.zip", {"x.csv": "34200000,1,2,1,2,5\n"})
    lean_zip(minute / "20131008_trade.zip", {"x.csv": "34200000,1,2,1,2,5\n"})
    (minute / "notes.txt").write_text("not a zip of bars\n")
    store = BarStore(tmp_path / "store")
    said: list[str] = []
    report = import_lean(tmp_path / "lean", store, progress=said.append)
    [(path, problem)] = report.skipped
    assert path.endswith("20131399_trade.zip")
    assert "the file name's date" in problem
    assert store.days("SPY", "1m") == [date(2013, 10, 8)]
    assert said[0].startswith("skipped ") and said[-1] == "SPY 1m: 1 days"


def test_a_broken_daily_zip_is_skipped_and_the_rest_imported(tmp_path):
    usa = tmp_path / "equity" / "usa"
    lean_zip(usa / "daily" / "spy.zip", {"spy.csv": "20131008 00:00,1,2,1,2,5\n"})
    (usa / "daily" / "ibm.zip").write_bytes(b"no zip")
    store = BarStore(tmp_path / "store")
    report = import_lean(tmp_path, store)
    assert [Path(p).name for p, _ in report.skipped] == ["ibm.zip"]
    assert store.symbols() == ["SPY"]


def test_a_root_that_is_a_file_or_holds_no_zips_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(DataImportError, match=r"file: not a folder"):
        import_lean(tmp_path / "file", BarStore(tmp_path / "store"))
    (tmp_path / "empty" / "equity" / "usa" / "minute").mkdir(parents=True)
    with pytest.raises(DataImportError, match=r"usa: no LEAN minute or daily trade zips under it"):
        import_lean(tmp_path / "empty", BarStore(tmp_path / "store"))
