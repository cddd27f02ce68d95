"""The Parquet bar store on real files in tmp_path: layout, merge, ranges, listing, corrupt files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from marketdata.calendar import get_calendar
from marketdata.errors import CorruptDataError, UnknownSymbolError
from marketdata.store import BAR_SCHEMA, BarStore, BarTableError, UnstorableIntervalError
from specs.intervals import Interval

NY = ZoneInfo("America/New_York")
MON, TUE, WED = date(2013, 10, 7), date(2013, 10, 8), date(2013, 10, 9)


def bars(times: list[datetime], price: float = 10.0) -> pa.Table:
    n = len(times)
    ts = pa.array([t.astimezone(UTC) for t in times], type=pa.timestamp("ns", tz="UTC"))
    prices = [price + i for i in range(n)]
    return pa.Table.from_arrays(
        [
            ts,
            pa.array(prices),
            pa.array([p + 1 for p in prices]),
            pa.array([p - 1 for p in prices]),
            pa.array(prices),
            pa.array([100.0] * n),
        ],
        schema=BAR_SCHEMA,
    )


def session_minutes(day: date, count: int) -> list[datetime]:
    open_ = get_calendar().open(day)
    return [open_ + timedelta(minutes=i) for i in range(count)]


@pytest.fixture
def store(tmp_path) -> BarStore:
    return BarStore(tmp_path / "store")


def ts_list(table: pa.Table) -> list[datetime]:
    return table.column("ts").to_pylist()


def test_write_lays_out_one_file_per_symbol_and_day(store):
    assert store.write("spy", "1m", bars(session_minutes(MON, 3) + session_minutes(TUE, 2))) == 5
    root = store.root / "1m" / "symbol=SPY"
    assert sorted(p.name for p in root.iterdir()) == ["2013-10-07.parquet", "2013-10-08.parquet"]
    assert pq.read_table(root / "2013-10-07.parquet").num_rows == 3
    assert store.day_file("SPY", "1m", MON) == root / "2013-10-07.parquet"


def test_read_range_is_half_open_utc_and_sorted(store):
    store.write("SPY", "1m", bars(list(reversed(session_minutes(MON, 5)))))
    open_ = get_calendar().open(MON)
    result = store.read("SPY", "1m", open_ + timedelta(minutes=1), open_ + timedelta(minutes=4))
    assert ts_list(result.table) == [open_ + timedelta(minutes=i) for i in (1, 2, 3)]
    assert result.table.schema == BAR_SCHEMA
    assert result.missing_days == []
    assert result.files == [store.day_file("SPY", "1m", MON)]
    # a naive start and end are UTC; a start in New York time is the same instant
    naive = store.read(
        "SPY",
        "1m",
        (open_ + timedelta(minutes=1)).replace(tzinfo=None),
        open_.replace(tzinfo=None) + timedelta(minutes=4),
    )
    local = store.read("SPY", "1m", (open_ + timedelta(minutes=1)).astimezone(NY), open_ + timedelta(minutes=4))
    assert ts_list(naive.table) == ts_list(local.table) == ts_list(result.table)


def test_read_reports_missing_sessions_not_weekends(store):
    store.write("SPY", "1m", bars(session_minutes(date(2013, 10, 4), 2) + session_minutes(WED, 2)))
    result = store.read("SPY", "1m", datetime(2013, 10, 4, tzinfo=NY), datetime(2013, 10, 10, tzinfo=NY))
    assert result.table.num_rows == 4
    assert result.missing_days == [MON, TUE]  # Saturday and Sunday are not sessions
    assert (
        store.read("SPY", "1m", datetime(2013, 10, 5, tzinfo=NY), datetime(2013, 10, 5, tzinfo=NY)).table.num_rows == 0
    )


def test_read_days_includes_pre_and_post_market_in_the_sessions_file(store):
    # 19:59 New York on a winter day is 00:59 UTC the next day; it still belongs to the session's file
    day = date(2008, 3, 7)
    pre = datetime(2008, 3, 7, 8, 54, tzinfo=NY)
    post = datetime(2008, 3, 7, 19, 59, tzinfo=NY)
    store.write("SHY", "1m", bars([post, pre, *session_minutes(day, 2)]))
    assert store.days("SHY", "1m") == [day]
    result = store.read_days("SHY", "1m", [day, date(2008, 3, 10)])
    assert ts_list(result.table)[0] == pre and ts_list(result.table)[-1] == post
    assert result.missing_days == [date(2008, 3, 10)]


def test_merge_new_rows_win_unless_replace_is_off(store):
    minutes = session_minutes(MON, 3)
    store.write("SPY", "1m", bars(minutes, price=10))
    store.write("SPY", "1m", bars([*minutes[1:], minutes[2] + timedelta(minutes=1)], price=50))
    closes = store.read_days("SPY", "1m", [MON]).table.column("close").to_pylist()
    assert closes == [10, 50, 51, 52]
    store.write("SPY", "1m", bars(minutes[:1], price=99), replace=False)
    assert store.read_days("SPY", "1m", [MON]).table.column("close").to_pylist() == [10, 50, 51, 52]
    store.write("SPY", "1m", bars(minutes[:1], price=99))
    assert store.read_days("SPY", "1m", [MON]).table.column("close").to_pylist() == [99, 50, 51, 52]


def test_rows_are_stored_as_given_but_sorted_and_out_of_order_rows_are_recorded(store):
    m = session_minutes(MON, 4)
    store.write("SPY", "1m", bars([m[2], m[0], m[1], m[1], m[3]]))
    table = store.read_days("SPY", "1m", [MON]).table
    assert ts_list(table) == [m[0], m[1], m[1], m[2], m[3]]  # sorted; the duplicate is kept for data check
    assert store.recorded_unsorted("SPY", "1m", MON) == 1
    assert store.recorded_unsorted("SPY", "1m", TUE) == 0
    store.write("SPY", "1m", bars(session_minutes(TUE, 2)))
    read = store.read_days("SPY", "1m", [MON, TUE])  # the counts come from the same open of each file
    assert (read.rows, read.unsorted) == ([5, 2], [1, 0])


def test_a_damaged_unsorted_count_is_named_by_the_read(store):
    store.write("SPY", "1m", bars(session_minutes(MON, 2)))
    path = store.day_file("SPY", "1m", MON)
    pq.write_table(pq.read_table(path).replace_schema_metadata({b"daytape.unsorted_rows": b"many"}), path)
    with pytest.raises(CorruptDataError, match=r"bad daytape\.unsorted_rows metadata b'many'"):
        store.read_days("SPY", "1m", [MON])


def test_naive_timestamps_are_utc_and_columns_are_conformed(store):
    open_ = get_calendar().open(MON)
    table = pa.table(
        {
            "volume": pa.array([5], pa.int64()),
            "ts": pa.array([open_.replace(tzinfo=None)], pa.timestamp("us")),
            "open": [1],
            "high": [2],
            "low": [1],
            "close": [2],
            "extra": ["x"],
        }
    )
    store.write("SPY", "1m", table)
    read = store.read_days("SPY", "1m", [MON]).table
    assert read.schema == BAR_SCHEMA
    assert ts_list(read) == [open_]


def test_a_table_without_bar_columns_is_refused(store):
    with pytest.raises(BarTableError, match="lacks column\\(s\\) volume"):
        store.write("SPY", "1m", pa.table({"ts": [1], "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0]}))
    with pytest.raises(ValueError, match="invalid symbol 'S P'"):
        store.write("S P", "1m", bars(session_minutes(MON, 1)))


@pytest.mark.parametrize("interval", ["5m", "1h", "2m", "5s", "1w"])
def test_only_base_intervals_are_stored(store, interval):
    """Every reader derives from the base interval, so bars stored at any other interval would be read by nothing."""
    with pytest.raises(UnstorableIntervalError, match=f"^{interval} bars cannot be stored"):
        store.write("SPY", interval, bars(session_minutes(MON, 1)))
    assert not store.root.exists() or not any(store.root.iterdir())


def test_daily_bars_live_in_year_files(store):
    days = [date(2012, 12, 31), date(2013, 1, 2), date(2013, 10, 7)]
    store.write("SPY", "1d", bars([datetime(d.year, d.month, d.day, tzinfo=NY) for d in days]))
    folder = store.root / "1d" / "symbol=SPY"
    assert sorted(p.name for p in folder.iterdir()) == ["2012.parquet", "2013.parquet"]
    assert store.days("SPY", "1d") == days
    result = store.read_days("SPY", "1d", [date(2013, 1, 2), date(2013, 1, 3)])
    assert result.table.num_rows == 1 and result.missing_days == [date(2013, 1, 3)]
    ranged = store.read("SPY", "1d", datetime(2013, 1, 1, tzinfo=NY), datetime(2013, 1, 5, tzinfo=NY))
    assert ranged.table.num_rows == 1 and ranged.missing_days == [date(2013, 1, 3), date(2013, 1, 4)]


def test_listing_symbols_intervals_days_and_coverage(store):
    assert store.symbols() == [] and not store.has_symbol("SPY")
    store.write("spy", "1m", bars(session_minutes(MON, 2) + session_minutes(WED, 1)))
    store.write("ibm", "1m", bars(session_minutes(TUE, 1)))
    store.write("spy", "1d", bars([datetime(2013, 10, 7, tzinfo=NY)]))
    assert store.symbols() == ["IBM", "SPY"]
    assert store.symbols("1d") == ["SPY"]
    assert store.intervals("spy") == [Interval("1m"), Interval("1d")]
    assert store.days("SPY", "1m") == [MON, WED]
    assert store.days("SPY", "5m") == []
    assert store.coverage("SPY") == {"1m": (MON, WED, 2), "1d": (MON, MON, 1)}
    assert store.has_symbol("ibm") and not store.has_symbol("AIG")
    assert store.require_symbol("ibm") == "IBM"
    with pytest.raises(UnknownSymbolError, match=f"unknown symbol AIG: no bars for it in the store {store.root}"):
        store.require_symbol("aig")


def test_corrupt_file_is_named(store):
    store.write("SPY", "1m", bars(session_minutes(MON, 2) + session_minutes(TUE, 2)))
    path = store.day_file("SPY", "1m", TUE)
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(CorruptDataError, match=f"^{path}: unreadable Parquet file"):
        store.read_days("SPY", "1m", [MON, TUE])
    with pytest.raises(CorruptDataError, match=str(path)):
        store.read("SPY", "1m", datetime(2013, 10, 7, tzinfo=NY), datetime(2013, 10, 9, tzinfo=NY))
    assert store.read_days("SPY", "1m", [MON]).table.num_rows == 2  # the other days stay readable
    store.write("SPY", "1m", bars(session_minutes(TUE, 1)))  # a re-import replaces the broken file
    assert store.read_days("SPY", "1m", [TUE]).table.num_rows == 1


def test_file_with_the_wrong_columns_is_named(store):
    path = store.day_file("SPY", "1m", MON)
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"ts": [1, 2], "price": [1.0, 2.0]}), path)
    with pytest.raises(CorruptDataError, match=f"^{path}: not a bar file: columns are \\(ts int64, price double\\)"):
        store.read_days("SPY", "1m", [MON])


def test_many_days_read_into_one_chunk_per_column(store):
    days = get_calendar().sessions(date(2013, 9, 3), date(2013, 10, 11))
    store.write("SPY", "1m", bars([t for d in days for t in session_minutes(d, 3)]))
    result = store.read_days("SPY", "1m", days)
    assert result.table.num_rows == 3 * len(days)
    assert all(column.num_chunks == 1 for column in result.table.columns)  # so to_numpy does not copy again
    ts = result.table.column("ts").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) > 0)
