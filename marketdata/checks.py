"""Bad bars: counted, never silently passed as clean.

`flag_bad_bars` counts what is wrong with a bar table; `clean_bars` returns the usable rows and those
counts, for loading a session. Both are vectorised over whole columns.

What the store keeps: import writes bars as the source gave them, only sorted by `ts` (stably, so among
equal timestamps the source's order survives). Duplicates, NaN, infinite or non-positive prices, high < low
and negative, NaN or infinite volumes stay in the files for `data check` to count; how many rows arrived out
of order is recorded in each file's metadata by the store (`BarStore.recorded_unsorted`), since sorting
erases it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from marketdata.quality import Gap, session_quality
from marketdata.store import BarStore
from specs.intervals import Interval

PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class BadBarCounts:
    """Rows found bad, by reason. A row can count under more than one reason; `total` is the sum."""

    unsorted: int = 0
    duplicate: int = 0
    nan_price: int = 0
    inf_price: int = 0
    nonpositive_price: int = 0
    high_below_low: int = 0
    negative_volume: int = 0
    nan_volume: int = 0
    inf_volume: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        """The counts by reason and their `total`, as `data check` prints them."""
        return {**asdict(self), "total": self.total}

    def __add__(self, other: BadBarCounts) -> BadBarCounts:
        return BadBarCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


def _ts_ns(table: pa.Table) -> np.ndarray:
    column = table.column("ts")
    if pa.types.is_timestamp(column.type) and column.type.unit == "ns" and column.null_count == 0:
        return column.to_numpy().view(np.int64)  # the same values as a cast, without a compute call
    return column.cast(pa.int64()).to_numpy()


def count_unsorted(ts_ns: np.ndarray) -> int:
    """Rows whose timestamp is earlier than the row before them."""
    return int(np.count_nonzero(ts_ns[1:] < ts_ns[:-1])) if len(ts_ns) > 1 else 0


def _row_masks(table: pa.Table) -> dict[str, np.ndarray]:
    """Column by column: stacking the prices into rows would copy them and make `any` walk them row-wise."""
    prices = {c: _column(table, c).astype(np.float64, copy=False) for c in PRICE_COLUMNS}
    volume = _column(table, "volume").astype(np.float64, copy=False)
    nan_price = np.zeros(table.num_rows, dtype=bool)
    inf_price = np.zeros(table.num_rows, dtype=bool)
    nonpositive = np.zeros(table.num_rows, dtype=bool)
    with np.errstate(invalid="ignore"):
        for column in prices.values():
            nan_price |= np.isnan(column)
            inf_price |= np.isinf(column)
            nonpositive |= column <= 0
        return {
            "nan_price": nan_price,
            "inf_price": inf_price,
            "nonpositive_price": nonpositive,
            "high_below_low": prices["high"] < prices["low"],
            "negative_volume": volume < 0,
            "nan_volume": np.isnan(volume),
            "inf_volume": np.isinf(volume),
        }


def _all_good(table: pa.Table) -> bool:
    """Whether no row is bad, in a few passes (a NaN fails every comparison, and a finite high >= low > 0
    bounds low): the common case, which needs neither the counts by reason nor a filtered copy."""
    ts = _ts_ns(table)
    if len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        return False
    low, high = _column(table, "low"), _column(table, "high")
    good = low > 0
    good &= high >= low
    good &= high < np.inf
    for name in ("open", "close"):
        column = _column(table, name)
        good &= column > 0
        good &= column < np.inf
    volume = _column(table, "volume")
    good &= volume >= 0
    good &= volume < np.inf
    return bool(good.all())


def flag_bad_bars(table: pa.Table) -> BadBarCounts:
    """Count the bad rows of a bar table (columns ts, open, high, low, close, volume) in its current order."""
    if table.num_rows == 0:
        return BadBarCounts()
    ts = _ts_ns(table)
    masks = _row_masks(table)
    unsorted = count_unsorted(ts)
    return BadBarCounts(
        unsorted=unsorted,
        duplicate=int(np.count_nonzero(ts[1:] == ts[:-1])) if unsorted == 0 else len(ts) - len(np.unique(ts)),
        **{name: int(np.count_nonzero(mask)) for name, mask in masks.items()},
    )


@dataclass(frozen=True)
class FlaggedRows:
    """The open times (int64 ns UTC) of a table's bad rows, by reason, as `flag_bad_bars` counts them.

    A session day's counts can so be given as they stood at a moment: `closed_by` counts only the rows whose
    bar had closed by then, so a bad bar later in the day is not known before it closes.
    """

    times: dict[str, np.ndarray]

    def counts(self) -> dict[str, int]:
        """Every row flagged, by reason (the reasons with none left out)."""
        return {reason: len(ts) for reason, ts in self.times.items() if len(ts)}

    def closed_by(self, at_ns: int, step_ns: int) -> dict[str, int]:
        """The rows flagged among the bars closed by `at_ns` (open + `step_ns` at or before it), by reason."""
        counts = {reason: int(np.count_nonzero(ts + step_ns <= at_ns)) for reason, ts in self.times.items()}
        return {reason: n for reason, n in counts.items() if n}


def flagged_rows(table: pa.Table) -> FlaggedRows:
    """Where `flag_bad_bars` finds its rows: each reason's rows by open time (a duplicate is each row beyond
    the first of its timestamp, an unsorted row one earlier than the row before it)."""
    if table.num_rows == 0 or _all_good(table):
        return FlaggedRows({})
    ts = _ts_ns(table)
    ordered = np.sort(ts, kind="stable")
    times = {
        "unsorted": ts[1:][ts[1:] < ts[:-1]],
        "duplicate": ordered[1:][ordered[1:] == ordered[:-1]],
        **{name: ts[mask] for name, mask in _row_masks(table).items()},
    }
    return FlaggedRows({reason: ts for reason, ts in times.items() if len(ts)})


def clean_bars(table: pa.Table) -> tuple[pa.Table, BadBarCounts]:
    """The usable rows, sorted by ts, one per timestamp (the last given wins), and the counts of what was wrong.

    Dropped: rows with a NaN, infinite or non-positive price, high < low, a negative, NaN or infinite volume,
    and all but the last row of each duplicated timestamp.
    """
    if table.num_rows == 0 or _all_good(table):
        return table, BadBarCounts()
    counts = flag_bad_bars(table)
    if counts.total == 0:
        return table, counts
    ts = _ts_ns(table)
    bad = np.zeros(len(ts), dtype=bool)
    for mask in _row_masks(table).values():
        bad |= mask
    good = np.flatnonzero(~bad)
    order = good[np.argsort(ts[good], kind="stable")]
    ts_sorted = ts[order]
    last_of_ts = np.ones(len(order), dtype=bool)
    last_of_ts[:-1] = ts_sorted[1:] != ts_sorted[:-1]
    return table.take(pa.array(order[last_of_ts])), counts


@dataclass(frozen=True)
class DayCheck:
    """`data check`'s figures for one symbol and day of base (1m) bars.

    rows counts every stored row of the day (pre- and post-market and bad rows included); session_rows the
    rows inside the regular session; outside_session the rest. expected, quality and gaps measure the
    usable bars (after `clean_bars`) against the calendar; quality is None on a day that is not a session.
    """

    symbol: str
    day: date
    rows: int
    session_rows: int
    expected: int
    quality: float | None
    gaps: tuple[Gap, ...]
    outside_session: int
    bad: BadBarCounts

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "date": self.day.isoformat(),
            "rows": self.rows,
            "session_rows": self.session_rows,
            "expected": self.expected,
            "quality": self.quality,
            "gaps": [gap.as_dict() for gap in self.gaps],
            "outside_session": self.outside_session,
            "bad": self.bad.as_dict(),
        }


def check_day(store: BarStore, symbol: str, day: date, interval: Interval | str = "1m") -> DayCheck:
    """Check one symbol-day of the store against its calendar (CorruptDataError if its file is unreadable)."""
    calendar = store.calendar
    table = store.read_days(symbol, interval, [day]).table
    bad = flag_bad_bars(table)
    bad = BadBarCounts(**{**asdict(bad), "unsorted": bad.unsorted + store.recorded_unsorted(symbol, interval, day)})
    ts = _ts_ns(table) if table.num_rows else np.empty(0, np.int64)
    if not calendar.is_session(day):
        return DayCheck(symbol, day, len(ts), 0, 0, None, (), len(ts), bad)
    open_ns, close_ns = calendar.open_close_ns(day)
    session_rows = int(np.count_nonzero((ts >= open_ns) & (ts < close_ns)))
    clean, _ = clean_bars(table)
    report = session_quality(_ts_ns(clean) if clean.num_rows else ts[:0], calendar, day, interval)
    return DayCheck(
        symbol, day, len(ts), session_rows, report.expected, report.quality, report.gaps, len(ts) - session_rows, bad
    )
