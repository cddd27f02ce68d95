"""Derived bars: anchored to the session open, cut at the close, checked against pandas on real sessions,
and the batch and one-symbol incremental forms give the same bars."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata.aggregator import IncrementalAggregator, bars_from_derived
from marketdata.bars import SessionBars
from marketdata.calendar import get_calendar
from marketdata.derive import derive_bars, derive_sessions
from marketdata.errors import BarDataError
from marketdata.timestamps import as_ns
from specs.intervals import Interval
from tests.marketdata.lean_minutes import NEW_YORK, frame_to_table, lean_minute_frame, lean_minute_table

CAL = get_calendar("XNYS")
MINUTE = 60 * 1_000_000_000
SPY_DAY = date(2013, 10, 7)
EARLY_CLOSE = date(2015, 12, 24)
GAPPY_DAY = date(2008, 3, 7)
OCT_2013 = [date(2013, 10, d) for d in (4, 7, 8, 9, 10, 11)]


# -- the independent reference ---------------------------------------------------------------------------


def pandas_bars(frame: pd.DataFrame, day: date, rule: str) -> pd.DataFrame:
    """Regular-session bars of `rule` the pandas way: resample with origin at the session open, left-closed and
    left-labelled, empty bins dropped; the last bin is then cut at the close by the session filter itself."""
    session_open, session_close = pd.Timestamp(CAL.open(day)), pd.Timestamp(CAL.close(day))
    regular = frame[(frame.index >= session_open) & (frame.index < session_close)]
    resampled = regular.resample(rule, origin=session_open, closed="left", label="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    counts = regular["close"].resample(rule, origin=session_open, closed="left", label="left").count()
    return resampled[counts > 0]


def assert_matches_pandas(bars: SessionBars, expected: pd.DataFrame) -> None:
    np.testing.assert_array_equal(bars.ts, expected.index.as_unit("ns").asi8)
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(bars, name), expected[name].to_numpy(), err_msg=name)


def incremental(base: SessionBars, interval: str, day: date) -> SessionBars:
    aggregator = IncrementalAggregator(interval, CAL, day)
    emitted = []
    for ts, o, h, lo, c, v in zip(
        base.ts.tolist(), base.open, base.high, base.low, base.close, base.volume, strict=True
    ):
        emitted.extend(aggregator.push(ts, o, h, lo, c, v))
    last = aggregator.flush()
    if last is not None:
        emitted.append(last)
    return bars_from_derived(emitted)


# -- real sessions against pandas ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "day", "interval", "rule", "count"),
    [
        ("spy", SPY_DAY, "5m", "5min", 78),
        ("spy", SPY_DAY, "15m", "15min", 26),
        ("goog", EARLY_CLOSE, "15m", "15min", 14),
        ("shy", GAPPY_DAY, "5m", "5min", None),
        ("spy", SPY_DAY, "1h", "60min", 7),
        ("goog", EARLY_CLOSE, "1h", "60min", 4),
        ("aig", date(2013, 10, 9), "2m", "2min", 195),
        ("ibm", date(2013, 10, 10), "30m", "30min", 13),
    ],
)
def test_derived_bars_match_pandas_resample(lean_root, symbol, day, interval, rule, count):
    frame = lean_minute_frame(lean_root, symbol, day)
    bars = derive_bars(frame_to_table(frame), interval, CAL, day)
    expected = pandas_bars(frame, day, rule)
    assert_matches_pandas(bars, expected)
    if count is not None:
        assert len(bars) == count


def test_bars_are_anchored_at_the_open_and_the_last_is_cut_at_the_close(lean_root):
    open_ns, close_ns = CAL.open_close_ns(SPY_DAY)
    hourly = derive_bars(lean_minute_table(lean_root, "spy", SPY_DAY), "1h", CAL, SPY_DAY)
    assert hourly.ts.tolist() == [open_ns + k * 60 * MINUTE for k in range(7)]
    assert (hourly.bar_close[:-1] - hourly.ts[:-1]).tolist() == [60 * MINUTE] * 6
    assert hourly.bar_close[-1] == close_ns
    assert hourly.bar_close[-1] - hourly.ts[-1] == 30 * MINUTE


def test_early_close_last_bar_ends_at_13_00_new_york(lean_root):
    bars = derive_bars(lean_minute_table(lean_root, "goog", EARLY_CLOSE), "15m", CAL, EARLY_CLOSE)
    last_close = pd.Timestamp(int(bars.bar_close[-1]), tz="UTC").tz_convert(NEW_YORK)
    assert (last_close.hour, last_close.minute) == (13, 0)
    assert CAL.is_early_close(EARLY_CLOSE)
    assert bars.bar_close[-1] == as_ns(CAL.close(EARLY_CLOSE))


def test_gappy_session_builds_bars_from_the_minutes_present(lean_root):
    frame = lean_minute_frame(lean_root, "shy", GAPPY_DAY)
    bars = derive_bars(frame_to_table(frame), "5m", CAL, GAPPY_DAY)
    open_ns, close_ns = CAL.open_close_ns(GAPPY_DAY)
    regular = frame[(frame.index.asi8 >= open_ns) & (frame.index.asi8 < close_ns)]
    assert bars.volume.sum() == regular["volume"].sum()
    minutes_per_bar = np.bincount((regular.index.asi8 - open_ns) // (5 * MINUTE), minlength=78)
    assert len(bars) == np.count_nonzero(minutes_per_bar)
    assert (minutes_per_bar < 5).any()


def test_pre_and_post_market_bars_take_no_part(lean_root):
    frame = lean_minute_frame(lean_root, "spy", SPY_DAY)
    open_ns, close_ns = CAL.open_close_ns(SPY_DAY)
    outside = frame[(frame.index.asi8 < open_ns) | (frame.index.asi8 >= close_ns)]
    assert len(outside) > 0
    bars = derive_bars(frame_to_table(frame), "5m", CAL, SPY_DAY)
    assert bars.ts[0] == open_ns and bars.bar_close[-1] == close_ns
    assert bars.volume.sum() == frame["volume"].sum() - outside["volume"].sum()


def test_base_interval_gives_the_regular_session_bars(lean_root):
    frame = lean_minute_frame(lean_root, "spy", SPY_DAY)
    bars = derive_bars(frame_to_table(frame), "1m", CAL, SPY_DAY)
    assert len(bars) == 390
    assert ((bars.bar_close - bars.ts) == MINUTE).all()


def test_many_sessions_at_once_equal_one_session_at_a_time(lean_root):
    table = pa.concat_tables([lean_minute_table(lean_root, "spy", d) for d in OCT_2013])
    together = derive_sessions(table, "15m", CAL, OCT_2013)
    apart = SessionBars.concat([derive_bars(table, "15m", CAL, d) for d in OCT_2013])
    assert together.equals(apart)
    assert len(together) == 26 * len(OCT_2013)
    assert np.all(together.ts[1:] > together.ts[:-1])


def test_no_bar_spans_two_sessions(lean_root):
    table = pa.concat_tables([lean_minute_table(lean_root, "goog", d) for d in (date(2015, 12, 23), EARLY_CLOSE)])
    bars = derive_sessions(table, "1h", CAL, [date(2015, 12, 23), EARLY_CLOSE])
    first_close = as_ns(CAL.close(date(2015, 12, 23)))
    second_open = as_ns(CAL.open(EARLY_CLOSE))
    assert not np.any((bars.ts < first_close) & (bars.bar_close > first_close))
    assert bars.ts[bars.ts >= first_close][0] == second_open


# -- batch == incremental -------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["2m", "5m", "15m", "30m", "1h"])
@pytest.mark.parametrize(
    ("symbol", "day"), [("spy", SPY_DAY), ("goog", EARLY_CLOSE), ("shy", GAPPY_DAY), ("shy", date(2008, 3, 10))]
)
def test_incremental_equals_batch_on_real_sessions(lean_root, symbol, day, interval):
    base = SessionBars.from_table(lean_minute_table(lean_root, symbol, day))
    assert incremental(base, interval, day).equals(derive_bars(base, interval, CAL, day))


def test_incremental_emits_a_bar_when_its_last_minute_arrives(lean_root):
    base = derive_bars(lean_minute_table(lean_root, "spy", SPY_DAY), "1m", CAL, SPY_DAY)
    aggregator = IncrementalAggregator("5m", CAL, SPY_DAY)
    emitted_at = []
    for i in range(10):
        done = aggregator.push(int(base.ts[i]), base.open[i], base.high[i], base.low[i], base.close[i], base.volume[i])
        emitted_at.extend((i, bar.bar_close) for bar in done)
    open_ns = as_ns(CAL.open(SPY_DAY))
    assert emitted_at == [(4, open_ns + 5 * MINUTE), (9, open_ns + 10 * MINUTE)]


def test_incremental_advance_closes_a_bar_whose_last_minute_is_missing():
    day = SPY_DAY
    open_ns = as_ns(CAL.open(day))
    aggregator = IncrementalAggregator("5m", CAL, day)
    assert aggregator.push(open_ns, 10, 11, 9, 10.5, 100) == ()
    assert aggregator.advance(open_ns + 4 * MINUTE) == ()
    (bar,) = aggregator.advance(open_ns + 5 * MINUTE)
    assert (bar.ts, bar.bar_close, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        open_ns,
        open_ns + 5 * MINUTE,
        10,
        11,
        9,
        10.5,
        100,
    )
    assert aggregator.flush() is None


def test_incremental_can_close_two_bars_with_one_push():
    open_ns = as_ns(CAL.open(SPY_DAY))
    aggregator = IncrementalAggregator("2m", CAL, SPY_DAY)
    aggregator.push(open_ns, 1, 1, 1, 1, 1)
    done = aggregator.push(open_ns + 3 * MINUTE, 2, 2, 2, 2, 2)
    assert [bar.ts for bar in done] == [open_ns, open_ns + 2 * MINUTE]


# -- hypothesis: conservation, bounds and form agreement -------------------------------------------------


@st.composite
def session_minutes(draw):
    day = draw(st.sampled_from([SPY_DAY, EARLY_CLOSE, GAPPY_DAY, date(2014, 3, 10)]))
    minutes = CAL.minutes(day).view(np.int64)
    keep = draw(st.lists(st.booleans(), min_size=len(minutes), max_size=len(minutes)))
    extra = draw(st.integers(0, 5))
    ts = np.concatenate([minutes[np.array(keep, dtype=bool)], minutes[-1] + MINUTE * np.arange(1, extra + 1)])
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    close = 50 + np.cumsum(rng.choice([-0.01, 0.0, 0.01], size=len(ts)))
    open_ = close + rng.choice([-0.01, 0.0, 0.01], size=len(ts))
    high = np.maximum(open_, close) + rng.choice([0.0, 0.02], size=len(ts))
    low = np.minimum(open_, close) - rng.choice([0.0, 0.02], size=len(ts))
    volume = rng.integers(0, 5000, size=len(ts)).astype(float)
    interval = draw(st.sampled_from(["2m", "3m", "5m", "7m", "15m", "30m", "1h"]))
    return day, SessionBars.from_arrays(ts, open_, high, low, close, volume), interval


@given(session_minutes())
def test_derived_bars_conserve_volume_and_bound_prices(case):
    day, base, interval = case
    bars = derive_bars(base, interval, CAL, day)
    open_ns, close_ns = CAL.open_close_ns(day)
    regular = base.between(open_ns, close_ns)
    assert bars.volume.sum() == pytest.approx(regular.volume.sum(), rel=0, abs=1e-6)
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    if len(regular):
        assert bars.high.max() == regular.high.max() and bars.low.min() == regular.low.min()
    step = Interval(interval).seconds * 1_000_000_000
    assert np.all((bars.ts - open_ns) % step == 0)
    assert np.all(bars.bar_close <= close_ns) and np.all(bars.bar_close > bars.ts)


@given(session_minutes())
def test_batch_and_incremental_agree(case):
    day, base, interval = case
    assert incremental(base, interval, day).equals(derive_bars(base, interval, CAL, day))


# -- seconds and weeks -----------------------------------------------------------------------------------


def test_seconds_derive_to_5s_and_1m():
    day = SPY_DAY
    open_ns = as_ns(CAL.open(day))
    ts = open_ns + np.arange(0, 180) * 1_000_000_000
    prices = 100 + np.arange(180) * 0.01
    base = SessionBars.from_arrays(ts, prices, prices + 0.005, prices - 0.005, prices, np.ones(180), interval="1s")
    five = derive_bars(base, "5s", CAL, day)
    minute = derive_bars(base, "1m", CAL, day)
    assert len(five) == 36 and len(minute) == 3
    assert minute.volume.tolist() == [60.0, 60.0, 60.0]
    assert minute.open[1] == prices[60] and minute.close[1] == prices[119]
    assert incremental(base, "5s", day).equals(five)


def daily_frame(lean_root, symbol: str) -> pd.DataFrame:
    with zipfile.ZipFile(lean_root / "equity" / "usa" / "daily" / f"{symbol}.zip") as archive:
        text = archive.read(archive.namelist()[0]).decode()
    raw = pd.read_csv(io.StringIO(text), header=None, names=["day", "open", "high", "low", "close", "volume"])
    local = pd.to_datetime(raw["day"], format="%Y%m%d %H:%M").dt.tz_localize(NEW_YORK)
    frame = raw[["open", "high", "low", "close"]].astype(float) / 10_000
    frame["volume"] = raw["volume"].astype(float)
    frame.index = pd.DatetimeIndex(local).tz_convert("UTC").as_unit("ns")
    return frame


def test_week_bars_of_daily_bars_match_pandas(lean_root):
    frame = daily_frame(lean_root, "spy")
    frame = frame[(frame.index >= "2013-12-01") & (frame.index < "2014-02-01")]
    sessions = CAL.sessions(date(2013, 12, 2), date(2014, 1, 31))
    weeks = derive_sessions(frame_to_table(frame), "1w", CAL, sessions)
    local = frame.index.tz_convert(NEW_YORK)
    monday = (local.normalize() - pd.to_timedelta(local.day_of_week, unit="D")).tz_localize(None)
    expected = frame.groupby(monday.to_numpy()).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(weeks, name), expected[name].to_numpy())
    opens = pd.to_datetime(weeks.ts).tz_localize("UTC").tz_convert(NEW_YORK)
    # the week of Martin Luther King day (Monday 2014-01-20) opens with its first session, Tuesday
    assert date(2014, 1, 21) in [t.date() for t in opens]
    assert all((t.hour, t.minute) == (0, 0) for t in opens)
    christmas_week = weeks.bar_close[[t.date() == date(2013, 12, 23) for t in opens]][0]
    assert christmas_week == as_ns(CAL.close(date(2013, 12, 27)))


# -- columns, slicing and visibility ---------------------------------------------------------------------


def test_table_round_trip_and_closed_by(lean_root):
    table = lean_minute_table(lean_root, "goog", EARLY_CLOSE)
    bars = derive_bars(table, "15m", CAL, EARLY_CLOSE)
    again = SessionBars.from_table(bars.to_table(), "15m", CAL)
    assert again.equals(bars)
    open_ns = as_ns(CAL.open(EARLY_CLOSE))
    assert len(bars.closed_by(open_ns + 15 * MINUTE - 1)) == 0
    assert len(bars.closed_by(open_ns + 15 * MINUTE)) == 1
    assert len(bars.closed_by(CAL.close(EARLY_CLOSE) - timedelta(microseconds=1))) == len(bars) - 1
    assert len(bars.closed_by(CAL.close(EARLY_CLOSE))) == len(bars)
    assert bars.to_table().schema.field("ts").type == pa.timestamp("ns", tz="UTC")


def test_from_table_without_calendar_uses_nominal_closes(lean_root):
    bars = SessionBars.from_table(lean_minute_table(lean_root, "spy", SPY_DAY))
    assert ((bars.bar_close - bars.ts) == MINUTE).all()
    window = bars.between(CAL.open(SPY_DAY), CAL.open(SPY_DAY) + timedelta(minutes=3))
    assert len(window) == 3


def test_unsorted_base_bars_are_refused_with_the_row():
    ts = np.array([2, 1], dtype=np.int64) * MINUTE + as_ns(CAL.open(SPY_DAY))
    base = SessionBars.from_arrays(ts, [1, 1], [1, 1], [1, 1], [1, 1], [1, 1])
    with pytest.raises(BarDataError, match="not sorted by ts: row 1"):
        derive_bars(base, "5m", CAL, SPY_DAY)


def test_intervals_without_a_derivation_are_refused():
    with pytest.raises(BarDataError, match="2d"):
        derive_bars(SessionBars.empty(), "2d", CAL, SPY_DAY)
    with pytest.raises(BarDataError, match="1w needs derive_sessions"):
        IncrementalAggregator("1w", CAL, SPY_DAY)
    with pytest.raises(BarDataError, match="differ in length"):
        SessionBars([1], [1.0], [1.0], [1.0], [1.0], [1.0, 2.0], [2])


def test_out_of_order_pushes_are_refused():
    open_ns = as_ns(CAL.open(SPY_DAY))
    aggregator = IncrementalAggregator("5m", CAL, SPY_DAY)
    aggregator.push(open_ns + MINUTE, 1, 1, 1, 1, 1)
    with pytest.raises(BarDataError, match="arrived after"):
        aggregator.push(open_ns, 1, 1, 1, 1, 1)


def test_empty_input_gives_no_bars():
    assert len(derive_bars(SessionBars.empty(), "5m", CAL, SPY_DAY)) == 0
    assert len(derive_sessions(SessionBars.empty(), "1w", CAL, OCT_2013)) == 0
    assert as_ns(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000_000


_FIELDS = ("ts", "open", "high", "low", "close", "volume", "bar_close")


def _numbered(n: int, writeable: bool = False) -> SessionBars:
    columns = [np.arange(n, dtype=np.int64), *(np.arange(n, dtype=np.float64) + k for k in range(5))]
    bars = SessionBars(*columns, np.arange(n, dtype=np.int64) + 60)
    if not writeable:
        for name in ("ts", "open", "high", "low", "close", "volume", "bar_close"):
            getattr(bars, name).setflags(write=False)
    return bars


@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30))
def test_joining_slices_cut_back_to_back_is_a_slice_with_the_concatenations_values(a, b, c):
    lo, mid, hi = sorted((a, b, c))
    whole = _numbered(40)
    parts = [whole[lo:mid], whole[mid:hi][0:], whole[hi:40]]
    joined = SessionBars.concat(parts)
    copied = SessionBars(*(np.concatenate([getattr(p, n) for p in parts]) for n in _FIELDS))
    assert joined.equals(copied) and joined.equals(whole[lo:40])
    if len([p for p in parts if len(p)]) > 1:
        assert np.shares_memory(joined.close, whole.close) and not joined.close.flags.writeable


def test_slices_not_back_to_back_or_of_writable_bars_are_copied():
    whole, writable = _numbered(20), _numbered(20, writeable=True)
    apart = SessionBars.concat([whole[0:5], whole[6:10]])
    assert list(apart.ts) == [0, 1, 2, 3, 4, 6, 7, 8, 9] and not np.shares_memory(apart.ts, whole.ts)
    assert not np.shares_memory(SessionBars.concat([writable[0:5], writable[5:9]]).ts, writable.ts)
    swapped = SessionBars.concat([whole[5:9], whole[0:5]])
    assert list(swapped.ts) == [5, 6, 7, 8, 0, 1, 2, 3, 4]


def test_a_pickled_slice_holds_only_its_own_bars():
    import pickle

    whole = _numbered(1000)
    again = pickle.loads(pickle.dumps(whole[10:12]))
    assert again.equals(whole[10:12]) and again.ts.base is None
    assert len(pickle.dumps(whole[10:12])) < len(pickle.dumps(whole)) // 10
