"""LEAN minute bars read straight from the zips in ../shared/data (zipfile and csv, not daytape's importer), as
live frames: the oracle of the gate's tests on real days."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from marketdata.live.frames import LiveFrame

NEW_YORK = ZoneInfo("America/New_York")
MINUTE = timedelta(minutes=1)


def lean_minutes(root: Path, symbol: str, day: date) -> dict[datetime, tuple[float, float, float, float, float]]:
    """Every minute bar of the file (pre- and post-market too), by its open time in UTC."""
    path = root / "equity" / "usa" / "minute" / symbol.lower() / f"{day:%Y%m%d}_trade.zip"
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    midnight = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK)
    bars = {}
    for row in csv.reader(io.StringIO(text)):
        ms, o, h, low, c, v = (int(float(x)) for x in row[:6])
        ts = (midnight + timedelta(milliseconds=ms)).astimezone(UTC)
        bars[ts] = (o / 10_000, h / 10_000, low / 10_000, c / 10_000, float(v))
    return bars


def arriving(
    bars: dict[str, dict[datetime, tuple[float, float, float, float, float]]],
    seed: int,
    jitter_s: float = 2.5,
    duplicates: float = 0.0,
) -> list[LiveFrame]:
    """Each bar as a frame arriving after its minute ends, `jitter_s` seconds at most (so neighbours arrive
    out of order across symbols), with a share of duplicates sent again a little later; in arrival order."""
    rng = random.Random(seed)
    frames = []
    for symbol, minutes in bars.items():
        for ts, (o, h, low, c, v) in minutes.items():
            arrival = ts + MINUTE + timedelta(microseconds=rng.randrange(int(jitter_s * 1e6)))
            frame = LiveFrame("bar", symbol, ts, arrival, o, h, low, c, v)
            frames.append(frame)
            if rng.random() < duplicates:
                again = arrival + timedelta(microseconds=rng.randrange(int(jitter_s * 1e6)))
                frames.append(LiveFrame("bar", symbol, ts, again, o, h, low, c, v))
    return sorted(frames, key=lambda f: (f.received_at, f.symbol))
