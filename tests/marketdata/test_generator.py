"""The sample-bar generator: calendar-aware, a few gaps, consistent prices, and the same bytes for a seed."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from marketdata.calendar import get_calendar
from marketdata.checks import check_day, flag_bad_bars
from marketdata.generator import generate_bars, write_sample_store
from marketdata.store import BAR_SCHEMA, BarStore

START, END = date(2015, 12, 21), date(2015, 12, 31)  # a holiday and an early close


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.parquet"))
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    cal = get_calendar()
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_sample_store(BarStore(tmp_path / name), ["SPY", "IBM"], START, END, cal, seed=seed)
    a, b, c = (digest(tmp_path / n) for n in "abc")
    assert a == b
    assert len(a) == 2 * len(cal.sessions(START, END))
    assert a.keys() == c.keys() and all(a[k] != c[k] for k in a)


def test_a_symbols_bars_do_not_depend_on_the_other_symbols():
    cal = get_calendar()
    alone = generate_bars(["IBM"], START, END, cal, seed=3)["IBM"]
    together = generate_bars(["SPY", "IBM", "AIG"], START, END, cal, seed=3)["IBM"]
    assert alone.equals(together)


def test_bars_follow_the_calendar_with_a_few_gaps():
    cal = get_calendar()
    table = generate_bars(["SPY"], START, END, cal, seed=1, gap_rate=0.01)["SPY"]
    assert table.schema == BAR_SCHEMA
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    sessions = cal.sessions(START, END)
    assert date(2015, 12, 25) not in sessions
    days = {cal.session_of(t) for t in table.column("ts").to_pylist()}
    assert days == set(sessions)  # every bar inside a regular session, none on the holiday
    expected = sum(cal.expected_bars(d, "1m") for d in sessions)
    assert 0.97 * expected < len(ts) < expected
    early = [t for t in table.column("ts").to_pylist() if cal.session_of(t) == date(2015, 12, 24)]
    assert len(early) <= 210 and max(early) < cal.close(date(2015, 12, 24))
    assert np.all(np.diff(ts) > 0)


def test_prices_are_positive_consistent_and_volumes_whole_lots():
    table = generate_bars(["SPY", "QQQ"], START, END, get_calendar(), seed=5)["QQQ"]
    o, h, low, c, v = (table.column(n).to_numpy() for n in ("open", "high", "low", "close", "volume"))
    assert np.all(low > 0)
    assert np.all(h >= np.maximum(o, c)) and np.all(low <= np.minimum(o, c))
    assert np.all(v >= 100) and np.all(v % 100 == 0)
    assert flag_bad_bars(table).total == 0
    returns = np.diff(np.log(c))
    assert 0 < returns.std() < 0.01  # a random walk, not a constant and not noise


def test_extended_hours_add_pre_and_post_market_bars(tmp_path):
    cal = get_calendar()
    day = date(2015, 12, 23)
    store = BarStore(tmp_path, cal)
    write_sample_store(store, ["SPY"], day, day, cal, seed=2, gap_rate=0.0, extended=True)
    check = check_day(store, "SPY", day)
    assert check.quality == 1.0 and check.session_rows == 390
    assert check.outside_session > 0
    assert check.rows == check.session_rows + check.outside_session


def test_no_sessions_no_bars_and_bad_gap_rate():
    cal = get_calendar()
    assert generate_bars(["SPY"], date(2015, 12, 25), date(2015, 12, 27), cal, seed=1)["SPY"].num_rows == 0
    with pytest.raises(ValueError, match=re.escape("gap_rate must be in [0, 1), got 1.5")):
        generate_bars(["SPY"], START, END, cal, seed=1, gap_rate=1.5)


def test_symbols_are_upper_case():
    assert list(generate_bars(["spy"], START, START, get_calendar(), seed=1)) == ["SPY"]
