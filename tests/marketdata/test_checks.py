"""Bad bars are counted and cleaned; `check_day` figures agree with the raw LEAN files."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from marketdata.calendar import get_calendar
from marketdata.checks import BadBarCounts, check_day, clean_bars, flag_bad_bars
from marketdata.importers import import_lean
from marketdata.store import BAR_SCHEMA, BarStore

T0 = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


def table(rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    ts = pa.array([T0 + timedelta(minutes=m) for m in columns[0]], type=pa.timestamp("ns", tz="UTC"))
    return pa.Table.from_arrays([ts, *(pa.array(c, pa.float64()) for c in columns[1:])], schema=BAR_SCHEMA)


GOOD = (0, 10.0, 11.0, 9.0, 10.5, 100.0)


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([(1, 10, 11, 9, 10, 1), (0, 10, 11, 9, 10, 1)], "unsorted"),
        ([GOOD, GOOD], "duplicate"),
        ([GOOD, (1, 10, float("nan"), 9, 10, 1)], "nan_price"),
        ([GOOD, (1, float("inf"), 11, 9, 10, 1)], "inf_price"),
        ([GOOD, (1, 10, float("inf"), 9, 10, 1)], "inf_price"),
        ([GOOD, (1, 10, 11, 9, float("inf"), 1)], "inf_price"),
        ([GOOD, (1, 10, 11, 0, 10, 1)], "nonpositive_price"),
        ([GOOD, (1, -10, 11, 9, 10, 1)], "nonpositive_price"),
        ([GOOD, (1, 10, 9, 11, 10, 1)], "high_below_low"),
        ([GOOD, (1, 10, 11, 9, 10, -1)], "negative_volume"),
        ([GOOD, (1, 10, 11, 9, 10, float("nan"))], "nan_volume"),
        ([GOOD, (1, 10, 11, 9, 10, float("inf"))], "inf_volume"),
    ],
)
def test_each_bad_kind_is_counted_once(rows, field):
    counts = flag_bad_bars(table(rows))
    assert counts.as_dict()[field] == 1
    assert counts.total == 1
    assert counts.as_dict()["total"] == 1


def test_clean_table_has_no_counts_and_is_returned_as_is():
    clean = table([GOOD, (1, 10, 11, 9, 10, 0)])
    cleaned, counts = clean_bars(clean)
    assert counts == BadBarCounts() and counts.total == 0
    assert cleaned is clean
    assert flag_bad_bars(BAR_SCHEMA.empty_table()).total == 0


def test_clean_bars_sorts_keeps_the_last_duplicate_and_drops_bad_rows():
    rows = [
        (2, 10, 11, 9, 10, 1),
        (0, 10, 11, 9, 10, 1),
        (0, 20, 21, 19, 20, 1),  # duplicate of minute 0: the last given wins
        (1, 10, 9, 11, 10, 1),  # high < low
        (3, 10, 11, 9, 10, -5),  # negative volume
        (4, 10, 11, 9, 10, 1),
        (4, 0, 11, 9, 10, 1),  # a bad duplicate does not replace the good row
    ]
    cleaned, counts = clean_bars(table(rows))
    assert counts.as_dict() == {
        "unsorted": 1,
        "duplicate": 2,
        "nan_price": 0,
        "inf_price": 0,
        "nonpositive_price": 1,
        "high_below_low": 1,
        "negative_volume": 1,
        "nan_volume": 0,
        "inf_volume": 0,
        "total": 6,
    }
    minutes = [(t - T0) // timedelta(minutes=1) for t in cleaned.column("ts").to_pylist()]
    assert minutes == [0, 2, 4]
    assert cleaned.column("open").to_pylist() == [20, 10, 10]
    assert flag_bad_bars(cleaned).total == 0


def test_infinite_prices_and_volumes_are_dropped_not_passed_as_clean():
    rows = [GOOD, (1, float("inf"), 11, 9, 10, 1), (2, 10, 11, 9, 10, float("inf")), (3, 10, 11, 9, 10, 1)]
    cleaned, counts = clean_bars(table(rows))
    assert (counts.inf_price, counts.inf_volume, counts.total) == (1, 1, 2)
    minutes = [(t - T0) // timedelta(minutes=1) for t in cleaned.column("ts").to_pylist()]
    assert minutes == [0, 3]


def test_counts_add_up():
    a = BadBarCounts(duplicate=1, nan_price=2)
    assert (a + BadBarCounts(duplicate=3)).as_dict()["duplicate"] == 4
    assert (a + a).total == 6


# -- check_day against the raw LEAN zips ------------------------------------------------------------------


@pytest.fixture(scope="module")
def lean_store(lean_root, tmp_path_factory) -> BarStore:
    store = BarStore(tmp_path_factory.mktemp("check-store"))
    import_lean(lean_root, store, symbols=["spy", "goog", "shy"])
    return store


def raw_figures(lean_root: Path, symbol: str, day: date, session_ms: tuple[int, int]) -> dict:
    """rows, session rows, present minutes and gap runs straight from the zip, with the csv module."""
    path = lean_root / "equity" / "usa" / "minute" / symbol / f"{day:%Y%m%d}_trade.zip"
    with zipfile.ZipFile(path) as archive:
        rows = list(csv.reader(io.StringIO(archive.read(archive.namelist()[0]).decode())))
    start, end = session_ms
    inside = sorted({int(r[0]) for r in rows if start <= int(r[0]) < end})
    expected = (end - start) // 60_000
    present = [False] * expected
    for ms in inside:
        present[(ms - start) // 60_000] = True
    runs, i = [], 0
    while i < expected:
        if not present[i]:
            j = i
            while j + 1 < expected and not present[j + 1]:
                j += 1
            runs.append((i, j - i + 1))
            i = j + 1
        else:
            i += 1
    return {
        "rows": len(rows),
        "session_rows": sum(1 for r in rows if start <= int(r[0]) < end),
        "expected": expected,
        "present": len(inside),
        "runs": runs,
    }


OPEN_MS, CLOSE_MS, EARLY_CLOSE_MS = 34_200_000, 57_600_000, 46_800_000  # 09:30, 16:00, 13:00 New York


@pytest.mark.parametrize(
    ("symbol", "day", "close_ms", "expected"),
    [
        ("spy", date(2013, 10, 7), CLOSE_MS, 390),
        ("goog", date(2015, 12, 24), EARLY_CLOSE_MS, 210),
        ("shy", date(2008, 3, 7), CLOSE_MS, 390),
        ("shy", date(2008, 3, 10), CLOSE_MS, 390),
    ],
)
def test_check_day_agrees_with_the_raw_zip(lean_root, lean_store, symbol, day, close_ms, expected):
    raw = raw_figures(lean_root, symbol, day, (OPEN_MS, close_ms))
    check = check_day(lean_store, symbol.upper(), day)
    assert check.expected == raw["expected"] == expected
    assert check.rows == raw["rows"]
    assert check.session_rows == raw["session_rows"]
    assert check.outside_session == raw["rows"] - raw["session_rows"]
    assert check.quality == pytest.approx(raw["present"] / expected)
    open_ = get_calendar().open(day)
    assert [(g.start, g.missing) for g in check.gaps] == [(open_ + timedelta(minutes=i), n) for i, n in raw["runs"]]
    assert all(g.end == g.start + timedelta(minutes=g.missing - 1) for g in check.gaps)
    assert check.bad.total == 0


def test_shy_2008_03_07_has_333_of_390(lean_store):
    check = check_day(lean_store, "SHY", date(2008, 3, 7))
    assert (check.session_rows, check.expected) == (333, 390)
    assert check.quality == pytest.approx(333 / 390)


def test_a_day_that_is_not_a_session_has_no_quality(lean_store):
    check = check_day(lean_store, "GOOG", date(2015, 12, 25))
    assert check.as_dict() == {
        "symbol": "GOOG",
        "date": "2015-12-25",
        "rows": 0,
        "session_rows": 0,
        "expected": 0,
        "quality": None,
        "gaps": [],
        "outside_session": 0,
        "bad": BadBarCounts().as_dict(),
    }


def test_a_session_without_data_is_one_long_gap(lean_store):
    check = check_day(lean_store, "GOOG", date(2015, 12, 29))
    assert check.rows == 0 and check.quality == 0.0
    assert [(g.start, g.missing) for g in check.gaps] == [(get_calendar().open(date(2015, 12, 29)), 390)]


def test_quality_counts_only_usable_bars_but_rows_count_everything(tmp_path):
    store = BarStore(tmp_path)
    day = date(2013, 10, 7)
    rows = [(m, 10, 11, 9, 10, 1) for m in range(390)]
    rows[5] = (5, 10, 11, 9, 10, -1)
    rows.append((0, 10, 11, 9, 10, 1))
    store.write("X", "1m", table(list(reversed(rows))))
    check = check_day(store, "X", day)
    assert (check.rows, check.session_rows, check.outside_session) == (391, 391, 0)
    assert check.quality == pytest.approx(389 / 390)
    assert check.bad.as_dict()["negative_volume"] == 1 and check.bad.duplicate == 1
    assert check.bad.unsorted == 389  # recorded when the reversed rows were written (the first step goes up)
    assert [(g.start, g.missing) for g in check.gaps] == [(T0 + timedelta(minutes=5), 1)]
