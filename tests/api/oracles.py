"""Independent answers for the API tests: the log read with sqlite3 and json, bars read with pyarrow and
aggregated with pandas, sessions from exchange_calendars itself, indicators as textbook pandas formulas."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import exchange_calendars as xcals
import pandas as pd
import pyarrow.parquet as pq

from eventlog.kinds import KIND_NAMES
from tests.eventlog.tamper import stored_text

XNYS = xcals.get_calendar("XNYS")


def log_rows(db: Path, run_id: str, day: str) -> list[dict]:
    """The stream's rows as stored: seq, kind, symbol, request_id and the payload as parsed JSON (the
    stored layout read as documented: the day as days since 1970, the kind by its number, the payload
    through its codec byte)."""
    day_number = (dt.date.fromisoformat(day) - dt.date(1970, 1, 1)).days
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT e.seq, e.kind, e.symbol, e.request_id, e.payload FROM events AS e JOIN runs AS r "
            "ON r.run_key = e.run_key WHERE r.run_id = ? AND e.session_date = ? ORDER BY e.seq",
            (run_id, day_number),
        ).fetchall()
    return [
        {"seq": s, "kind": KIND_NAMES[k - 1], "symbol": sym, "request_id": r, "payload": json.loads(stored_text(p))}
        for s, k, sym, r, p in rows
    ]


def sessions(start: str, end: str) -> list[dt.date]:
    return [d.date() for d in XNYS.sessions_in_range(start, end)]


def regular_minutes(frame: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The rows of a minute frame (indexed by UTC bar open) inside the session's regular hours."""
    open_, close = XNYS.session_open_close(day.isoformat())
    return frame[(frame.index >= open_) & (frame.index < close)]


def parquet_minutes(store: Path, symbol: str, day: dt.date) -> pd.DataFrame:
    """A demo-store day file read with pyarrow, indexed by bar open time (UTC)."""
    frame = pq.read_table(store / "1m" / f"symbol={symbol}" / f"{day.isoformat()}.parquet").to_pandas()
    frame = frame.set_index(pd.DatetimeIndex(frame["ts"]).tz_convert("UTC").as_unit("ns"))
    return frame[["open", "high", "low", "close", "volume"]].astype(float).sort_index()


def aggregate(minutes: pd.DataFrame, day: dt.date, minutes_per_bar: int) -> pd.DataFrame:
    """N-minute bars anchored at the session open, the last one cut at the close, indexed by close time."""
    open_, close = XNYS.session_open_close(day.isoformat())
    width = pd.Timedelta(minutes=minutes_per_bar)
    slot = ((minutes.index - open_) // width).astype(int)
    bars = minutes.groupby(slot).agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    ends = [min(open_ + (i + 1) * width, close) for i in bars.index]
    bars.index = pd.DatetimeIndex(ends, name="close_time").tz_convert("UTC").as_unit("ns")
    return bars
