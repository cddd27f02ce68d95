"""What the days of one run read from the bar store, read once.

The days of a run read the same data again and again: day d's trailing history is the session days
before it, which earlier days loaded as their session; every request validates against the same
directory listings; every indicator on a derived interval derives the history's bars anew. A `StoreCache`
wraps the run's `BarStore` and keeps, for that run, each listing, each session day's file as its cleaned
bars, and each day's regular-session bars per interval, so each is read or derived once.

A symbol's days are filled together: the days a request needs that the cache lacks are read with one
`read_days` (the store's thread pool reads the files), cleaned, converted and derived as one block, and
each day keeps a slice of that block, not a copy. Days of one block asked for together come back as one
slice of it, so a history loaded at once is held once. The days are only cut apart as the store's files
are: a file whose rows stray outside its own local day is read on its own, as a day alone would be.

A run that says which sessions it will run (`read_ahead`) has each symbol's following sessions read in
the same block as the days asked for (up to `READ_AHEAD` of them, while the cache is less than three
quarters full), so the days of a run are cut from a few blocks: a day's history and its session are then one slice
of a block, not a copy of pieces, and each file's cleaned bars (`day`) come from the same read. Nothing a
day sees depends on this: every session's bars, close times, flagged rows and quality are computed from
that session's file alone, as they would be without it (a block whose files are not all clean and within
their own days is cut apart and each day read again on its own; a damaged file ahead is met on its day).

It relies on the store not changing under a run (the run's manifest records the data's digest when it
starts, and `verify` re-runs against it): create one for a run, or for the days of a run one worker runs,
and never share one between runs. It answers what the store answers (a history built from per-day pieces
is the same bars: a session's bars never depend on another session's), keeps at most `max_bytes` of bars
(the days used longest ago go first; a block's memory goes with the last of its days still held, by the
cache or by a book), and serves several threads.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, TypeVar

import numpy as np

from marketdata.aggregator import DerivedBar, play_closing
from marketdata.bars import SessionBars, frozen
from marketdata.calendar import TradingCalendar
from marketdata.checks import FlaggedRows, clean_bars, flagged_rows
from marketdata.derive import derive_bars, derive_sessions
from marketdata.errors import CorruptDataError
from marketdata.quality import HistoricalQuality, QualityReport, historical_quality, session_quality
from marketdata.sources.base import MissingBarsError, StoredDay
from marketdata.store import BarStore
from marketdata.timestamps import as_ns, as_ns_array, session_bounds
from specs.intervals import Interval

#: The default bound on the bars kept: some weeks of 1m history for a few hundred symbols.
DEFAULT_MAX_BYTES = 256 << 20

#: How many of the run's following sessions a read of a symbol's days takes along (see the module docstring).
READ_AHEAD = 20

_COLUMNS = ("ts", "open", "high", "low", "close", "volume", "bar_close")
_ROW_BYTES = 8 * len(_COLUMNS)

T = TypeVar("T")


@dataclass(frozen=True)
class Piece:
    """One day's regular-session bars: rows lo:hi of a block of read-only bars derived together."""

    block: SessionBars
    lo: int
    hi: int

    @property
    def bars(self) -> SessionBars:
        return self.block[self.lo : self.hi]


def joined(pieces: Sequence[Piece]) -> SessionBars:
    """The pieces' bars one after the other: a slice of their block when they lie in it back to back."""
    if not pieces:
        return SessionBars.empty()
    first = pieces[0]
    if all(p.block is first.block and p.lo == q.hi for q, p in itertools.pairwise(pieces)):
        return first.block[first.lo : pieces[-1].hi]
    return SessionBars.concat(p.bars for p in pieces)


def _nbytes(value: object) -> int:
    if isinstance(value, StoredDay):
        return sum(getattr(value.bars, name).nbytes for name in _COLUMNS)
    if isinstance(value, Piece):
        return (value.hi - value.lo) * _ROW_BYTES
    return 0


def _split(bars: SessionBars, calendar: TradingCalendar, days: list[dt.date]) -> dict[dt.date, Piece]:
    """Regular-session bars of several sessions as one read-only block, cut at each session's open."""
    block = frozen(bars)
    opens, _ = session_bounds(calendar, days)
    cuts = [*np.searchsorted(block.ts, opens, "left").tolist()[1:], len(block)]
    los = [0, *cuts[:-1]]
    return {day: Piece(block, lo, hi) for day, lo, hi in zip(days, los, cuts, strict=True)}


class StoreCache:
    """The Parquet store as a `BarSource`: a run's view of its `BarStore` that reads and derives each thing once
    (see the module docstring)."""

    def __init__(
        self,
        store: BarStore,
        calendar: TradingCalendar,
        max_bytes: int = DEFAULT_MAX_BYTES,
        read_ahead: Iterable[dt.date] = (),
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.max_bytes = max_bytes
        self.read_ahead = sorted(set(read_ahead))
        self._listings: dict[tuple[str, ...], object] = {}
        self._bars: OrderedDict[tuple[str, str, dt.date], object] = OrderedDict()
        self._bytes = 0
        self._midnights: dict[dt.date, int] = {}
        self._bounds: dict[tuple[dt.date, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"StoreCache({self.store!r})"

    @property
    def root(self) -> PurePath:
        return self.store.root

    @property
    def location(self) -> str:
        return self.store.location

    # -- what validation asks --------------------------------------------------------------------------

    def intervals(self, symbol: str) -> list[Interval]:
        return list(self._listing(("intervals", symbol), lambda: self.store.intervals(symbol)))

    def days(self, symbol: str, interval: Interval | str) -> list[dt.date]:
        interval = Interval(interval)
        return list(self._listing(("days", symbol, str(interval)), lambda: self.store.days(symbol, interval)))

    def _listing(self, key: tuple[str, ...], read: Callable[[], Iterable[T]]) -> tuple[T, ...]:
        with self._lock:
            if key not in self._listings:
                self._listings[key] = tuple(read())
            return self._listings[key]  # type: ignore[return-value]

    # -- the BarSource reads ----------------------------------------------------------------------------

    def history(self, symbol: str, interval: Interval, sessions: Sequence[dt.date]) -> SessionBars:
        """The sessions' regular-session bars of `interval`, one after the other, read-only. Intraday ones come
        from the cache; daily and weekly ones (a file a year) are read and derived each time."""
        sessions = list(sessions)
        if not interval.is_intraday:
            read = self.store.read_days(symbol, interval.base, sessions)
            if read.missing_days:
                raise MissingBarsError(symbol, interval.base, read.missing_days)
            clean, _ = clean_bars(read.table)
            return frozen(derive_sessions(clean, interval, self.calendar, sessions))
        pieces = self.regular_days(symbol, interval, sessions)
        missing = [day for day, piece in zip(sessions, pieces, strict=True) if piece is None]
        if missing:
            raise MissingBarsError(symbol, interval.base, missing)
        return joined(pieces)  # type: ignore[arg-type]

    def session(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        """The session day's file of a base interval, cleaned (see `day`)."""
        return self.day(symbol, interval, day)

    def history_quality(
        self, symbol: str, interval: Interval, sessions: Sequence[dt.date], bars: SessionBars
    ) -> HistoricalQuality:
        """Each session's quality: per day from the cache for intraday intervals, else from `bars`."""
        if not interval.is_intraday:
            return historical_quality(bars.ts, self.calendar, list(sessions), interval)
        self.regular_days(symbol, interval, sessions)
        return HistoricalQuality(tuple(self.quality(symbol, interval, day) for day in sessions))

    def subscribe(self, symbol: str, interval: Interval, day: dt.date) -> Iterator[DerivedBar]:
        """The day's bars of an intraday `interval` as they close, played from the stored base bars in order."""
        stored = self.day(symbol, interval.base, day)
        if stored is None:
            raise MissingBarsError(symbol, interval.base, [day])
        yield from play_closing(stored.bars, interval, self.calendar, day)

    # -- what the executor reads -----------------------------------------------------------------------

    def day(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        """The day file of an intraday base interval, cleaned (for the session day: its whole file and what
        was wrong in it); None when the store has no file for the day."""
        key = (symbol, str(interval), day)
        with self._lock:
            if key not in self._bars and self.read_ahead and interval.is_base:
                self.regular_days(symbol, interval, [day])  # reads the day's block, which keeps its files' days
            return self._cached(key, lambda: self._read_day(symbol, interval, day))

    def regular(self, symbol: str, interval: Interval, day: dt.date) -> SessionBars | None:
        """The day's regular-session bars of an intraday interval (derived ones from their base's regular
        bars, as the executor derives them), read-only; None when the base has no file for the day."""
        (piece,) = self.regular_days(symbol, interval, [day])
        return None if piece is None else piece.bars

    def regular_days(self, symbol: str, interval: Interval, days: Sequence[dt.date]) -> list[Piece | None]:
        """`regular` for several session days at once, in order (see `joined`); the days not cached yet are
        read and derived together. CorruptDataError names the first unreadable file among those days."""
        kind = f"regular:{interval}"
        with self._lock:
            found: dict[dt.date, Piece | None] = {}
            for day in days:
                key = (symbol, kind, day)
                if key in self._bars:
                    self._bars.move_to_end(key)
                    found[day] = self._bars[key]  # type: ignore[assignment]
            todo = sorted(day for day in set(days) if day not in found)
            if todo:
                fill = self._fill_base if interval.is_base else self._fill
                ahead = self._ahead_of(symbol, interval, todo[-1])
                try:
                    made = fill(symbol, interval, [*todo, *ahead])
                except CorruptDataError:
                    if not ahead:
                        raise
                    made = fill(symbol, interval, todo)  # a damaged file ahead is for its own day to meet
                for day, piece in made.items():
                    self._put((symbol, kind, day), piece)
                found.update(made)
            return [found[day] for day in days]

    def _ahead_of(self, symbol: str, interval: Interval, last: dt.date) -> list[dt.date]:
        """The run's sessions after `last` to fill along with it, up to READ_AHEAD. A base interval's stop at
        the first one held (its files were read); a derived interval's are derived again with the days asked
        for, so that a history and the days after it lie in one block (deriving is cheap, copying each day's
        history is not). None once the cache is three quarters full: days read ahead would push out days
        still to be used (the quarter left holds a symbol's block many times over)."""
        if self._bytes * 4 > self.max_bytes * 3:
            return []
        start = bisect_right(self.read_ahead, last)
        ahead = self.read_ahead[start : start + READ_AHEAD]
        if not interval.is_base:
            return ahead
        kind = f"regular:{interval}"
        for count, day in enumerate(ahead):
            if (symbol, kind, day) in self._bars:
                return ahead[:count]
        return ahead

    def quality(self, symbol: str, interval: Interval, day: dt.date) -> QualityReport:
        """The day's report as `historical_quality` makes it for a history holding the day: the quality of
        the day's regular-session bars (all of them that day's, so no local dates to look up)."""
        key = (symbol, f"quality:{interval}", day)
        return self._cached(key, lambda: self._quality(symbol, interval, day))

    def _quality(self, symbol: str, interval: Interval, day: dt.date) -> QualityReport:
        bars = self.regular(symbol, interval, day)
        assert bars is not None, f"{symbol} has no {interval} bars for {day}"
        return session_quality(bars.ts, self.calendar, day, interval)

    def _read_day(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        read = self.store.read_days(symbol, interval, [day])
        if read.missing_days:
            return None
        clean, _ = clean_bars(read.table)
        bars = frozen(SessionBars.from_table(clean, interval, self.calendar))
        return StoredDay(bars, flagged_rows(read.table), read.unsorted[0])

    def _fill_base(self, symbol: str, interval: Interval, days: list[dt.date]) -> dict[dt.date, Piece | None]:
        """The days' regular bars of a base interval: from a session day already read, else read together."""
        made: dict[dt.date, Piece | None] = {}
        unread = []
        for day in days:
            key = (symbol, str(interval), day)
            stored = self._bars.get(key)
            if key in self._bars and stored is None:
                made[day] = None
            elif isinstance(stored, StoredDay):
                made.update(_split(derive_bars(stored.bars, interval, self.calendar, day), self.calendar, [day]))
            else:
                unread.append(day)
        if not unread:
            return made
        read = self.store.read_days(symbol, interval, unread)
        made.update(dict.fromkeys(read.missing_days))
        present = [day for day in unread if day not in made]
        if present and not self._in_own_days(as_ns_array(read.table.column("ts")), present, read.rows):
            offsets = np.cumsum([0, *read.rows]).tolist()
            for day, lo, hi in zip(present, offsets, offsets[1:], strict=False):
                made.update(self._derive_base(read.table.slice(lo, hi - lo), interval, [day]))
        elif present:
            clean, _ = clean_bars(read.table)
            if clean is read.table and self.read_ahead:
                made.update(self._keep_days(symbol, interval, present, read))
            else:
                made.update(self._derive_base(clean, interval, present))
        for day in read.missing_days:
            if (symbol, str(interval), day) not in self._bars:
                self._put((symbol, str(interval), day), None)
        return {day: made[day] for day in days}

    def _derive_base(self, clean: Any, interval: Interval, days: list[dt.date]) -> dict[dt.date, Piece]:
        # derive_sessions sets each bar's close itself: the table, not SessionBars.from_table (which would
        # look up every bar's session for a close time thrown away)
        return _split(derive_sessions(clean, interval, self.calendar, days), self.calendar, days)

    def _keep_days(self, symbol: str, interval: Interval, days: list[dt.date], read: Any) -> dict[dt.date, Piece]:
        """A clean block's regular pieces, keeping each file's cleaned bars as its day (`day`) on the way: the
        files lie within their own days and no row is bad, so each file's slice of the block is what
        cleaning that file alone gives, and it has no flagged rows."""
        bars = frozen(SessionBars.from_table(read.table, interval, self.calendar))
        offsets = np.cumsum([0, *read.rows]).tolist()
        for day, lo, hi, unsorted in zip(days, offsets[:-1], offsets[1:], read.unsorted, strict=True):
            key = (symbol, str(interval), day)
            if key not in self._bars:
                self._put(key, StoredDay(bars[lo:hi], FlaggedRows({}), unsorted))
        return _split(derive_sessions(bars, interval, self.calendar, days), self.calendar, days)

    def _in_own_days(self, ts: np.ndarray, days: list[dt.date], rows: list[int]) -> bool:
        """Whether every row lies within the exchange-local day of the file it came from (as the store writes
        them), which makes cleaning and deriving the files together the same as one by one."""
        starts, ends = self._day_bounds(tuple(days))
        counts = np.array(rows, dtype=np.int64)
        if len(ts) and np.all(counts > 0):  # each file's least and greatest ts, without a row-sized temporary
            offsets = np.cumsum(counts) - counts
            lows, highs = np.minimum.reduceat(ts, offsets), np.maximum.reduceat(ts, offsets)
            return bool(np.all(lows >= starts) and np.all(highs < ends))
        return bool(np.all(ts >= np.repeat(starts, counts)) and np.all(ts < np.repeat(ends, counts)))

    def _day_bounds(self, days: tuple[dt.date, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The local midnights starting and ending each day (the symbols of a run ask for the same days)."""
        if days not in self._bounds:
            starts = np.array([self._midnight(day) for day in days], dtype=np.int64)
            ends = np.array([self._midnight(day + dt.timedelta(days=1)) for day in days], dtype=np.int64)
            self._bounds[days] = (starts, ends)
        return self._bounds[days]

    def _midnight(self, day: dt.date) -> int:
        if day not in self._midnights:
            self._midnights[day] = as_ns(dt.datetime.combine(day, dt.time(), tzinfo=self.calendar.tz))
        return self._midnights[day]

    def _fill(self, symbol: str, interval: Interval, days: list[dt.date]) -> dict[dt.date, Piece | None]:
        """The days' bars of a derived interval, derived together from their base's regular bars."""
        base = dict(zip(days, self.regular_days(symbol, interval.base, days), strict=True))
        made: dict[dt.date, Piece | None] = {day: None for day, piece in base.items() if piece is None}
        present = [day for day in days if day not in made]
        if present:
            source = joined([base[day] for day in present])  # type: ignore[misc]
            made.update(_split(derive_sessions(source, interval, self.calendar, present), self.calendar, present))
        return {day: made[day] for day in days}

    def _cached(self, key: tuple[str, str, dt.date], make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._bars:
                self._bars.move_to_end(key)
                return self._bars[key]  # type: ignore[return-value]
            value = make()
            self._put(key, value)
            return value

    def _put(self, key: tuple[str, str, dt.date], value: object) -> None:
        if key in self._bars:
            self._bytes -= _nbytes(self._bars.pop(key))
        self._bars[key] = value
        self._bytes += _nbytes(value)
        while self._bytes > self.max_bytes and len(self._bars) > 1:
            _, dropped = self._bars.popitem(last=False)
            self._bytes -= _nbytes(dropped)
