import pytest
from hypothesis import given
from hypothesis import strategies as st

from specs.indicators import IndicatorSpec, IndicatorSpecError, IndicatorType
from specs.intervals import Interval


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        (IndicatorSpec(type="sma", period=20, interval="5m"), "sma_20_5m"),
        (IndicatorSpec(type="rsi", period=14, interval="1m"), "rsi_14_1m"),
        (IndicatorSpec(type="macd", interval="5m"), "macd_12_26_9_5m"),
        (IndicatorSpec(type="macd", fast=5, slow=35, signal=5, interval="15m"), "macd_5_35_5_15m"),
        (IndicatorSpec(type="vwap", interval="1m"), "vwap_1m"),
        (IndicatorSpec(type="bollinger", period=20, interval="5m"), "bollinger_20_5m"),
    ],
)
def test_keys_follow_the_contract_and_round_trip(spec, key):
    assert spec.key == key
    assert IndicatorSpec.parse_key(key) == spec


def test_multi_output_columns():
    assert IndicatorSpec.parse_key("bollinger_20_5m").column_names == (
        "bollinger_20_5m.upper",
        "bollinger_20_5m.middle",
        "bollinger_20_5m.lower",
    )
    assert IndicatorSpec.parse_key("macd_12_26_9_5m").column_names == (
        "macd_12_26_9_5m.macd",
        "macd_12_26_9_5m.signal",
        "macd_12_26_9_5m.hist",
    )
    assert IndicatorSpec.parse_key("rsi_14_1m").column_names == ("rsi_14_1m",)


@pytest.mark.parametrize(
    ("key", "bars"),
    [
        ("sma_20_5m", 20),
        ("bollinger_20_5m", 20),
        ("ema_10_1m", 30),
        ("rsi_14_1m", 71),
        ("atr_14_1m", 71),
        ("macd_12_26_9_5m", 105),
        ("vwap_1m", 1),
    ],
)
def test_warmup_bars_per_type(key, bars):
    assert IndicatorSpec.parse_key(key).warmup_bars() == bars


def test_converging_indicators_need_more_than_their_period():
    for kind in ("ema", "rsi", "atr"):
        spec = IndicatorSpec(type=kind, period=14, interval="1m")
        assert spec.warmup_bars() > spec.period


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "sma", "interval": "5m"}, "needs a period"),
        ({"type": "sma", "period": 0, "interval": "5m"}, "greater than or equal to 1"),
        ({"type": "vwap", "period": 3, "interval": "1m"}, "vwap has no period"),
        ({"type": "macd", "fast": 30, "slow": 10, "interval": "1m"}, "must be shorter"),
        ({"type": "sma", "period": 5, "interval": "7x"}, "'7x'"),
        ({"type": "stoch", "period": 5, "interval": "1m"}, "type"),
        ({"type": "sma", "period": True, "interval": "5m"}, "valid integer"),
        ({"type": "macd", "fast": True, "interval": "5m"}, "valid integer"),
        ({"type": "macd", "signal": 9.0, "interval": "5m"}, "valid integer"),
    ],
)
def test_bad_specs_name_the_problem(fields, message):
    with pytest.raises(ValueError, match=message):
        IndicatorSpec(**fields)


@pytest.mark.parametrize("bad", ["sma_5m", "stoch_14_1m", "macd_12_26_5m", "vwap_3_1m", "sma_20_7x", "", "sma-20-5m"])
def test_bad_keys_raise_naming_the_key(bad):
    with pytest.raises(IndicatorSpecError) as info:
        IndicatorSpec.parse_key(bad)
    assert repr(bad) in str(info.value)


periods = st.integers(min_value=1, max_value=500)
intervals = st.sampled_from(["1m", "2m", "5m", "15m", "30m", "1h", "1d", "5s"]).map(Interval)


@st.composite
def indicator_specs(draw):
    kind = draw(st.sampled_from(list(IndicatorType)))
    interval = draw(intervals)
    if kind is IndicatorType.MACD:
        fast = draw(st.integers(1, 100))
        slow = draw(st.integers(fast + 1, 200))
        return IndicatorSpec(type=kind, interval=interval, fast=fast, slow=slow, signal=draw(periods))
    if kind is IndicatorType.VWAP:
        return IndicatorSpec(type=kind, interval=interval)
    minimum = 2 if kind is IndicatorType.BOLLINGER else 1
    return IndicatorSpec(type=kind, interval=interval, period=draw(st.integers(minimum, 500)))


@given(indicator_specs())
def test_every_spec_key_round_trips(spec):
    assert IndicatorSpec.parse_key(spec.key) == spec
    assert spec.warmup_bars() >= 1
