"""marketdata.bars at its edges: the time forms it takes, what it refuses (and how it says so), and the
incremental aggregator's bar in progress. Times are checked against hand-computed nanoseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from marketdata.aggregator import IncrementalAggregator
from marketdata.bars import SessionBars
from marketdata.calendar import get_calendar
from marketdata.derive import derive_bars
from marketdata.errors import BarDataError
from marketdata.timestamps import as_ns, as_ns_array, utc_datetime

#: 2013-10-08 13:30 UTC (09:30 in New York), the open of that session, in ns since the epoch.
OPEN_NS = 1_381_239_000 * 1_000_000_000
TUE = date(2013, 10, 8)
MINUTE = 60 * 1_000_000_000


@pytest.mark.parametrize(
    "value",
    [
        datetime(2013, 10, 8, 13, 30, tzinfo=UTC),
        datetime(2013, 10, 8, 9, 30, tzinfo=timezone(timedelta(hours=-4))),
        datetime(2013, 10, 8, 13, 30),  # naive: taken as UTC
        np.datetime64("2013-10-08T13:30:00"),
        np.int64(OPEN_NS),
        OPEN_NS,
    ],
)
def test_one_instant_in_every_form_is_the_same_nanoseconds(value):
    assert as_ns(value) == OPEN_NS


def test_a_pandas_timestamp_keeps_its_nanoseconds():
    assert as_ns(pd.Timestamp(OPEN_NS + 7, tz="UTC")) == OPEN_NS + 7


@pytest.mark.parametrize("value", ["2013-10-08", 1.5, None])
def test_anything_else_is_refused_by_type(value):
    with pytest.raises(TypeError, match="expected a datetime, numpy datetime64 or int nanoseconds"):
        as_ns(value)


def test_timestamp_arrays_in_every_form_are_the_same_nanoseconds():
    expected = [OPEN_NS, OPEN_NS + MINUTE]
    utc = [datetime(2013, 10, 8, 13, 30, tzinfo=UTC), datetime(2013, 10, 8, 13, 31, tzinfo=UTC)]
    forms = [
        pa.array(utc, type=pa.timestamp("ns", tz="UTC")),
        pa.array(utc, type=pa.timestamp("us", tz="UTC")),
        pa.chunked_array([pa.array(utc, type=pa.timestamp("s", tz="UTC"))]),
        np.array(["2013-10-08T13:30", "2013-10-08T13:31"], dtype="datetime64[m]"),
        np.array(expected, dtype=np.uint64),
        np.array(utc, dtype=object),
    ]
    for form in forms:
        assert as_ns_array(form).tolist() == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (pa.array([1.0, 2.0]), "expected a timestamp column, got double"),
        (np.array(["09:30", "09:31"]), "expected timestamps \\(datetime64 or int64 ns\\), got an array of <U5"),
        (np.array([1.5, 2.5]), "got an array of float64"),
        (np.array(["a", 1], dtype=object), "got an array of object"),
    ],
)
def test_columns_that_are_not_times_are_refused_naming_their_type(values, message):
    with pytest.raises(BarDataError, match=message):
        as_ns_array(values)


def test_utc_datetime_is_the_inverse_to_the_microsecond():
    assert utc_datetime(OPEN_NS + 1_999) == datetime(2013, 10, 8, 13, 30, 0, 1, tzinfo=UTC)


def bars(n: int, start: int = OPEN_NS) -> SessionBars:
    prices = np.arange(1.0, n + 1.0)
    ts = start + MINUTE * np.arange(n, dtype=np.int64)
    return SessionBars.from_arrays(ts, prices, prices + 1, prices - 1, prices, np.full(n, 10.0))


def test_columns_of_two_dimensions_or_different_lengths_are_refused():
    one = np.ones(2)
    with pytest.raises(BarDataError, match="bar column 'close' must be one-dimensional, got shape \\(2, 1\\)"):
        SessionBars.from_arrays([OPEN_NS, OPEN_NS + MINUTE], one, one, one, one.reshape(2, 1), one)
    with pytest.raises(BarDataError, match="bar columns differ in length"):
        SessionBars.from_arrays([OPEN_NS], one, one, one, one, one)


def test_a_table_without_the_bar_columns_is_refused_naming_them():
    table = pa.table({"ts": pa.array([OPEN_NS], type=pa.timestamp("ns", tz="UTC")), "close": [1.0]})
    with pytest.raises(BarDataError, match="bar table lacks column\\(s\\) open, high, low, volume"):
        SessionBars.from_table(table)


def test_concat_skips_empty_parts_and_keeps_the_order():
    first, second = bars(2), bars(3, OPEN_NS + 2 * MINUTE)
    assert SessionBars.concat([SessionBars.empty(), first]) is first
    assert len(SessionBars.concat([])) == 0
    joined = SessionBars.concat([first, SessionBars.empty(), second])
    assert joined.ts.tolist() == (OPEN_NS + MINUTE * np.arange(5)).tolist()
    assert joined.close.tolist() == [1.0, 2.0, 1.0, 2.0, 3.0]


def test_bars_are_taken_by_slices_or_masks_not_one_by_one():
    some = bars(3)
    assert some[1:].close.tolist() == [2.0, 3.0]
    assert some[np.array([True, False, True])].close.tolist() == [1.0, 3.0]
    with pytest.raises(TypeError, match="indexed by slices or masks, not single bars"):
        some[0]


def test_derivation_refuses_unsorted_bars_other_inputs_and_multi_day_bars():
    calendar = get_calendar()
    shuffled = SessionBars.concat([bars(1, OPEN_NS + MINUTE), bars(1)])
    with pytest.raises(BarDataError, match="base bars are not sorted by ts: row 1 \\(2013-10-08T13:30:00\\+00:00\\)"):
        derive_bars(shuffled, "5m", calendar, TUE)
    with pytest.raises(TypeError, match="expected SessionBars or a pyarrow Table of bars, got list"):
        derive_bars([1, 2], "5m", calendar, TUE)
    with pytest.raises(BarDataError, match="cannot derive 2d: day bars come from the store as 1d"):
        derive_bars(bars(2), "2d", calendar, TUE)


def test_the_bar_in_progress_is_what_the_base_bars_so_far_make():
    aggregator = IncrementalAggregator("5m", get_calendar(), TUE)
    assert aggregator.pending is None
    some = bars(3)
    for i in range(3):
        aggregator.push(int(some.ts[i]), some.open[i], some.high[i], some.low[i], some.close[i], some.volume[i])
    pending = aggregator.pending
    assert pending is not None
    assert (pending.ts, pending.bar_close) == (OPEN_NS, OPEN_NS + 5 * MINUTE)
    assert (pending.open, pending.high, pending.low, pending.close, pending.volume) == (1.0, 4.0, 0.0, 3.0, 30.0)
    flushed = aggregator.flush()
    assert flushed == pending
    assert aggregator.pending is None and aggregator.flush() is None


def test_a_base_bar_arriving_late_is_refused_with_both_times():
    aggregator = IncrementalAggregator("5m", get_calendar(), TUE)
    aggregator.push(OPEN_NS + MINUTE, 1, 1, 1, 1, 1)
    with pytest.raises(BarDataError, match="base bar at 2013-10-08T13:30:00\\+00:00 arrived after 2013-10-08T13:31"):
        aggregator.push(OPEN_NS, 1, 1, 1, 1, 1)
