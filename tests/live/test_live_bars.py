"""The live bar source on the LEAN store: the day's bars are the received ones (none at the open), derived ones
only once closed, a mid-session symbol's earlier minutes from the store; and at the close the received bars go
into the Parquet store without changing a stored row. Oracles: the store's own day files (pyarrow) and the
batch derivation of the store's bars."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from marketdata.calendar import get_calendar
from marketdata.derive import derive_bars
from marketdata.feedserver import FeedOptions, serve_in_thread
from marketdata.live.alpaca_history import AlpacaHistory
from marketdata.live.credentials import credentials_from_env
from marketdata.sources.live import LiveBarSource, record_received, rows_of, store_earlier
from marketdata.sources.rest import RestBarSource
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs.intervals import Interval
from tests.feed.conftest import ENV

DAY = dt.date(2013, 10, 9)
OPEN = dt.datetime(2013, 10, 9, 13, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
CALENDAR = get_calendar("XNYS")
M1, M5 = Interval("1m"), Interval("5m")


def stored_session(root: Path, symbol: str) -> dict[int, tuple]:
    """The store's regular-session 1m rows of the day, read with pyarrow: the oracle."""
    table = pq.read_table(root / "1m" / f"symbol={symbol}" / f"{DAY}.parquet")
    ts = table.column("ts").cast("int64").to_pylist()
    rows = zip(*(table.column(n).to_pylist() for n in ("open", "high", "low", "close", "volume")), strict=True)
    start, end = int(OPEN.timestamp()) * 10**9, int((OPEN + 390 * MINUTE).timestamp()) * 10**9
    return {t: row for t, row in zip(ts, rows, strict=True) if start <= t < end}


def source_on(root: Path) -> LiveBarSource:
    cache = StoreCache(BarStore(root, CALENDAR), CALENDAR)
    return LiveBarSource(cache, CALENDAR, DAY, store_earlier(cache, DAY))


def receive_minutes(source: LiveBarSource, symbol: str, stored: dict[int, tuple], minutes: int) -> None:
    for t in sorted(stored)[:minutes]:
        source.receive(symbol, dt.datetime.fromtimestamp(t / 1e9, dt.UTC), stored[t])
    source.through = OPEN + minutes * MINUTE


def test_the_day_is_what_arrived_and_derived_bars_only_once_closed(lean_store_root):
    source = source_on(lean_store_root)
    source.hold("SPY")
    assert DAY in source.days("SPY", M1)
    assert len(source.session("SPY", M1, DAY).bars) == 0  # subscribed at the open: nothing yet
    stored = stored_session(lean_store_root, "SPY")
    receive_minutes(source, "SPY", stored, 13)
    assert rows_of(source.session("SPY", M1, DAY).bars) == dict(sorted(stored.items())[:13])
    five = source.history("SPY", M5, [DAY])
    batch = derive_bars(source.received("SPY"), M5, CALENDAR, DAY)
    assert len(five) == 2 and rows_of(five) == rows_of(batch[:2])  # 09:40-09:45 has 3 of 5 bars: not closed
    # a history with the live day: the store's sessions before it, then the received bars
    before = dt.date(2013, 10, 8)
    both = source.history("SPY", M1, [before, DAY])
    assert len(both) == len(source.history("SPY", M1, [before])) + 13


def test_a_symbol_added_mid_session_gets_its_earlier_minutes_from_the_store(lean_store_root):
    source = source_on(lean_store_root)
    source.through = OPEN + 30 * MINUTE  # the 09:59 step has run
    stored = stored_session(lean_store_root, "IBM")
    first30 = {t: row for t, row in stored.items() if t < int((OPEN + 30 * MINUTE).timestamp()) * 10**9}
    assert rows_of(source.session("IBM", M1, DAY).bars) == first30
    # a minute it was not subscribed in yet, caught up as it steps
    minute = OPEN + 30 * MINUTE
    caught = source.catch_up("IBM", minute, minute + MINUTE)
    assert list(caught) == [int(minute.timestamp()) * 10**9]
    assert source.catch_up("IBM", minute, minute + MINUTE) == {}  # held already: nothing new


def test_a_correction_replaces_the_held_bar(lean_store_root):
    source = source_on(lean_store_root)
    source.hold("SPY")
    stored = stored_session(lean_store_root, "SPY")
    receive_minutes(source, "SPY", stored, 3)
    t = sorted(stored)[1]
    corrected = (*stored[t][:4], stored[t][4] + 100.0)
    at = dt.datetime.fromtimestamp(t / 1e9, dt.UTC)
    assert source.receive("SPY", at, corrected) is True
    assert source.receive("SPY", at, corrected) is False  # the same again changes nothing
    assert rows_of(source.received("SPY"))[t] == corrected


@pytest.fixture
def store_copy(lean_store_root, tmp_path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(lean_store_root, root)
    return root


def test_the_close_records_received_bars_the_store_lacks(store_copy):
    """A day the store has no file of (a real live day): the received bars make it, in the store's layout."""
    stored = stored_session(store_copy, "SPY")
    day_file = store_copy / "1m" / "symbol=SPY" / f"{DAY}.parquet"
    day_file.unlink()
    source = source_on(store_copy)
    source.hold("SPY")
    receive_minutes(source, "SPY", stored, 390)
    done = record_received(BarStore(store_copy, CALENDAR), source)
    assert done.written == {"SPY": 390} and done.differing == {}
    assert stored_session(store_copy, "SPY") == stored  # read back with pyarrow, as a later backtest reads it


def test_a_rehearsal_on_a_stored_day_changes_no_stored_row(store_copy):
    """The store's rows are never changed: equal bars write nothing (the file is not touched), a differing
    received bar leaves the stored one and is counted, a minute the store lacks is added."""
    stored = stored_session(store_copy, "SPY")
    day_file = store_copy / "1m" / "symbol=SPY" / f"{DAY}.parquet"
    source = source_on(store_copy)
    source.hold("SPY")
    receive_minutes(source, "SPY", stored, 390)
    before = day_file.read_bytes()
    assert record_received(BarStore(store_copy, CALENDAR), source).written == {}
    assert day_file.read_bytes() == before

    times = sorted(stored)
    changed = dt.datetime.fromtimestamp(times[5] / 1e9, dt.UTC)
    source.receive("SPY", changed, (*stored[times[5]][:4], stored[times[5]][4] + 100.0))
    table = pq.read_table(day_file)
    keep = np.array(table.column("ts").cast("int64").to_pylist()) != times[7]
    pq.write_table(table.filter(keep), day_file)  # the store lacks one minute the feed delivered
    done = record_received(BarStore(store_copy, CALENDAR), source)
    assert done.written == {"SPY": 1} and done.differing == {"SPY": 1}
    assert stored_session(store_copy, "SPY") == stored


def test_rest_history_is_the_stores_history(lean_store_root):
    """`feed.history: alpaca` through alpaca-py against the feed server's REST endpoint: the same sessions and
    the same bars (base and derived) as the store's; a symbol the API has nothing of is unknown."""
    cache = StoreCache(BarStore(lean_store_root, CALENDAR), CALENDAR)
    with serve_in_thread(FeedOptions(store=lean_store_root, day=DAY, speed=60.0)) as handle:
        fetch = AlpacaHistory(credentials_from_env(environ=ENV), url=handle.http_url).minute_bars
        rest = RestBarSource(fetch, CALENDAR, DAY)
        stored_days = [d for d in cache.days("SPY", M1) if d < DAY]
        assert rest.days("SPY", M1) == stored_days and rest.intervals("SPY") == [M1]
        for interval in (M1, M5, Interval("15m")):
            assert rows_of(rest.history("SPY", interval, stored_days)) == rows_of(
                cache.history("SPY", interval, stored_days)
            )
        assert rest.intervals("NOPE") == []
