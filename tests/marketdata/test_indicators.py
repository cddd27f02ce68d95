"""Indicators against independent references (TA-Lib, pandas, exact window statistics) on the real data,
and the batch and incremental forms against each other, including warm-up handoff."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import talib
from hypothesis import given
from hypothesis import strategies as st

from marketdata.bars import SessionBars
from marketdata.calendar import get_calendar
from marketdata.derive import derive_sessions
from marketdata.indicators import (
    INDICATORS,
    Indicator,
    IndicatorError,
    compute,
    compute_columns,
    make_indicator,
)
from marketdata.indicators.kernels import linear_filter, window_sums
from marketdata.timestamps import as_ns
from marketdata.timestamps import utc_datetime as utc
from specs.indicators import IndicatorSpec, IndicatorSpecError, IndicatorType
from tests.marketdata.lean_minutes import NEW_YORK, lean_minute_table

CAL = get_calendar("XNYS")
REAL = {
    "spy": [date(2013, 10, d) for d in (4, 7, 8, 9, 10, 11)],
    "goog": [date(2015, 12, 23), date(2015, 12, 24), date(2015, 12, 28)],
    "shy": [date(2008, 3, 7), date(2008, 3, 10)],
    "aapl": [date(2014, 6, 5), date(2014, 6, 6), date(2014, 6, 9)],
}
KEYS = [
    "sma_20_{iv}",
    "sma_5_{iv}",
    "ema_20_{iv}",
    "ema_3_{iv}",
    "rsi_14_{iv}",
    "rsi_2_{iv}",
    "atr_14_{iv}",
    "atr_1_{iv}",
    "bollinger_20_{iv}",
    "bollinger_5_{iv}",
    "macd_12_26_9_{iv}",
    "macd_5_35_5_{iv}",
    "vwap_{iv}",
]


@pytest.fixture(scope="module")
def real_bars(lean_root) -> dict[tuple[str, str], SessionBars]:
    """Regular-session bars of several sessions in a row per symbol, at 1m and 5m."""
    bars = {}
    for symbol, days in REAL.items():
        table = pa.concat_tables([lean_minute_table(lean_root, symbol, d) for d in days])
        for interval in ("1m", "5m"):
            bars[(symbol, interval)] = derive_sessions(table, interval, CAL, days)
    return bars


def talib_outputs(spec: IndicatorSpec, bars: SessionBars) -> dict[str, np.ndarray]:
    h, lo, c = bars.high, bars.low, bars.close
    kind, period = spec.type.value, spec.period
    if kind == "sma":
        return {"value": talib.SMA(c, period)}
    if kind == "ema":
        return {"value": talib.EMA(c, period)}
    if kind == "rsi":
        return {"value": talib.RSI(c, period)}
    if kind == "atr":
        return {"value": talib.ATR(h, lo, c, period)}
    if kind == "bollinger":
        upper, middle, lower = talib.BBANDS(c, period, nbdevup=2, nbdevdn=2, matype=0)
        return {"upper": upper, "middle": middle, "lower": lower}
    if kind == "macd":
        macd, signal, hist = talib.MACD(c, spec.fast, spec.slow, spec.signal)
        return {"macd": macd, "signal": signal, "hist": hist}
    raise AssertionError(kind)


def assert_same(actual: np.ndarray, expected: np.ndarray, tolerance: float, what: str) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{what}: NaN positions")
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance, equal_nan=True, err_msg=what)


# -- against the references ------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", list(REAL))
@pytest.mark.parametrize("interval", ["1m", "5m"])
@pytest.mark.parametrize("template", [k for k in KEYS if not k.startswith("vwap")])
def test_matches_talib_on_real_data(real_bars, symbol, interval, template):
    spec = IndicatorSpec.parse_key(template.format(iv=interval))
    bars = real_bars[(symbol, interval)]
    ours = compute(spec, bars).outputs
    for name, expected in talib_outputs(spec, bars).items():
        assert_same(ours[name], expected, 1e-9, f"{spec.key}.{name} {symbol}")
    first = spec.first_value_index()
    assert np.isnan(ours[spec.outputs[0]][:first]).all() and not np.isnan(ours[spec.outputs[0]][first])


@pytest.mark.parametrize("period", [5, 20])
def test_bollinger_bands_are_the_exact_population_deviation(real_bars, period):
    """Across AAPL's split (prices drop from ~$645 to ~$92) the bands stay within 1e-9 of a two-pass std."""
    bars = real_bars[("aapl", "1m")]
    windows = np.lib.stride_tricks.sliding_window_view(bars.close, period)
    mean, std = windows.mean(axis=1), windows.std(axis=1)
    ours = compute(f"bollinger_{period}_1m", bars).outputs
    np.testing.assert_allclose(ours["middle"][period - 1 :], mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours["upper"][period - 1 :], mean + 2 * std, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours["lower"][period - 1 :], mean - 2 * std, rtol=0, atol=1e-9)


@pytest.mark.parametrize("symbol", list(REAL))
def test_vwap_matches_pandas_reset_each_session(real_bars, symbol):
    bars = real_bars[(symbol, "1m")]
    frame = pd.DataFrame({name: getattr(bars, name) for name in ("high", "low", "close", "volume")})
    frame["day"] = pd.to_datetime(bars.ts).tz_localize("UTC").tz_convert(NEW_YORK).date
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    by_day = frame["day"]
    expected = (typical * frame["volume"]).groupby(by_day).cumsum() / frame["volume"].groupby(by_day).cumsum()
    ours = compute("vwap_1m", bars, CAL).outputs["value"]
    np.testing.assert_allclose(ours, expected.to_numpy(), rtol=1e-12, atol=0)
    first_of_day = np.flatnonzero(np.r_[True, frame["day"].to_numpy()[1:] != frame["day"].to_numpy()[:-1]])
    np.testing.assert_allclose(ours[first_of_day], typical.to_numpy()[first_of_day], rtol=1e-15)


@pytest.mark.parametrize("step", [0.0, 1e-9, 1e-6, 0.01])
def test_bollinger_of_flat_and_nearly_flat_windows_as_in_talib(step):
    close = np.r_[np.full(10, 123.45), np.tile([123.45, 123.45 + step], 20)]
    bars = bars_from_closes(close)
    ours = compute("bollinger_4_1m", bars).outputs
    upper, middle, _ = talib.BBANDS(close, 4, nbdevup=2, nbdevdn=2, matype=0)
    assert_same(ours["upper"] - ours["middle"], upper - middle, 1e-12, "band width")
    assert (ours["upper"][3:10] == ours["middle"][3:10]).all()
    run = run_scalar(make_indicator("bollinger_4_1m"), bars)
    np.testing.assert_array_equal(run[:, 0], ours["upper"])


@pytest.mark.parametrize(
    ("close", "last"),
    [(np.full(40, 11.0), 0.0), (np.r_[np.linspace(10, 11, 20), np.full(400, 11.0)], 100.0)],
    ids=["never-moved", "flat-after-a-rise"],
)
def test_rsi_of_flat_series_as_in_talib(close, last):
    ours = compute("rsi_14_1m", bars_from_closes(close)).outputs["value"]
    assert_same(ours, talib.RSI(close, 14), 1e-9, "rsi flat")
    assert ours[-1] == last
    incremental = make_indicator("rsi_14_1m")
    for c in close:
        incremental.update(c, c, c, c, 1.0)
    assert incremental.value == last


# -- batch == incremental == columnar --------------------------------------------------------------------


def bars_from_closes(close: np.ndarray, spread: float = 0.05, seed: int = 0) -> SessionBars:
    rng = np.random.default_rng(seed)
    size = len(close)
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + spread * rng.random(size)
    low = np.minimum(open_, close) - spread * rng.random(size)
    sessions = CAL.sessions(date(2013, 1, 2), date(2013, 12, 31))
    ts = np.concatenate([CAL.minutes(d).view(np.int64) for d in sessions])[:size]
    return SessionBars.from_arrays(ts, open_, high, low, close, rng.integers(0, 1000, size).astype(float))


def run_scalar(indicator: Indicator, bars: SessionBars, start: int = 0) -> np.ndarray:
    values = []
    for i in range(start, len(bars)):
        value = indicator.update(
            bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i], int(bars.ts[i])
        )
        values.append(value if isinstance(value, tuple) else (value,))
    return np.array(values, dtype=np.float64).reshape(len(values), len(indicator.outputs))


#: Indicators whose incremental form gives the batch's values to the last bit: both sum the same values in
#: the same order (SMA's window sums by the same doubling, Bollinger's and VWAP's sequential sums).
EXACT = ("sma", "bollinger", "vwap")
#: The recurrences (EMA, MACD, RSI, ATR) are solved in batch by `linear_filter`'s blocks and doubling, whose
#: rounding differs from the step-by-step recurrence by a few ulps (measured on the LEAN data: at most ~3e-15
#: relative); they are held to this many ulps of the largest price in the series or value (RSI's 0..100).
RECURRENCE_ULPS = 64


def assert_incremental_is_batch(spec: IndicatorSpec, bars: SessionBars) -> None:
    batch = compute(spec, bars, CAL).outputs
    incremental = run_scalar(make_indicator(spec, CAL), bars)
    for j, name in enumerate(spec.outputs):
        what = f"{spec.key}.{name}"
        if spec.type.value in EXACT:
            np.testing.assert_array_equal(incremental[:, j], batch[name], err_msg=what)
        else:
            assert_same(incremental[:, j], batch[name], recurrence_tolerance(bars, batch[name]), what)


def recurrence_tolerance(bars: SessionBars, values: np.ndarray) -> float:
    """RECURRENCE_ULPS ulps of the largest price or value."""
    scale = max(float(np.max(np.abs(bars.high), initial=1.0)), float(np.nanmax(np.abs(values), initial=1.0)))
    return RECURRENCE_ULPS * float(np.finfo(float).eps) * scale


@pytest.mark.parametrize("symbol", list(REAL))
@pytest.mark.parametrize("interval", ["1m", "5m"])
@pytest.mark.parametrize("template", KEYS)
def test_incremental_equals_batch_on_lean_data(real_bars, symbol, interval, template):
    assert_incremental_is_batch(IndicatorSpec.parse_key(template.format(iv=interval)), real_bars[(symbol, interval)])


# -- warm-up handoff -------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", KEYS)
@pytest.mark.parametrize("split", [0, 1, 3, 13, 25, 40, 400, 1500])
def test_warm_from_history_then_continue_equals_one_run(real_bars, template, split):
    spec = IndicatorSpec.parse_key(template.format(iv="1m"))
    bars = real_bars[("spy", "1m")]
    whole = compute(spec, bars, CAL).outputs
    warmed = make_indicator(spec, CAL, history=bars[:split])
    assert warmed.count == (split if spec.type.value != "vwap" else bars_in_last_session(bars[:split]))
    continued = run_scalar(warmed, bars, start=split)
    for j, name in enumerate(spec.outputs):
        assert_same(continued[:, j], whole[name][split:], 1e-9, f"{spec.key}.{name} after {split}")


def bars_in_last_session(bars: SessionBars) -> int:
    """What a VWAP counts: the bars since the open of the last bar's session."""
    if len(bars) == 0:
        return 0
    session = CAL.session_of(utc(int(bars.ts[-1])))
    return int(np.count_nonzero(bars.ts >= as_ns(CAL.open(session))))


# -- ready, errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", KEYS)
def test_ready_once_warm(template):
    spec = IndicatorSpec.parse_key(template.format(iv="1m"))
    indicator = make_indicator(spec, CAL)
    bars = bars_from_closes(100 + np.cumsum(np.random.default_rng(1).normal(0, 0.1, spec.warmup_bars() + 2)))
    for i in range(spec.warmup_bars()):
        assert not indicator.ready
        indicator.update(bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i], int(bars.ts[i]))
    assert indicator.ready
    first = spec.first_value_index()
    value = compute(spec, bars, CAL).outputs[spec.outputs[0]]
    assert not math.isnan(value[first])


def test_unknown_or_malformed_indicators_are_errors():
    with pytest.raises(IndicatorError, match="unknown type 'foo'"):
        make_indicator("foo_14_1m")
    with pytest.raises(IndicatorError, match="invalid indicator key"):
        make_indicator("rsi_1m")
    with pytest.raises(IndicatorError, match="needs each bar's ts"):
        make_indicator("vwap_1m").update(1, 1, 1, 1, 1)


class _NoWarmup(IndicatorSpec):
    def warmup_bars(self) -> int:
        raise IndicatorSpecError("indicator type 'sma' cannot state its warm-up")


class _ZeroWarmup(IndicatorSpec):
    def warmup_bars(self) -> int:
        return 0


@pytest.mark.parametrize("spec_class", [_NoWarmup, _ZeroWarmup])
def test_an_indicator_that_cannot_state_its_warmup_is_an_error_never_skipped(spec_class):
    spec = spec_class(type="sma", period=5, interval="1m")
    with pytest.raises(IndicatorError, match="warm-up"):
        make_indicator(spec)


def test_compute_columns_names_every_output(real_bars):
    columns = compute_columns(["rsi_14_5m", "bollinger_20_5m", "macd_12_26_9_5m"], real_bars[("spy", "5m")])
    assert list(columns) == [
        "rsi_14_5m",
        "bollinger_20_5m.upper",
        "bollinger_20_5m.middle",
        "bollinger_20_5m.lower",
        "macd_12_26_9_5m.macd",
        "macd_12_26_9_5m.signal",
        "macd_12_26_9_5m.hist",
    ]


# -- properties ------------------------------------------------------------------------------------------


@st.composite
def close_series(draw):
    size = draw(st.integers(1, 160))
    steps = draw(st.lists(st.sampled_from([-0.5, -0.01, 0.0, 0.0, 0.01, 0.02, 0.7]), min_size=size, max_size=size))
    level = draw(st.sampled_from([0.5, 20.0, 900.0]))
    return level + np.cumsum(steps) * (level / 20)


@given(close_series(), st.sampled_from(KEYS), st.integers(0, 3))
def test_batch_and_incremental_agree_on_any_series(close, template, seed):
    bars = bars_from_closes(close, spread=float(close.std() / 10 + 0.01), seed=seed)
    assert_incremental_is_batch(IndicatorSpec.parse_key(template.format(iv="1m")), bars)


@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=0, max_size=600),
    st.sampled_from([0.0, 0.3, 0.9, 13 / 14, 0.999]),
    st.floats(-100, 100),
)
def test_linear_filter_equals_the_sequential_recurrence(values, decay, initial):
    x = np.array(values, dtype=np.float64)
    gain = 1.0 - decay if decay else 1.0
    expected, y = [], initial
    for v in values:
        y = decay * y + gain * v
        expected.append(y)
    np.testing.assert_allclose(linear_filter(x, decay, gain, initial), expected, rtol=1e-12, atol=1e-9)


@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=0, max_size=300), st.integers(1, 30))
def test_window_sums_are_the_running_sum_bit_for_bit(values, n):
    total, expected = 0.0, []
    for i, v in enumerate(values):
        total = total + v if i < n else total + (v - values[i - n])
        expected.append(total)
    np.testing.assert_array_equal(window_sums(np.array(values, dtype=np.float64), n), np.array(expected))


def test_a_nan_input_poisons_only_what_follows_it():
    x = np.arange(100, dtype=np.float64)
    x[70] = np.nan
    y = linear_filter(x, 0.5, 0.5, 0.0)
    assert not np.isnan(y[:70]).any() and np.isnan(y[70:]).all()


def test_every_indicator_type_has_its_implementation():
    assert set(INDICATORS) == set(IndicatorType)
    assert all(cls.kind is kind and callable(cls.batch) for kind, cls in INDICATORS.items())
