"""A live session day's bars as a `BarSource`: the days before it from another source, the day as it arrives.

History (warm-up, symbol checks, history quality) comes from `history`, the Parquet store or Alpaca's REST
data API as the session file's `feed.history` says. The live day's own bars are the ones held here: the
minute bars the feed delivered, put in by the live loop as the minute gate releases each step (`receive`),
corrected in place by a late bar or an updated bar. So provisioning during the day, through the same
executor as a backtest's, loads what has arrived by then: `SessionBarsLoaded` in a live day records the
symbol as subscribed, with the bars received so far (none at the open), not the day's file.

`through` is the end of the last minute stepped: the day's derived bars are given up to the last one closed
by then, never a partial one. A symbol the day did not subscribe from the open (a scanner's, mid-session)
has no received bars before its subscription: the first time it is asked for, its bars of the minutes
stepped so far come from `earlier` (the store's day file in a rehearsal, REST live), and `catch_up` fills a
minute that stepped before its first bar through the feed could arrive.

Every method takes one lock: the loop thread writes, a plugin's thread may provision.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from marketdata.aggregator import DerivedBar, IncrementalAggregator
from marketdata.bars import SessionBars, frozen
from marketdata.calendar import TradingCalendar
from marketdata.checks import FlaggedRows
from marketdata.derive import derive_bars
from marketdata.quality import HistoricalQuality
from marketdata.sources.base import BarSource, StoredDay
from marketdata.store import BAR_SCHEMA, BarStore
from marketdata.timestamps import as_ns
from specs.intervals import Interval

#: A minute bar's prices and volume: open, high, low, close, volume.
Row = tuple[float, float, float, float, float]
#: The regular-session 1m bars of a symbol with start <= ts < end, from wherever the day's earlier bars are.
EarlierBars = Callable[[str, dt.datetime, dt.datetime], SessionBars]


def rows_of(bars: SessionBars) -> dict[int, Row]:
    """The bars as {open time (ns): (open, high, low, close, volume)}."""
    columns = (bars.open.tolist(), bars.high.tolist(), bars.low.tolist(), bars.close.tolist(), bars.volume.tolist())
    return dict(zip(bars.ts.tolist(), zip(*columns, strict=True), strict=True))


def store_earlier(history: BarSource, day: dt.date) -> EarlierBars:
    """The day's earlier bars from a source's day file (a rehearsal: the store the feed plays)."""

    def read(symbol: str, start: dt.datetime, end: dt.datetime) -> SessionBars:
        stored = history.session(symbol, Interval("1m"), day)
        if stored is None:
            return SessionBars.empty()
        bars = stored.bars
        return bars[(bars.ts >= as_ns(start)) & (bars.ts < as_ns(end))]

    return read


class LiveBarSource:
    """The `BarSource` of one live day (see the module docstring)."""

    def __init__(
        self,
        history: BarSource,
        calendar: TradingCalendar,
        day: dt.date,
        earlier: EarlierBars,
        base: Interval = Interval("1m"),
    ) -> None:
        self.history_source, self.calendar, self.day, self.base = history, calendar, day, base
        self.earlier = earlier
        self.open, self.close = calendar.open(day), calendar.close(day)
        #: the end of the last minute stepped (the open before the first step)
        self.through = self.open
        self._held: dict[str, dict[int, Row]] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"LiveBarSource({self.history_source!r}, {self.day})"

    @property
    def location(self) -> str:
        return f"{self.history_source.location} (history) and the live feed ({self.day})"

    # -- what the live loop puts in ----------------------------------------------------------------------

    def hold(self, symbol: str) -> None:
        """Start holding `symbol`'s bars (a symbol subscribed from the open: nothing earlier to fetch)."""
        with self._lock:
            self._held.setdefault(symbol, {})

    def receive(self, symbol: str, ts: dt.datetime, row: Row) -> bool:
        """Hold the minute bar opening at `ts` (replacing the one held, as a correction does); whether it
        changed what was held."""
        with self._lock:
            bars = self._ensure(symbol)
            key = as_ns(ts)
            changed = bars.get(key) != row
            bars[key] = row
            return changed

    def catch_up(self, symbol: str, start: dt.datetime, end: dt.datetime) -> dict[int, Row]:
        """Fetch `symbol`'s bars start <= ts < end from `earlier` and hold those not held yet (the minutes it
        was not yet subscribed in); returns them by open time (ns)."""
        with self._lock:
            bars = self._ensure(symbol)
            got = self._fetch(symbol, start, end)
            fresh = {ts: row for ts, row in got.items() if ts not in bars}
            bars.update(fresh)
            return fresh

    def symbols(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    def received(self, symbol: str) -> SessionBars:
        """Every bar held for `symbol`, in time order (1m, regular session)."""
        with self._lock:
            held = self._held.get(symbol, {})
            times = sorted(held)
            rows = [held[t] for t in times]
        columns = np.array(rows, dtype=np.float64).reshape(len(rows), 5)
        ts = np.array(times, dtype=np.int64)
        return SessionBars.from_arrays(ts, *columns.T, interval=self.base, calendar=self.calendar)

    def _ensure(self, symbol: str) -> dict[int, Row]:
        bars = self._held.get(symbol)
        if bars is None:
            bars = self._held[symbol] = self._fetch(symbol, self.open, self.through)
        return bars

    def _fetch(self, symbol: str, start: dt.datetime, end: dt.datetime) -> dict[int, Row]:
        if end <= start:
            return {}
        return rows_of(self.earlier(symbol, start, end))

    # -- the BarSource reads ------------------------------------------------------------------------------

    def intervals(self, symbol: str) -> list[Interval]:
        return self.history_source.intervals(symbol)

    def days(self, symbol: str, interval: Interval | str) -> list[dt.date]:
        """The history's sessions, and the live day for the streamed interval (its bars arrive)."""
        days = self.history_source.days(symbol, interval)
        if Interval(interval) == self.base and self.day not in days:
            days = sorted([*days, self.day])
        return days

    def history(self, symbol: str, interval: Interval, sessions: Sequence[dt.date]) -> SessionBars:
        """The sessions' regular bars; the live day's are those received, derived ones closed by `through`."""
        sessions = list(sessions)
        if self.day not in sessions:
            return self.history_source.history(symbol, interval, sessions)
        before = [s for s in sessions if s != self.day]
        parts = [self.history_source.history(symbol, interval, before)] if before else []
        return frozen(SessionBars.concat([*parts, self.today(symbol, interval)]))

    def today(self, symbol: str, interval: Interval) -> SessionBars:
        """The live day's bars of `interval` closed by `through`, as the batch path derives them."""
        with self._lock:
            self._ensure(symbol)
            base = self.received(symbol)
            through = as_ns(self.through)
        if interval == self.base:
            return base
        bars = derive_bars(base, interval, self.calendar, self.day)
        return bars[bars.bar_close <= through]

    def session(self, symbol: str, interval: Interval, day: dt.date) -> StoredDay | None:
        if day != self.day or interval != self.base:
            return self.history_source.session(symbol, interval, day)
        with self._lock:
            self._ensure(symbol)
            bars = self.received(symbol)
        return StoredDay(frozen(bars), FlaggedRows({}), 0)

    def history_quality(
        self, symbol: str, interval: Interval, sessions: Sequence[dt.date], bars: SessionBars
    ) -> HistoricalQuality:
        return self.history_source.history_quality(symbol, interval, sessions, bars)

    def subscribe(self, symbol: str, interval: Interval, day: dt.date) -> Iterator[DerivedBar]:
        """The live day's bars of `interval` closed by `through`, in order (the ones after arrive with the
        steps); another day's from the history source."""
        if day != self.day:
            yield from self.history_source.subscribe(symbol, interval, day)
            return
        aggregator = IncrementalAggregator(interval, self.calendar, day)
        bars = self.received(symbol)
        for row in zip(bars.ts.tolist(), bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True):
            yield from aggregator.push(*row)
        yield from aggregator.advance(self.through)


@dataclass
class RecordedBars:
    """What `record_received` did with each symbol's received bars."""

    #: symbol → rows added to the store (the day's file made, or rows it lacked added)
    written: dict[str, int] = field(default_factory=dict)
    #: symbol → rows the store holds with other prices than received: the stored rows were kept
    differing: dict[str, int] = field(default_factory=dict)


def received_table(bars: SessionBars) -> pa.Table:
    ts = pa.array(bars.ts, pa.int64()).cast(BAR_SCHEMA.field("ts").type)
    columns = [ts, *(pa.array(getattr(bars, name)) for name in ("open", "high", "low", "close", "volume"))]
    return pa.Table.from_arrays(columns, schema=BAR_SCHEMA)


def record_received(store: BarStore, source: LiveBarSource) -> RecordedBars:
    """At the close: the received bars into the Parquet store, in its layout (1m, one file per symbol and day).

    The store's rows are never changed: a received bar is written only where the store has no row of its
    minute, and a stored row with other prices than the received one stays as stored (counted in
    `differing`; the received bar is on the tape). So a live day's first recording makes the day's files, a
    rehearsal on the day the store already holds writes nothing, and a later backtest reads the store's bars.
    """
    done = RecordedBars()
    for symbol in source.symbols():
        bars = source.received(symbol)
        if not len(bars):
            continue
        read = store.read_days(symbol, source.base, [source.day])
        stored: dict[int, Row] = {}
        if not read.missing_days:
            stored = rows_of(SessionBars.from_table(read.table, source.base, source.calendar))
        received = rows_of(bars)
        new = np.array([t not in stored for t in received], dtype=bool)
        differing = sum(1 for t, row in received.items() if t in stored and stored[t] != row)
        if differing:
            done.differing[symbol] = differing
        if new.any():
            store.write(symbol, source.base, received_table(bars[new]), replace=False)
            done.written[symbol] = int(new.sum())
    return done
