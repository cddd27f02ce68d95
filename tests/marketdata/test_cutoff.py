"""`write_store_until`: a store on LEAN minute bars as it stood at a moment, checked against the raw zips."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from marketdata.calendar import get_calendar
from marketdata.cutoff import write_store_until
from marketdata.store import BAR_SCHEMA, BarStore
from tests.marketdata.lean_minutes import lean_minute_frame, lean_minute_table

MON, TUE, WED = date(2013, 10, 7), date(2013, 10, 8), date(2013, 10, 9)
#: 10:00 New York time on Tuesday (EDT, UTC-4): 30 minutes after the open.
MOMENT = datetime(2013, 10, 8, 14, 0, tzinfo=UTC)


def daily_table(days: list[date]) -> pa.Table:
    """One daily bar per day, ts at midnight New York time (EDT in October) as the store keeps them."""
    ts = [datetime(d.year, d.month, d.day, 4, 0, tzinfo=UTC) for d in days]
    prices = [float(i + 1) for i in range(len(days))]
    return pa.Table.from_arrays(
        [pa.array(ts, type=pa.timestamp("ns", tz="UTC"))] + [pa.array(prices)] * 5, schema=BAR_SCHEMA
    )


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.parquet")}


@pytest.fixture
def lean_store(tmp_path, lean_root) -> BarStore:
    store = BarStore(tmp_path / "store", get_calendar("XNYS"))
    for day in (MON, TUE, WED):
        store.write("SPY", "1m", lean_minute_table(lean_root, "SPY", day))
    store.write("SPY", "1d", daily_table([date(2012, 10, 1), MON, TUE, WED]))
    (store.root / "README.txt").write_text("not bars\n")
    return store


def test_the_day_keeps_only_the_bars_closed_by_the_moment(lean_store, lean_root, tmp_path):
    before = digests(lean_store.root)
    copy = write_store_until(lean_store.root, tmp_path / "cut", TUE, MOMENT, lean_store.calendar)

    raw = lean_minute_frame(lean_root, "SPY", TUE)
    closed = raw[raw.index + timedelta(minutes=1) <= MOMENT]
    cut_day = pq.read_table(copy / "1m" / "symbol=SPY" / "2013-10-08.parquet")
    assert cut_day.column("ts").to_pylist() == [t.to_pydatetime() for t in closed.index]
    assert cut_day.column("close").to_pylist() == closed["close"].tolist()
    # LEAN's Tuesday file starts at 04:00 New York time: everything up to 09:59 closes by 10:00.
    assert cut_day.column("ts").to_pylist()[-1] == MOMENT - timedelta(minutes=1)

    assert digests(lean_store.root) == before  # the original is only read


def test_earlier_days_are_links_and_later_days_are_left_out(lean_store, tmp_path):
    copy = write_store_until(lean_store.root, tmp_path / "cut", TUE, MOMENT, lean_store.calendar)
    minutes = copy / "1m" / "symbol=SPY"
    assert sorted(p.name for p in minutes.iterdir()) == ["2013-10-07.parquet", "2013-10-08.parquet"]
    monday = minutes / "2013-10-07.parquet"
    assert monday.is_symlink()
    assert monday.resolve() == (lean_store.root / "1m" / "symbol=SPY" / "2013-10-07.parquet").resolve()
    assert not (minutes / "2013-10-08.parquet").is_symlink()
    assert (copy / "README.txt").is_symlink()
    assert (copy / "README.txt").read_text() == "not bars\n"


def test_daily_bars_keep_the_days_before_the_session(lean_store, tmp_path):
    copy = write_store_until(lean_store.root, tmp_path / "cut", TUE, MOMENT, lean_store.calendar)
    daily = copy / "1d" / "symbol=SPY"
    assert (daily / "2012.parquet").is_symlink()
    kept = pq.read_table(daily / "2013.parquet").column("ts").to_pylist()
    assert kept == [datetime(2013, 10, 7, 4, 0, tzinfo=UTC)]


def test_a_store_on_the_copy_reads_as_the_store_did_at_the_moment(lean_store, tmp_path):
    copy = BarStore(write_store_until(lean_store.root, tmp_path / "cut", TUE, MOMENT, lean_store.calendar))
    assert copy.days("SPY", "1m") == [MON, TUE]
    assert copy.days("SPY", "1d") == [date(2012, 10, 1), MON]
    start, end = datetime(2013, 10, 7, tzinfo=UTC), datetime(2013, 10, 10, tzinfo=UTC)
    whole, cut = lean_store.read("SPY", "1m", start, end).table, copy.read("SPY", "1m", start, end).table
    ts = pa.compute.cast(whole.column("ts"), pa.int64()).to_numpy()
    expected = whole.filter(pa.array(ts + 60_000_000_000 <= int(MOMENT.timestamp()) * 1_000_000_000))
    assert cut.equals(expected)


def test_a_moment_after_the_close_keeps_the_whole_day(lean_store, lean_root, tmp_path):
    late = datetime(2013, 10, 9, 3, 59, tzinfo=UTC)  # 23:59 on Tuesday in New York
    copy = write_store_until(lean_store.root, tmp_path / "cut", TUE, late, lean_store.calendar)
    day = pq.read_table(copy / "1m" / "symbol=SPY" / "2013-10-08.parquet")
    assert day.num_rows == len(lean_minute_frame(lean_root, "SPY", TUE))
