"""Reads a LEAN minute trade zip straight from ../shared/data, independently of marketdata's importer.

Each zip holds one header-less CSV: ms since midnight New York time (the bar start), open, high, low,
close in 1/10000 dollar, volume. Tests use this as the raw truth to check derived bars and quality against.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

NEW_YORK = "America/New_York"


def lean_minute_frame(lean_root: Path, symbol: str, day: date) -> pd.DataFrame:
    """The day's bars as a DataFrame indexed by UTC bar open time, prices in dollars, pre/post market included."""
    path = lean_root / "equity" / "usa" / "minute" / symbol.lower() / f"{day:%Y%m%d}_trade.zip"
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    raw = pd.read_csv(io.StringIO(text), header=None, names=["ms", "open", "high", "low", "close", "volume"])
    midnight = pd.Timestamp(day).tz_localize(NEW_YORK)
    local = pd.DatetimeIndex([midnight + pd.Timedelta(milliseconds=int(ms)) for ms in raw["ms"]])
    frame = raw[["open", "high", "low", "close"]].astype(float) / 10_000
    frame["volume"] = raw["volume"].astype(float)
    frame.index = local.tz_convert("UTC").as_unit("ns")
    frame.index.name = "ts"
    return frame


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """A BAR_SCHEMA-shaped table (ts UTC ns, float64 columns) of such a frame."""
    ts = pa.array(frame.index.as_unit("ns"), type=pa.timestamp("ns", tz="UTC"))
    columns = [pa.array(frame[name].to_numpy(dtype=float)) for name in ("open", "high", "low", "close", "volume")]
    return pa.Table.from_arrays([ts, *columns], names=["ts", "open", "high", "low", "close", "volume"])


def lean_minute_table(lean_root: Path, symbol: str, day: date) -> pa.Table:
    return frame_to_table(lean_minute_frame(lean_root, symbol, day))
