"""The Parquet bar store.

Layout under the root, one dataset per interval, partitioned by symbol, then by exchange-local day or year:

    <root>/<interval>/symbol=<SYM>/<YYYY-MM-DD>.parquet     intraday intervals (1s, 1m, ...): one file per day
    <root>/<interval>/symbol=<SYM>/<YYYY>.parquet           day and week intervals (1d, 1w): one file per year

A day is the exchange's calendar date (America/New_York for XNYS), so a session's pre- and post-market
bars live in the session's file. Reading a symbol's range opens only that symbol's files of those days,
and the list of days is a directory listing. Daily bars have ts = the session date at 00:00 exchange
time, in UTC; they are few, so a file per year keeps the file count down (listing their days reads the
small ts column).

Every file has exactly `BAR_SCHEMA`: ts (bar open time, UTC, ns), open, high, low, close, volume as float64,
sorted by ts. Writes are atomic (a temporary file renamed into place). Bars are stored as given apart from
the sort: bad bars are kept for `data check` to count (see `marketdata.checks`); the number of rows that
arrived out of order is kept in the file's metadata under `daytape.unsorted_rows`.

Symbols are upper case in the store.

The root may also be a URL (`s3://bucket/prefix`, `file:///path`; see `marketdata.objectstore`): an object
store holds the same files under the same keys, read and written through pyarrow's filesystem layer, so
workers on other machines read the same bars. A local folder keeps its direct reads (no filesystem layer).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path, PurePath, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.errors import CorruptDataError, MarketDataError, UnknownSymbolError
from marketdata.objectstore import Location, explain, parse_location
from marketdata.objectstore import StoreLocationError as StoreLocationError  # re-exported: the store names its errors
from marketdata.objectstore import is_url as is_url  # re-exported: whether a store location is a URL
from marketdata.timestamps import as_ns, local_days
from specs.config import normalize_symbol
from specs.intervals import Interval, IntervalError

BAR_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
    ]
)
BAR_COLUMNS = tuple(BAR_SCHEMA.names)
UNSORTED_KEY = b"daytape.unsorted_rows"

_READ_THREADS = min(8, os.cpu_count() or 1)
_PARALLEL_FROM = 16  # below this many files a thread pool costs more than it saves


#: What `files_digest` takes for a file that does not exist (no sha256 is all zeros in practice).
ABSENT_FILE = bytes(32)


def files_digest(entries: Iterable[tuple[str, bytes | None]]) -> str:
    """sha256 over (relative path, sha256 of the file's bytes) pairs in the order given, a file that does
    not exist counted as ABSENT_FILE: the store's digest over all its files, or a run's over what it reads."""
    digest = hashlib.sha256()
    for relative, content in entries:
        digest.update(relative.encode())
        digest.update(b"\0")
        digest.update(ABSENT_FILE if content is None else content)
    return digest.hexdigest()


class BarTableError(MarketDataError, ValueError):
    """A table handed to the store that is not a bar table (missing or unconvertible columns)."""


class UnstorableIntervalError(MarketDataError, ValueError):
    """Bars of an interval the store does not keep (anything but a base interval)."""


def require_stored_interval(interval: Interval | str) -> Interval:
    """`interval` if the store keeps it. Only base intervals (1s, 1m, 1d) are stored: everything else is
    derived from its base when read, so stored 5m or 1h bars would be bars that nothing reads."""
    interval = Interval(interval)
    if not interval.is_base:
        raise UnstorableIntervalError(
            f"{interval} bars cannot be stored: the store keeps base intervals (1s, 1m, 1d) and derives "
            f"{interval} from {interval.base} when it is read; import {interval.base} bars instead"
        )
    return interval


@dataclass(frozen=True)
class BarRead:
    """What a read found: the bars (sorted by ts), the sessions asked for that have no data, the files read,
    for an intraday read how many rows of the table came from each of them, and how many rows each file
    recorded as written out of order (`recorded_unsorted`, from the same open of the file), in file order."""

    table: pa.Table
    missing_days: list[date] = field(default_factory=list)
    files: list[PurePath] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    unsorted: list[int] = field(default_factory=list)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def conform_bars(table: pa.Table) -> pa.Table:
    """`table` with exactly BAR_SCHEMA's columns and types; a naive ts is taken as UTC."""
    missing = [name for name in BAR_COLUMNS if name not in table.column_names]
    if missing:
        raise BarTableError(f"bar table lacks column(s) {', '.join(missing)}; needs {', '.join(BAR_COLUMNS)}")
    columns = []
    for target in BAR_SCHEMA:
        column = table.column(target.name)
        if target.name == "ts" and pa.types.is_timestamp(column.type) and column.type.tz is None:
            column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
        try:
            columns.append(column.cast(target.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise BarTableError(f"bar column {target.name!r} ({column.type}) is not {target.type}: {exc}") from None
    return pa.Table.from_arrays(columns, schema=BAR_SCHEMA)


def _read_file(path: PurePath, filesystem: pafs.FileSystem | None = None) -> pa.Table:
    try:
        if filesystem is None:
            # ParquetFile without pre-buffering reads a small file several times faster than pq.read_table, and
            # an OSFile opened here (and closed at once) saves pyarrow resolving a filesystem for every file
            with pa.OSFile(str(path)) as source:
                table = pq.ParquetFile(source, pre_buffer=False).read(use_threads=False)
        else:
            # an object is fetched whole in one request, then decoded from memory
            with filesystem.open_input_stream(str(path)) as stream:
                data = stream.readall()
            table = pq.ParquetFile(pa.BufferReader(data), pre_buffer=False).read(use_threads=False)
    except (OSError, pa.ArrowException) as exc:
        raise CorruptDataError(f"{path}: unreadable Parquet file: {exc}") from None
    if not table.schema.equals(BAR_SCHEMA, check_metadata=False):
        got = ", ".join(f"{f.name} {f.type}" for f in table.schema)
        raise CorruptDataError(
            f"{path}: not a bar file: columns are ({got}), expected ts timestamp[ns, tz=UTC] "
            "and float64 open, high, low, close, volume"
        )
    return table


def read_bar_files(paths: Sequence[PurePath], filesystem: pafs.FileSystem | None = None) -> pa.Table:
    """Read bar files in the order given into one table; CorruptDataError names a bad file.

    Each column comes back as one contiguous chunk, the one copy a read makes, so that `to_numpy` on it is
    free for every consumer after this (clean_bars, SessionBars.from_table). Those chunks are what a loaded
    history keeps for the whole session, so they come from the system allocator: in arrow's default pool
    they would sit among the decoder's short-lived buffers and hold their pages (about 7% more RSS for 500
    symbols x 30 sessions). Many small files are read on a shared thread pool (the Parquet decoding
    releases the GIL) in one run of consecutive files per thread, the calling thread reading the first run
    itself: a task per file costs more in hand-offs than the second core gains.
    """
    return _read_bar_files(paths, filesystem)[0]


def _unsorted_of(path: PurePath, metadata: dict[bytes, bytes] | None) -> int:
    """The rows a file recorded as written out of order (its `daytape.unsorted_rows` metadata, 0 without)."""
    value = (metadata or {}).get(UNSORTED_KEY, b"0")
    try:
        return int(value)
    except ValueError:
        raise CorruptDataError(f"{path}: bad {UNSORTED_KEY.decode()} metadata {value!r}") from None


def _read_bar_files(
    paths: Sequence[PurePath], filesystem: pafs.FileSystem | None = None
) -> tuple[pa.Table, list[int], list[int]]:
    """`read_bar_files`' table, the number of rows each file gave and the rows each recorded as unsorted."""
    if not paths:
        return BAR_SCHEMA.empty_table(), [], []
    if len(paths) < _PARALLEL_FROM or _READ_THREADS == 1:
        tables = _read_run(paths, filesystem)
    else:
        size = -(-len(paths) // _READ_THREADS)
        runs = [paths[i : i + size] for i in range(0, len(paths), size)]
        pending = [_pool(os.getpid()).submit(_read_run, run, filesystem) for run in runs[1:]]
        tables = _read_run(runs[0], filesystem)  # this thread reads a run too rather than wait idle
        tables += [table for future in pending for table in future.result()]
    unsorted = [_unsorted_of(path, t.schema.metadata) for path, t in zip(paths, tables, strict=True)]
    # concat_tables ignores the files' metadata (daytape.unsorted_rows); it is dropped once here, not per file
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    table = table.combine_chunks(memory_pool=pa.system_memory_pool()).replace_schema_metadata(None)
    return table, [t.num_rows for t in tables], unsorted


def _read_run(paths: Sequence[PurePath], filesystem: pafs.FileSystem | None = None) -> list[pa.Table]:
    return [_read_file(p, filesystem) for p in paths]


@lru_cache(maxsize=1)
def _pool(pid: int) -> ThreadPoolExecutor:
    """One reader pool per process: a pool inherited through fork has no threads and would hang."""
    return ThreadPoolExecutor(max_workers=_READ_THREADS, thread_name_prefix="barstore-read")


class BarStore:
    """Bars by symbol, interval and time, in Parquet files under `root` (see the module docstring for the layout)."""

    def __init__(self, root: str | Path, calendar: TradingCalendar | None = None) -> None:
        self._where: Location = parse_location(root)
        self._fs = self._where.filesystem
        #: the folder, or the object store's `bucket/prefix` (file paths are made under it either way)
        self.root: PurePath = Path(self._where.base) if self._fs is None else PurePosixPath(self._where.base)
        #: what messages and the log name: the folder's path or the store's URL
        self.location = str(self.root) if self._fs is None else self._where.url
        self._calendar = calendar

    def __repr__(self) -> str:
        return f"BarStore({self.location!r})"

    @property
    def is_local(self) -> bool:
        return self._fs is None

    # -- the filesystem ------------------------------------------------------------------------------

    def _remote_error(self, exc: OSError) -> StoreLocationError:
        return StoreLocationError(explain(self._where, exc))

    def _entries(self, directory: PurePath) -> dict[str, bool]:
        """The names in `directory` (True for a sub-folder); empty when it does not exist."""
        if self._fs is None:
            try:
                with os.scandir(directory) as entries:
                    return {entry.name: entry.is_dir() for entry in entries}
            except (FileNotFoundError, NotADirectoryError):
                return {}
        try:
            infos = self._fs.get_file_info(pafs.FileSelector(str(directory), allow_not_found=True))
        except OSError as exc:
            raise self._remote_error(exc) from None
        return {PurePosixPath(info.path).name: info.type == pafs.FileType.Directory for info in infos}

    def _is_file(self, path: PurePath) -> bool:
        if self._fs is None:
            return Path(path).is_file()
        try:
            return bool(self._fs.get_file_info(str(path)).type == pafs.FileType.File)
        except OSError as exc:
            raise self._remote_error(exc) from None

    def check(self, *, create: bool = False) -> None:
        """StoreLocationError naming what is wrong unless the store can be read (or, with `create`, written):
        a folder that exists (or may be made), an object store whose bucket answers with something under the
        prefix (or, with `create`, a bucket that exists)."""
        if self._fs is None:
            path = Path(self.root)
            if path.exists() and not path.is_dir():
                raise StoreLocationError(f"{self.location}: not a folder")
            if not path.exists() and not create:
                raise StoreLocationError(f"{self.location}: no such folder")
            return
        try:
            # listing (not a HEAD) names a missing bucket and refused credentials in its error
            found = bool(self._fs.get_file_info(pafs.FileSelector(str(self.root), allow_not_found=False)))
        except FileNotFoundError:
            found = False
        except OSError as exc:
            raise self._remote_error(exc) from None
        if not found and not create:
            raise StoreLocationError(f"{self.location}: nothing stored under this prefix (no bars there)")

    def digest(self) -> str:
        """sha256 over every file of the store (relative path and the sha256 of its bytes), in path order:
        the same for the same files wherever the store lives, and changed by any change to the data."""
        return files_digest(self._all_file_digests())

    def relative(self, path: PurePath) -> str:
        """`path` (a file of this store) relative to its root, with `/` between its parts."""
        return PurePath(path).relative_to(self.root).as_posix()

    def file_digests(self, relatives: Sequence[str]) -> list[bytes | None]:
        """The sha256 of each file named relative to the root, None for one that does not exist; read on the
        store's thread pool (hashing releases the GIL)."""
        if self._fs is None:
            root = Path(self.root)

            def local_digest(relative: str) -> bytes | None:
                try:
                    return hashlib.sha256((root / relative).read_bytes()).digest()
                except (FileNotFoundError, NotADirectoryError):
                    return None

            return list(_pool(os.getpid()).map(local_digest, relatives))
        fs, base = self._fs, str(self.root)

        def remote_digest(relative: str) -> bytes | None:
            try:
                with fs.open_input_stream(f"{base}/{relative}") as stream:
                    return hashlib.sha256(stream.readall()).digest()
            except FileNotFoundError:
                return None

        try:
            return list(_pool(os.getpid()).map(remote_digest, relatives))
        except OSError as exc:
            raise self._remote_error(exc) from None

    def _all_file_digests(self) -> list[tuple[str, bytes | None]]:
        if self._fs is None:
            root = Path(self.root)
            return [
                (str(path.relative_to(root)), hashlib.sha256(path.read_bytes()).digest())
                for path in sorted(p for p in root.rglob("*") if p.is_file())
            ]
        fs, base = self._fs, str(self.root)
        try:
            infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        except OSError as exc:
            raise self._remote_error(exc) from None
        paths = sorted(
            (info.path[len(base) + 1 :] for info in infos if info.type == pafs.FileType.File),
            key=lambda path: PurePosixPath(path).parts,  # the order a local folder's paths sort in
        )
        return list(zip(paths, self.file_digests(paths), strict=True))

    @property
    def calendar(self) -> TradingCalendar:
        """The exchange whose local dates name the files and whose sessions define `missing_days` (XNYS)."""
        if self._calendar is None:
            self._calendar = get_calendar()
        return self._calendar

    # -- paths ---------------------------------------------------------------------------------------

    def symbol_dir(self, symbol: str, interval: Interval | str) -> PurePath:
        return self.root / str(Interval(interval)) / f"symbol={normalize_symbol(symbol)}"

    def day_file(self, symbol: str, interval: Interval | str, day: date) -> PurePath:
        """The file that holds (or would hold) `day`'s bars."""
        interval = Interval(interval)
        name = day.isoformat() if interval.is_intraday else f"{day.year:04d}"
        return self.symbol_dir(symbol, interval) / f"{name}.parquet"

    def _files(self, symbol: str, interval: Interval) -> list[PurePath]:
        directory = self.symbol_dir(symbol, interval)
        entries = self._entries(directory)
        return sorted(
            directory / name
            for name, is_dir in entries.items()
            if not is_dir and PurePosixPath(name).suffix == ".parquet"
        )

    # -- writing -------------------------------------------------------------------------------------

    def local_days(self, ts_ns: np.ndarray) -> np.ndarray:
        """The exchange-local date of each timestamp, as days since 1970-01-01."""
        return local_days(ts_ns, self.calendar)

    def write(self, symbol: str, interval: Interval | str, table: pa.Table, *, replace: bool = True) -> int:
        """Write bars, merging them into the files of their days; returns the number of rows given.

        With `replace` (the default) a new row replaces a stored row with the same ts; without it the stored
        row stays. Rows within `table` are kept as given (duplicates included) and sorted stably by ts.
        Only base intervals are stored (`require_stored_interval`).
        """
        interval = require_stored_interval(interval)
        symbol = normalize_symbol(symbol)
        table = conform_bars(table)
        if table.num_rows == 0:
            return 0
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        arrived_late = np.zeros(len(ts), dtype=bool)
        arrived_late[1:] = ts[1:] < ts[:-1]
        days = self.local_days(ts)
        keys = days if interval.is_intraday else days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
        order = np.argsort(ts, kind="stable")
        keys_sorted = keys[order]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(keys_sorted)) + 1, [len(order)]))
        for lo, hi in itertools.pairwise(starts.tolist()):
            rows = order[lo:hi]
            key_day = np.datetime64(int(days[rows[0]]), "D").item()
            path = self.day_file(symbol, interval, key_day)
            self._merge_write(path, table.take(pa.array(rows)), int(np.count_nonzero(arrived_late[rows])), replace)
        return table.num_rows

    def _merge_write(self, path: PurePath, new: pa.Table, unsorted: int, replace: bool) -> None:
        if self._is_file(path):
            try:
                old = _read_file(path, self._fs)
                old_unsorted = self._recorded_unsorted(path)
            except CorruptDataError:
                if not replace:
                    raise
                old, old_unsorted = BAR_SCHEMA.empty_table(), 0
            if old.num_rows:
                old_ts = old.column("ts").cast(pa.int64()).to_numpy()
                new_ts = new.column("ts").cast(pa.int64()).to_numpy()
                if replace:
                    old = old.filter(pa.array(~np.isin(old_ts, new_ts)))
                else:
                    new = new.filter(pa.array(~np.isin(new_ts, old_ts)))
                if old.num_rows:
                    unsorted += old_unsorted
                    merged = pa.concat_tables([old, new])
                    merged_ts = merged.column("ts").cast(pa.int64()).to_numpy()
                    new = merged.take(pa.array(np.argsort(merged_ts, kind="stable")))
        new = new.combine_chunks().replace_schema_metadata({UNSORTED_KEY: str(unsorted).encode()})
        if self._fs is not None:
            # an object store's put is atomic: readers see the old object or the new one
            sink = pa.BufferOutputStream()
            pq.write_table(new, sink, compression="snappy")
            try:
                with self._fs.open_output_stream(str(path)) as stream:
                    stream.write(sink.getvalue())
            except OSError as exc:
                raise self._remote_error(exc) from None
            return
        local = Path(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.{os.getpid()}.tmp")
        pq.write_table(new, tmp, compression="snappy")
        os.replace(tmp, local)

    # -- reading -------------------------------------------------------------------------------------

    def _recorded_unsorted(self, path: PurePath) -> int:
        try:
            metadata = pq.read_schema(str(path), filesystem=self._fs).metadata
        except (OSError, pa.ArrowException) as exc:
            raise CorruptDataError(f"{path}: unreadable Parquet file: {exc}") from None
        return _unsorted_of(path, metadata)

    def recorded_unsorted(self, symbol: str, interval: Interval | str, day: date) -> int:
        """How many rows of `day` arrived out of order when they were written (0 when there is no file)."""
        path = self.day_file(symbol, interval, day)
        return self._recorded_unsorted(path) if self._is_file(path) else 0

    def read(self, symbol: str, interval: Interval | str, start: datetime, end: datetime) -> BarRead:
        """Bars with start <= ts < end (naive datetimes are UTC); `missing_days` lists the sessions without data."""
        interval = Interval(interval)
        start_ns, end_ns = as_ns(start), as_ns(end)
        if end_ns <= start_ns:
            return BarRead(BAR_SCHEMA.empty_table())
        first = self.calendar.local_date(_utc(start))
        last = self.calendar.local_date(_utc(end) - timedelta(microseconds=1))
        wanted = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        result = self.read_days(symbol, interval, wanted)
        table = result.table
        if table.num_rows:
            ts = table.column("ts").cast(pa.int64()).to_numpy()
            lo, hi = np.searchsorted(ts, [start_ns, end_ns], "left")
            if lo > 0 or hi < len(ts):
                table = table.slice(int(lo), int(hi - lo))
        sessions = set(self._sessions_between(first, last))
        return BarRead(table, [d for d in result.missing_days if d in sessions], result.files)

    def _sessions_between(self, first: date, last: date) -> list[date]:
        calendar = self.calendar
        first, last = max(first, calendar.first_session), min(last, calendar.last_session)
        return calendar.sessions(first, last) if first <= last else []

    def read_days(self, symbol: str, interval: Interval | str, days: Iterable[date]) -> BarRead:
        """All bars of those exchange-local days (pre- and post-market included), ascending by ts."""
        interval = Interval(interval)
        days = sorted(set(days))
        if not interval.is_intraday:
            return self._read_daily(symbol, interval, days)
        directory = self.symbol_dir(symbol, interval)
        present = set(self._entries(directory))  # one listing, not a stat per day
        files: list[PurePath] = []
        missing: list[date] = []
        for day in days:
            name = f"{day.isoformat()}.parquet"
            if name in present:
                files.append(directory / name)
            else:
                missing.append(day)
        table, rows, unsorted = _read_bar_files(files, self._fs)
        return BarRead(table, missing, files, rows, unsorted)

    def _read_daily(self, symbol: str, interval: Interval, days: list[date]) -> BarRead:
        years = sorted({d.year for d in days})
        entries = self._entries(self.symbol_dir(symbol, interval))
        candidates = (self.day_file(symbol, interval, date(y, 1, 1)) for y in years)
        files = [p for p in candidates if entries.get(p.name) is False]
        table, _, unsorted = _read_bar_files(files, self._fs)
        if table.num_rows == 0:
            return BarRead(table, list(days), files, unsorted=unsorted)
        local = self.local_days(table.column("ts").cast(pa.int64()).to_numpy())
        wanted = np.array([np.datetime64(d, "D").astype(np.int64) for d in days], dtype=np.int64)
        table = table.filter(pa.array(np.isin(local, wanted)))
        present = set(np.unique(local).tolist())
        missing = [d for d, key in zip(days, wanted.tolist(), strict=True) if key not in present]
        return BarRead(table, missing, files, unsorted=unsorted)

    # -- listing -------------------------------------------------------------------------------------

    def _interval_dirs(self) -> list[tuple[Interval, PurePath]]:
        found = []
        for name, is_dir in self._entries(self.root).items():
            if not is_dir:
                continue
            try:
                found.append((Interval(name), self.root / name))
            except IntervalError:
                continue
        return sorted(found, key=lambda item: item[0])

    def symbols(self, interval: Interval | str | None = None) -> list[str]:
        """Symbols with at least one file (of `interval`, if given), sorted."""
        wanted = None if interval is None else Interval(interval)
        found: set[str] = set()
        for iv, directory in self._interval_dirs():
            if wanted is not None and iv != wanted:
                continue
            for name, is_dir in self._entries(directory).items():
                if not (is_dir and name.startswith("symbol=")):
                    continue
                if any(PurePosixPath(p).suffix == ".parquet" for p in self._entries(directory / name)):
                    found.add(name.removeprefix("symbol="))
        return sorted(found)

    def intervals(self, symbol: str) -> list[Interval]:
        return [iv for iv, _ in self._interval_dirs() if self._files(symbol, iv)]

    def has_symbol(self, symbol: str) -> bool:
        return bool(self.intervals(symbol))

    def require_symbol(self, symbol: str) -> str:
        """The store's spelling of `symbol`; UnknownSymbolError naming it and the store if it has no bars."""
        normalized = normalize_symbol(symbol)
        if not self.has_symbol(normalized):
            raise UnknownSymbolError(f"unknown symbol {normalized}: no bars for it in the store {self.location}")
        return normalized

    def days(self, symbol: str, interval: Interval | str) -> list[date]:
        """Days with data, ascending: file names for intraday intervals, the ts column of the year files otherwise."""
        interval = Interval(interval)
        files = self._files(symbol, interval)
        if interval.is_intraday:
            found = []
            for path in files:
                try:
                    found.append(date.fromisoformat(path.stem))
                except ValueError:
                    continue
            return found
        ts = np.concatenate([_read_file(p, self._fs).column("ts").cast(pa.int64()).to_numpy() for p in files] or [[]])
        return [np.datetime64(int(d), "D").item() for d in np.unique(self.local_days(ts.astype(np.int64)))]

    def coverage(self, symbol: str) -> dict[str, tuple[date, date, int]]:
        """Per interval: first day, last day, number of days."""
        result = {}
        for interval in self.intervals(symbol):
            days = self.days(symbol, interval)
            if days:
                result[str(interval)] = (days[0], days[-1], len(days))
        return result
