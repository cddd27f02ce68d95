"""The session config's rules across fields, each refusal naming the file and what is wrong."""

from __future__ import annotations

import pytest

from daytape.configfile import parse_session_yaml
from daytape.errors import UserError
from tests.specs.test_session_config import BASE


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("symbols: [SPY, ibm, spy]\n", "symbols listed twice: SPY"),
        ("streams: []\n", "streams: at least one base interval is needed"),
        (
            "indicators: [{type: sma, period: 5, interval: 5s}]\n",
            "indicators: sma_5_5s needs the base stream 1s, which is not in streams",
        ),
        (
            "indicators: [{type: sma, period: 5, interval: 5m}, {type: sma, period: 5, interval: 5m}]\n",
            "indicators listed twice: sma_5_5m",
        ),
    ],
)
def test_rules_across_fields_are_named(extra, problem):
    with pytest.raises(UserError) as info:
        parse_session_yaml(BASE + extra, "s.yaml")
    assert str(info.value) == f"s.yaml: (file): {problem}"


def test_symbols_are_upper_case_and_must_be_a_list():
    assert parse_session_yaml(BASE + "symbols: [spy, Ibm]\n").symbols == ["SPY", "IBM"]
    with pytest.raises(UserError, match=r"s\.yaml: symbols: "):
        parse_session_yaml(BASE + "symbols: SPY\n", "s.yaml")
