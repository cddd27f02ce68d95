"""The REST bar endpoint through alpaca-py's `StockHistoricalDataClient` (and `AlpacaHistory` on it):
pages, ranges and the simulated clock, against the store's Parquet files read here with pyarrow."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from marketdata.live.alpaca_history import AlpacaHistory
from marketdata.live.credentials import credentials_from_env
from marketdata.live.errors import FeedAuthError
from tests.feed.conftest import MINUTE_NS, OPEN_NS, feed, oracle_bars

SYMBOLS = ["SPY", "AIG", "BAC", "IBM"]
WEEK = [date(2013, 10, 4), date(2013, 10, 7), date(2013, 10, 8), date(2013, 10, 9), date(2013, 10, 10)]


def _rows_of(bars) -> list[tuple[int, float, float, float, float, float]]:
    return [(int(b.timestamp.timestamp()) * 10**9, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def test_history_across_pages_is_every_stored_bar(lean_store_root):
    """Four symbols over five days: more than one 10,000-bar page, which alpaca-py pages through."""
    with feed(lean_store_root, day=date(2013, 10, 11)) as handle:
        client = StockHistoricalDataClient("k", "s", url_override=handle.http_url)
        request = StockBarsRequest(
            symbol_or_symbols=SYMBOLS,
            timeframe=TimeFrame.Minute,
            start=datetime(2013, 10, 4, tzinfo=UTC),
            end=datetime(2013, 10, 11, tzinfo=UTC),
        )
        result = client.get_stock_bars(request)
    expected = {s: [row for d in WEEK for row in oracle_bars(lean_store_root, s, d)] for s in SYMBOLS}
    assert sum(map(len, expected.values())) > 10_000
    assert {s: _rows_of(result.data[s]) for s in SYMBOLS} == expected


def test_small_pages_chain_by_next_page_token(lean_store_root):
    with feed(lean_store_root) as handle:
        url = handle.http_url + "/v2/stocks/bars"
        headers = {"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}
        params = {
            "symbols": "SPY,AIG",
            "timeframe": "1Min",
            "start": "2013-10-08T13:30:00Z",
            "end": "2013-10-08T13:34:00Z",
            "limit": "3",
        }
        pages, token = [], None
        while True:
            body = requests.get(
                url, params={**params, **({"page_token": token} if token else {})}, headers=headers, timeout=30
            ).json()
            pages.append({s: [b["t"][11:16] for b in bars] for s, bars in body["bars"].items()})
            token = body["next_page_token"]
            if token is None:
                break
    assert pages == [
        {"AIG": ["13:30", "13:31", "13:32"]},
        {"AIG": ["13:33", "13:34"], "SPY": ["13:30"]},
        {"SPY": ["13:31", "13:32", "13:33"]},
        {"SPY": ["13:34"]},
    ]


def test_nothing_later_than_the_feeds_clock_is_served(lean_store_root):
    """Before any client subscribes the day's clock stands at the open: none of the day's bars exist yet."""
    with feed(lean_store_root) as handle:
        history = AlpacaHistory(
            credentials_from_env(environ={"ALPACA_API_KEY": "k", "ALPACA_SECRET_KEY": "s"}), url=handle.http_url
        )
        day_start = datetime.fromtimestamp(OPEN_NS / 1e9 - 4 * 3600, UTC)
        tables = history.minute_bars(["SPY"], day_start, datetime.fromtimestamp(OPEN_NS / 1e9 + 3600, UTC))
    ts = tables["SPY"].column("ts").cast(pa.int64()).to_pylist()
    assert ts and max(ts) == OPEN_NS - MINUTE_NS  # the pre-market, up to the minute before the open
    assert tables["SPY"].schema.names == ["ts", "open", "high", "low", "close", "volume"]


def test_refusals_are_alpacas(lean_store_root):
    with feed(lean_store_root, credentials=("right", "pair")) as handle:
        wrong = AlpacaHistory(
            credentials_from_env(environ={"ALPACA_API_KEY": "k", "ALPACA_SECRET_KEY": "s"}), url=handle.http_url
        )
        with pytest.raises(FeedAuthError, match=r"refused the key \(401\): check ALPACA_API_KEY/ALPACA_SECRET_KEY"):
            wrong.minute_bars(["SPY"], datetime(2013, 10, 8, tzinfo=UTC), datetime(2013, 10, 9, tzinfo=UTC))
        client = StockHistoricalDataClient("right", "pair", url_override=handle.http_url)
        hourly = StockBarsRequest(
            symbol_or_symbols="SPY", timeframe=TimeFrame(5, TimeFrameUnit.Hour), start=datetime(2013, 10, 8, tzinfo=UTC)
        )
        with pytest.raises(APIError, match="invalid timeframe '5Hour'"):
            client.get_stock_bars(hourly)
