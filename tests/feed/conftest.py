"""A feed server on the real LEAN store, and alpaca-py pointed at it.

The oracle of every bar is the store's Parquet file for that symbol and day, read here with pyarrow
(the server reads it through marketdata.store)."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from marketdata.feedserver import FeedFaults, FeedHandle, FeedOptions, serve_in_thread
from marketdata.live.alpaca_stream import AlpacaLiveStream
from marketdata.live.credentials import AlpacaCredentials, credentials_from_env
from marketdata.live.frames import LiveFrame, StreamNotice
from tests.e2e.conftest import lean_store_root

__all__ = ["lean_store_root"]

DAY = date(2013, 10, 9)
OPEN_NS = 1_381_325_400_000_000_000  # 2013-10-09 09:30 New York, in UTC ns
MINUTE_NS = 60_000_000_000
#: test credentials, handed to the SDK as Alpaca's would be; never real
ENV = {"ALPACA_API_KEY": "test-key-id", "ALPACA_SECRET_KEY": "test-secret-value"}


@pytest.fixture
def credentials() -> AlpacaCredentials:
    return credentials_from_env(environ=ENV)


@contextmanager
def feed(store: Path, **options: Any) -> Iterator[FeedHandle]:
    faults = options.pop("faults", FeedFaults())
    options.setdefault("speed", 600.0)
    options.setdefault("end_minute", 6)
    options.setdefault("day", DAY)
    with serve_in_thread(FeedOptions(store=store, faults=faults, **options)) as handle:
        yield handle


def oracle_bars(store: Path, symbol: str, day: date = DAY) -> list[tuple[int, float, float, float, float, float]]:
    """(ts ns, o, h, l, c, v) of a symbol's stored minute bars of a day, pre- and post-market included."""
    table = pq.read_table(store / "1m" / f"symbol={symbol}" / f"{day.isoformat()}.parquet")
    ts = table.column("ts").cast("int64").to_pylist()
    cols = [table.column(c).to_pylist() for c in ("open", "high", "low", "close", "volume")]
    return sorted(zip(ts, *cols, strict=True))


def oracle_minute(store: Path, symbol: str, minute: int) -> tuple[int, float, float, float, float, float] | None:
    wanted = OPEN_NS + minute * MINUTE_NS
    return next((row for row in oracle_bars(store, symbol) if row[0] == wanted), None)


def drain(live: AlpacaLiveStream, handle: FeedHandle, settle: float = 0.5) -> list[LiveFrame | StreamNotice]:
    """Everything the stream queued until the feed has played its day, plus `settle` seconds more."""
    assert handle.wait_ended(120), "the feed did not play its day"
    items: list[LiveFrame | StreamNotice] = []
    while True:
        try:
            items.append(live.frames.get(timeout=settle))
        except queue.Empty:
            return items


def bars(items: list[Any], kind: str = "bar") -> list[LiveFrame]:
    return [i for i in items if isinstance(i, LiveFrame) and i.kind == kind]


def notices(items: list[Any]) -> list[str]:
    return [i.kind for i in items if isinstance(i, StreamNotice)]


def as_row(frame: LiveFrame) -> tuple[int, float, float, float, float, float]:
    ts = int(frame.ts.timestamp()) * 1_000_000_000
    return (ts, frame.open, frame.high, frame.low, frame.close, frame.volume)  # type: ignore[return-value]
