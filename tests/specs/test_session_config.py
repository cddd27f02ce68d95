import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daytape.configfile import dump_session_yaml, parse_session_yaml
from daytape.errors import UserError
from specs.config import SessionConfig
from specs.intervals import Interval

CONTRACT_EXAMPLE = """
name: lean-oct-2013
exchange: XNYS                  # exchange_calendars code
mode: backtest                  # live is reserved
start: 2013-10-09               # first session date (inclusive)
end: 2013-10-11                 # last session date (inclusive)
store: ./data                   # the Parquet bar store
log: sqlite:///daytape.db
symbols: [SPY, AIG, BAC, IBM]   # loaded in full every session
streams: [1m]                   # base intervals read from the store
derived: [5m, 15m]              # derived from the streams
historical:
  enabled: true
  trailing_days: 3              # trading sessions before each session date
indicators:                     # registered on every config symbol
  - {type: sma, period: 20, interval: 5m}
  - {type: rsi, period: 14, interval: 1m}
warmup_multiplier: 2.0
scanner:  {class: "package.module:ClassName", params: {}}
strategy: {class: "package.module:ClassName", params: {}}
"""


def test_the_contract_example_parses():
    config = parse_session_yaml(CONTRACT_EXAMPLE, "session.yaml")
    assert config.name == "lean-oct-2013"
    assert config.start == dt.date(2013, 10, 9)
    assert config.symbols == ["SPY", "AIG", "BAC", "IBM"]
    assert config.full_intervals() == [Interval("1m"), Interval("5m"), Interval("15m")]
    assert config.trailing_days == 3
    assert [s.key for s in config.indicators] == ["sma_20_5m", "rsi_14_1m"]
    assert config.scanner is not None and config.scanner.class_path == "package.module:ClassName"


def test_round_trips_through_yaml():
    config = parse_session_yaml(CONTRACT_EXAMPLE)
    assert parse_session_yaml(dump_session_yaml(config)) == config


BASE = "name: t\nstart: 2013-10-09\nend: 2013-10-11\n"

LIVE_EXAMPLE = """
mode: live
feed:
  provider: alpaca
  feed: sip
  stream_url: ws://127.0.0.1:8765
  rest_url: http://127.0.0.1:8766
  key_env: PAPER_KEY
  secret_env: PAPER_SECRET
  history: alpaca
  grace_seconds: 2.5
  silence_timeout_seconds: 20
  missed_minutes: gap
"""


def test_a_live_session_file_parses_with_its_feed_section():
    config = parse_session_yaml(BASE + LIVE_EXAMPLE)
    feed = config.live_feed
    assert config.mode == "live"
    assert (feed.feed, feed.history, feed.missed_minutes) == ("sip", "alpaca", "gap")
    assert (feed.stream_url, feed.rest_url) == ("ws://127.0.0.1:8765", "http://127.0.0.1:8766")
    assert (feed.key_env, feed.secret_env, feed.grace_seconds, feed.silence_timeout_seconds) == (
        "PAPER_KEY",
        "PAPER_SECRET",
        2.5,
        20.0,
    )
    assert parse_session_yaml(dump_session_yaml(config)) == config


def test_a_live_session_without_a_feed_section_takes_the_defaults():
    feed = parse_session_yaml(BASE + "mode: live\n").live_feed
    assert (feed.provider, feed.feed, feed.history, feed.missed_minutes) == ("alpaca", "iex", "store", "backfill")
    assert (feed.key_env, feed.secret_env) == ("ALPACA_API_KEY", "ALPACA_SECRET_KEY")
    assert 0 < feed.grace_seconds <= 10 and feed.silence_timeout_seconds > feed.grace_seconds


@pytest.mark.parametrize(
    ("extra", "where", "problem"),
    [
        ("symbols: [SPY, 'B AD']\n", "symbols", "invalid symbol 'B AD'"),
        ("derived: [7x]\n", "derived[0]", "invalid interval '7x'"),
        ("indicators: [{type: sma, period: 0, interval: 5m}]\n", "indicators[0].period", "greater than or equal to 1"),
        ("historical: {trailing_days: -1}\n", "historical.trailing_days", "greater than or equal to 0"),
        ("streams: [5m]\n", "(file)", "streams: 5m is not a base interval"),
        ("derived: [5s]\n", "(file)", "derived: 5s needs the base stream 1s"),
        ("mode: paper\n", "mode", "Input should be 'backtest' or 'live'"),
        ("feed: {feed: iex}\n", "(file)", "feed: a feed section is for mode: live only"),
        ("mode: live\nstreams: [1s]\n", "(file)", "streams: a live feed delivers minute bars"),
        ("mode: live\nfeed: {feed: otc}\n", "feed.feed", "Input should be 'iex' or 'sip'"),
        ("mode: live\nfeed: {history: rest}\n", "feed.history", "Input should be 'store' or 'alpaca'"),
        ("mode: live\nfeed: {missed_minutes: skip}\n", "feed.missed_minutes", "Input should be 'backfill' or 'gap'"),
        ("mode: live\nfeed: {grace_seconds: 0}\n", "feed.grace_seconds", "greater than 0"),
        ("mode: live\nfeed: {grace_seconds: true}\n", "feed.grace_seconds", "valid number, got True"),
        ("mode: live\nfeed: {silence_timeout_seconds: -5}\n", "feed.silence_timeout_seconds", "greater than 0"),
        ("mode: live\nfeed: {stream_url: 'http://x'}\n", "feed.stream_url", "expected a ws:// or wss:// URL"),
        ("mode: live\nfeed: {rest_url: 'ws://x'}\n", "feed.rest_url", "expected an http:// or https:// URL"),
        ("mode: live\nfeed: {key_env: 'MY KEY'}\n", "feed.key_env", "expected the name of an environment variable"),
        ("mode: live\nfeed: {key_env: K, secret_env: K}\n", "feed", "key_env and secret_env are both K"),
        ("mode: live\nfeed: {provider: polygon}\n", "feed.provider", "Input should be 'alpaca'"),
        ("colour: blue\n", "colour", "Extra inputs are not permitted"),
        ("scanner: {class: not-a-path}\n", "scanner.class", "invalid class path"),
        ("warmup_multiplier: 0\n", "warmup_multiplier", "greater than 0"),
        # booleans are not numbers, numbers are not dates: nothing is coerced into a different run
        ("indicators: [{type: sma, period: true, interval: 5m}]\n", "indicators[0].period", "got True"),
        ("indicators: [{type: sma, period: 20.0, interval: 5m}]\n", "indicators[0].period", "got 20.0"),
        ("indicators: [{type: sma, period: '20', interval: 5m}]\n", "indicators[0].period", "got '20'"),
        ("indicators: [{type: macd, fast: true, interval: 5m}]\n", "indicators[0].fast", "valid integer, got True"),
        ("historical: {trailing_days: true}\n", "historical.trailing_days", "valid integer, got True"),
        ("historical: {enabled: 1}\n", "historical.enabled", "valid boolean, got 1"),
        ("warmup_multiplier: true\n", "warmup_multiplier", "valid number, got True"),
    ],
)
def test_bad_fields_name_the_field_and_the_problem(extra, where, problem):
    with pytest.raises(UserError) as info:
        parse_session_yaml(BASE + extra, "s.yaml")
    message = str(info.value)
    assert message.startswith(f"s.yaml: {where}: "), message
    assert problem in message


@pytest.mark.parametrize("value", ["1381276800", "true", "20131009"])
def test_a_number_is_not_a_date(value):
    with pytest.raises(UserError) as info:
        parse_session_yaml(f"name: t\nstart: {value}\nend: 2013-10-11\n", "s.yaml")
    assert str(info.value).startswith("s.yaml: start: expected a date as YYYY-MM-DD, got ")


def test_whole_numbers_stay_valid_where_a_number_is_asked():
    config = parse_session_yaml(BASE + "warmup_multiplier: 3\nhistorical: {enabled: false, trailing_days: 2}\n")
    assert config.warmup_multiplier == 3.0 and config.historical.trailing_days == 2


def test_end_before_start():
    with pytest.raises(UserError, match=r"s.yaml: \(file\): end \(2013-10-01\) is before start \(2013-10-09\)"):
        parse_session_yaml("name: t\nstart: 2013-10-09\nend: 2013-10-01\n", "s.yaml")


def test_missing_dates():
    with pytest.raises(UserError) as info:
        parse_session_yaml("name: t\n", "s.yaml")
    assert "s.yaml: start: Field required" in str(info.value)
    assert "s.yaml: end: Field required" in str(info.value)


def test_broken_yaml_names_line_and_column():
    with pytest.raises(UserError, match=r"s.yaml: line 2, column 1: broken YAML"):
        parse_session_yaml("name: [x\n", "s.yaml")


def test_not_a_mapping():
    with pytest.raises(UserError, match=r"s.yaml: \(file\): expected a mapping"):
        parse_session_yaml("- a\n- b\n", "s.yaml")


symbols = st.lists(st.from_regex(r"[A-Z]{1,5}", fullmatch=True), unique=True, max_size=6)
specs_ = st.lists(
    st.builds(
        lambda kind, period, interval: {"type": kind, "period": period, "interval": interval},
        st.sampled_from(["sma", "ema", "rsi", "atr", "bollinger"]),
        st.integers(2, 60),
        st.sampled_from(["1m", "5m", "15m", "1h"]),
    ),
    max_size=4,
    unique_by=lambda d: (d["type"], d["period"], d["interval"]),
)


@given(
    symbols,
    st.lists(st.sampled_from(["2m", "5m", "15m", "30m", "1h"]), unique=True),
    specs_,
    st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1)),
    st.integers(0, 30),
    st.integers(0, 60),
    st.floats(0.1, 10, allow_nan=False),
)
def test_any_valid_config_round_trips_through_yaml(syms, derived, indicators, start, length, trailing, multiplier):
    config = SessionConfig.model_validate(
        {
            "name": "prop",
            "start": start,
            "end": start + dt.timedelta(days=length),
            "symbols": syms,
            "derived": derived,
            "indicators": indicators,
            "historical": {"enabled": True, "trailing_days": trailing},
            "warmup_multiplier": multiplier,
            "strategy": {"class": "daytape.examples:UpgradeStrategy", "params": {"symbols": syms, "at": "10:30"}},
        }
    )
    assert parse_session_yaml(dump_session_yaml(config)) == config
