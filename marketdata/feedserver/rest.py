"""Alpaca's REST bar endpoint (`GET /v2/stocks/bars`) over the store, as `StockHistoricalDataClient` calls it.

Query: `symbols` (comma-separated), `timeframe` (`1Min`: the store's minute bars), `start` and `end`
(RFC 3339 or a date; both inclusive, as Alpaca's are), `limit` (1..10000, default 1000, counted over all
symbols), `page_token`, `sort` (`asc` | `desc`), `feed`, `adjustment`, `asof`, `currency`. The answer is
`{"bars": {symbol: [{"t", "o", "h", "l", "c", "v", "n", "vw"}]}, "next_page_token": token | null}`, symbols
in alphabetical order, bars by time within each symbol. Nothing later than the feed's simulated clock is
served: a bar is there once its minute has ended, as from Alpaca in the middle of a day.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from marketdata.errors import MarketDataError
from marketdata.feedserver.day import NS_PER_MINUTE
from marketdata.feedserver.protocol import rfc3339
from marketdata.store import BarStore

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
TIMEFRAMES = ("1Min", "1T")
FEEDS = ("iex", "sip", "delayed_sip", "otc", "boats", "overnight")


class RestError(MarketDataError, ValueError):
    """A request the endpoint refuses: 400 with this message (Alpaca's body is `{"message": ...}`)."""


@dataclass(frozen=True)
class BarsQuery:
    symbols: tuple[str, ...]
    start_ns: int
    end_ns: int  # inclusive
    limit: int
    descending: bool
    after: tuple[str, int] | None  # the page token: the first (symbol, ts) of this page


def _time(value: str, name: str) -> int:
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise RestError(f"invalid {name}: {value!r} is not RFC 3339 or a date") from None
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def encode_token(symbol: str, ts_ns: int) -> str:
    return base64.urlsafe_b64encode(f"{symbol}:{ts_ns}".encode()).decode()


def decode_token(token: str) -> tuple[str, int]:
    try:
        symbol, _, ts = base64.urlsafe_b64decode(token.encode()).decode().rpartition(":")
        return symbol, int(ts)
    except ValueError:
        raise RestError("invalid page_token") from None


def parse_query(params: Mapping[str, str], default_start_ns: int, now_ns: int) -> BarsQuery:
    symbols = tuple(sorted({s.strip().upper() for s in params.get("symbols", "").split(",") if s.strip()}))
    if not symbols:
        raise RestError("missing symbols")
    timeframe = params.get("timeframe", "")
    if timeframe not in TIMEFRAMES:
        raise RestError(f"invalid timeframe {timeframe!r}: this feed serves the store's minute bars (1Min)")
    if params.get("feed", "iex") not in FEEDS:
        raise RestError(f"invalid feed {params['feed']!r}")
    try:
        limit = int(params.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise RestError(f"invalid limit {params['limit']!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise RestError(f"invalid limit {limit}: between 1 and {MAX_LIMIT}")
    sort = params.get("sort", "asc")
    if sort not in ("asc", "desc"):
        raise RestError(f"invalid sort {sort!r}: asc or desc")
    start = _time(params["start"], "start") if params.get("start") else default_start_ns
    end = _time(params["end"], "end") if params.get("end") else now_ns
    if end < start:
        raise RestError("end should not be before start")
    token = params.get("page_token")
    return BarsQuery(symbols, start, end, limit, sort == "desc", decode_token(token) if token else None)


def _bar(ts_ns: int, o: float, h: float, lo: float, c: float, v: float) -> dict[str, Any]:
    return {
        "t": rfc3339(ts_ns),
        "o": o,
        "h": h,
        "l": lo,
        "c": c,
        "v": int(v) if float(v).is_integer() else v,
        "n": 0,
        "vw": round((h + lo + c) / 3, 4),
    }


def bars_page(store: BarStore, query: BarsQuery, now_ns: int, never_trades: frozenset[str]) -> dict[str, Any]:
    """One page of the answer. Bars later than `now_ns` (whose minute has not ended) are not served."""
    last_open = min(query.end_ns, now_ns - NS_PER_MINUTE)
    page: dict[str, list[dict[str, Any]]] = {}
    left = query.limit
    started = query.after is None
    for symbol in query.symbols:
        if query.after is not None and symbol < query.after[0]:
            continue
        if symbol in never_trades or last_open < query.start_ns:
            continue
        start = datetime.fromtimestamp(query.start_ns / 1e9, UTC)
        end = datetime.fromtimestamp((last_open + 1_000) / 1e9, UTC)
        table = store.read(symbol, "1m", start, end).table
        if table.num_rows == 0:
            continue
        ts = table.column("ts").cast("int64").to_pylist()
        rows = list(
            zip(ts, *(table.column(n).to_pylist() for n in ("open", "high", "low", "close", "volume")), strict=True)
        )
        rows = [r for r in rows if query.start_ns <= r[0] <= last_open]
        if query.descending:
            rows.reverse()
        if not started and query.after is not None and symbol == query.after[0]:
            first = query.after[1]
            rows = [r for r in rows if (r[0] <= first if query.descending else r[0] >= first)]
        started = True
        if not rows:
            continue
        if left == 0:
            return {"bars": page, "next_page_token": encode_token(symbol, rows[0][0])}
        taken, rest = rows[:left], rows[left:]
        page[symbol] = [_bar(*r) for r in taken]
        left -= len(taken)
        if rest:
            return {"bars": page, "next_page_token": encode_token(symbol, rest[0][0])}
    return {"bars": page, "next_page_token": None}
