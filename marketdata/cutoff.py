"""A bar store as it stood at a moment: the same files without the bars that close after it.

`write_store_until(root, target, day, moment, calendar)` fills `target` (an empty folder) so that a
`BarStore` on it reads as one on `root` would have at `moment` on the session `day`: files of earlier days
(and years) are symbolic links to the originals, the day's intraday files are written with only the bars
that close by `moment`, the year file of daily bars keeps only the days before `day`, and files of later
days are left out. Files that are not Parquet are linked as they are. `root` is only read.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from marketdata.calendar import TradingCalendar
from marketdata.timestamps import NS_PER_SECOND, as_ns, local_days
from specs.intervals import Interval


def _day_number(day: date) -> int:
    """`day` as days since the Unix epoch, the unit of `local_days`."""
    return int(np.datetime64(day, "D").astype(np.int64))


def _file_period(source: Path, interval: Interval, day: date) -> int:
    """Whether the file holds bars before `day` only (-1), `day`'s (0) or only later ones (1)."""
    if interval.is_intraday:
        file_day = date.fromisoformat(source.stem)
        return (file_day > day) - (file_day < day)
    year = int(source.stem)
    return -1 if year < day.year else 0 if year == day.year else 1


def _until(table: pa.Table, interval: Interval, day: date, limit_ns: int, calendar: TradingCalendar) -> pa.Table:
    """The rows of a file of `day`'s period that the store held at the moment `limit_ns`."""
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    if interval.is_intraday:
        keep = ts + interval.seconds * NS_PER_SECOND <= limit_ns
    else:
        keep = local_days(ts, calendar) < _day_number(day)
    return table.filter(pa.array(keep))


def write_store_until(root: Path, target: Path, day: date, moment: datetime, calendar: TradingCalendar) -> Path:
    """Fill `target` with the store at `root` as of `moment` on `day` (see the module docstring); returns
    `target`."""
    limit = as_ns(moment)
    for source in sorted(root.rglob("*")):
        copy = target / source.relative_to(root)
        if source.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix != ".parquet":
            copy.symlink_to(source.resolve())
            continue
        interval = Interval(source.relative_to(root).parts[0])
        period = _file_period(source, interval, day)
        if period < 0:
            copy.symlink_to(source.resolve())
        elif period == 0:
            pq.write_table(_until(pq.read_table(source), interval, day, limit, calendar), copy)
    return target
