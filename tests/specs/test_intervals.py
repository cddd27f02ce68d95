import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from specs.intervals import Interval, IntervalError


@pytest.mark.parametrize(
    ("text", "base", "is_base", "seconds"),
    [
        ("1s", "1s", True, 1),
        ("5s", "1s", False, 5),
        ("1m", "1m", True, 60),
        ("2m", "1m", False, 120),
        ("5m", "1m", False, 300),
        ("15m", "1m", False, 900),
        ("30m", "1m", False, 1800),
        ("1h", "1m", False, 3600),
        ("1d", "1d", True, 86400),
        ("1w", "1d", False, 7 * 86400),
    ],
)
def test_parses_and_knows_its_base(text, base, is_base, seconds):
    interval = Interval(text)
    assert str(interval) == text
    assert str(interval.base) == base
    assert interval.is_base is is_base
    assert interval.seconds == seconds


@pytest.mark.parametrize("bad", ["0m", "7x", "m5", "", " ", "5", "-1m", "1.5m", "01m"])
def test_rejects_bad_text_naming_the_value(bad):
    with pytest.raises(IntervalError) as info:
        Interval(bad)
    assert repr(bad) in str(info.value)


def test_orders_by_length():
    assert sorted(Interval(t) for t in ["1h", "1m", "15m", "5m", "1d"]) == [
        Interval("1m"),
        Interval("5m"),
        Interval("15m"),
        Interval("1h"),
        Interval("1d"),
    ]
    assert Interval("5m") < Interval("1h")
    assert Interval("5m").base_multiple == 5
    assert Interval("1h").base_multiple == 60


def test_is_a_pydantic_field_that_serializes_as_text():
    class Holder(BaseModel):
        interval: Interval

    holder = Holder(interval="5m")
    assert holder.interval == Interval("5m")
    assert holder.model_dump(mode="json") == {"interval": "5m"}
    assert Holder.model_validate_json(holder.model_dump_json()) == holder
    with pytest.raises(ValueError, match="'7x'"):
        Holder(interval="7x")


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from("smhdw"))
def test_text_round_trips(count, unit):
    text = f"{count}{unit}"
    assert str(Interval(text)) == text
    assert Interval(str(Interval(text))) == Interval(text)
