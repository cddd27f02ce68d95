"""Minute bars from Alpaca's REST data API (`StockHistoricalDataClient.get_stock_bars`), for live mode:
history and the minutes a dropped stream missed. alpaca-py follows `next_page_token` to the last page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from marketdata.live.credentials import AlpacaCredentials
from marketdata.live.errors import FeedAuthError, LiveFeedError
from marketdata.live.frames import LiveFrame
from marketdata.store import BAR_SCHEMA
from specs.config import normalize_symbol

#: The largest page alpaca-py asks for; it pages through the rest.
_PAGE = 10_000


def _aware(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be tz-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC)


class AlpacaHistory:
    """Alpaca's REST bars. `url` overrides the base URL (`https://data.alpaca.markets` by default), as
    alpaca-py's `url_override` does; `feed` is `iex` or `sip`."""

    def __init__(self, credentials: AlpacaCredentials, *, feed: str = "iex", url: str | None = None) -> None:
        self._feed = DataFeed(feed)
        self._env = credentials.variables
        self._client = StockHistoricalDataClient(credentials.key, credentials.secret, raw_data=True, url_override=url)

    def _raw(self, symbols: Sequence[str], start: datetime, end: datetime) -> dict[str, list[dict[str, object]]]:
        start, end = _aware(start, "start"), _aware(end, "end")
        if end <= start or not symbols:
            return {}
        request = StockBarsRequest(
            symbol_or_symbols=[normalize_symbol(s) for s in symbols],
            timeframe=TimeFrame.Minute,
            start=start,
            end=end - timedelta(microseconds=1),  # Alpaca's end is inclusive; ours is not
            feed=self._feed,
        )
        try:
            raw = self._client.get_stock_bars(request)
        except APIError as exc:
            if exc.status_code in (401, 403):
                raise FeedAuthError(
                    f"Alpaca REST data API refused the key ({exc.status_code}): check {self._env}"
                ) from None
            raise LiveFeedError(f"Alpaca REST data API: {exc.status_code}: {exc}") from None
        return raw  # type: ignore[return-value]

    def minute_bars(self, symbols: Sequence[str], start: datetime, end: datetime) -> dict[str, pa.Table]:
        """Each symbol's 1m bars with start <= ts < end, as store tables (ts = bar open time, UTC)."""
        tables = {}
        for symbol, bars in self._raw(symbols, start, end).items():
            ts = [datetime.fromisoformat(str(b["t"])) for b in bars]
            columns = [pa.array(ts, BAR_SCHEMA.field("ts").type)]
            for key in ("o", "h", "l", "c", "v"):
                columns.append(pa.array([float(b[key]) for b in bars], pa.float64()))  # type: ignore[arg-type]
            tables[symbol] = pa.Table.from_arrays(columns, schema=BAR_SCHEMA)
        return tables

    def backfill(
        self, symbols: Sequence[str], start: datetime, end: datetime, received_at: datetime
    ) -> list[LiveFrame]:
        """The minutes start <= ts < end as `bar` frames marked `backfilled`, by time then symbol."""
        frames = []
        for symbol, bars in self._raw(symbols, start, end).items():
            for b in bars:
                frames.append(
                    LiveFrame(
                        "bar",
                        symbol,
                        datetime.fromisoformat(str(b["t"])),
                        received_at,
                        float(b["o"]),  # type: ignore[arg-type]
                        float(b["h"]),  # type: ignore[arg-type]
                        float(b["l"]),  # type: ignore[arg-type]
                        float(b["c"]),  # type: ignore[arg-type]
                        float(b["v"]),  # type: ignore[arg-type]
                        _optional(b.get("n")),
                        _optional(b.get("vw")),
                        backfilled=True,
                    )
                )
        frames.sort(key=lambda f: (f.ts, f.symbol))
        return frames


def _optional(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
