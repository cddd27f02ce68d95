"""Importers: LEAN trade zips and plain CSV files into the bar store.

Both parse with pyarrow's CSV reader (fast); when it refuses a file, the file is scanned line by line to
name the first bad line, so an error always reads `FILE:LINE: problem`. Bars are written as given (the
store sorts them and keeps pre- and post-market bars); bad bars are counted in the report, and kept for
`data check` to count again.

LEAN (see its equity readme): `equity/usa/minute/<sym>/<yyyymmdd>_trade.zip` holds one header-less CSV of
`ms since midnight New York time (bar start), open, high, low, close, volume`, prices in 1/10000 dollar;
`equity/usa/daily/<sym>.zip` holds `yyyymmdd 00:00, open, high, low, close, volume` in the same units, stored
as interval 1d with ts = the session date at 00:00 New York time, in UTC. Local times become UTC through the
time-zone database row by row, so days on either side of a daylight-saving change get their own offset.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from marketdata.calendar import TradingCalendar
from marketdata.checks import BadBarCounts, flag_bad_bars
from marketdata.errors import DataImportError
from marketdata.store import BAR_COLUMNS, BAR_SCHEMA, BarStore, require_stored_interval
from specs.config import normalize_symbol
from specs.intervals import Interval

#: LEAN's US equity files are in New York time whatever the calendar.
LEAN_TZ = "America/New_York"
LEAN_PRICE_SCALE = 10_000.0
_MINUTE_FILE = re.compile(r"^(\d{8})_trade\.zip$")
_NS_PER_MS = 1_000_000
_PRICES = ("open", "high", "low", "close")

#: Checks one CSV row (its fields) and returns the problem, or None when the row is fine.
_LineCheck = Callable[[list[str]], "str | None"]


@dataclass
class ImportReport:
    """What an import wrote: files read, rows written per symbol and interval, and the bad bars among them."""

    files: int = 0
    rows: int = 0
    written: dict[str, dict[str, int]] = field(default_factory=dict)
    days: dict[str, dict[str, int]] = field(default_factory=dict)
    bad: BadBarCounts = field(default_factory=BadBarCounts)
    #: Source files not imported (path, why): each file is imported whole or not at all.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, symbol: str, interval: Interval, rows: int, days: int, bad: BadBarCounts) -> None:
        key = str(interval)
        written, days_seen = self.written.setdefault(symbol, {}), self.days.setdefault(symbol, {})
        written[key] = written.get(key, 0) + rows
        days_seen[key] = days_seen.get(key, 0) + days
        self.rows += rows
        self.bad = self.bad + bad

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "rows": self.rows,
            "symbols": {
                symbol: {iv: {"rows": rows, "days": self.days[symbol][iv]} for iv, rows in intervals.items()}
                for symbol, intervals in sorted(self.written.items())
            },
            "bad": self.bad.as_dict(),
            "skipped": [{"file": path, "problem": problem} for path, problem in self.skipped],
        }


# -- CSV parsing with line numbers on failure ------------------------------------------------------------


def _parse_csv(
    data: bytes,
    source: str,
    column_types: dict[str, pa.DataType],
    *,
    header: list[str] | None,
    line_check: _LineCheck,
) -> pa.Table:
    """Parse with pyarrow; `header` is the file's (already checked) header row, None for header-less files."""
    names = list(column_types)
    read = pacsv.ReadOptions(column_names=header or names, skip_rows=1 if header else 0)
    # no null values: an empty field is a bad line (a missing price), not a silent null
    convert = pacsv.ConvertOptions(
        column_types=column_types, include_columns=names, null_values=[], strings_can_be_null=False
    )
    try:
        return pacsv.read_csv(io.BytesIO(data), read_options=read, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        _raise_first_bad_line(data, source, header is not None, line_check)
        raise DataImportError(f"{source}: {exc}") from None


def _raise_first_bad_line(data: bytes, source: str, header: bool, line_check: _LineCheck) -> None:
    text = data.decode("utf-8", errors="replace")
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        if header:
            next(rows, None)
        for row in rows:
            if not row:
                continue
            problem = line_check(row)
            if problem:
                raise DataImportError(f"{source}:{rows.line_num}: {problem}")
    except csv.Error as exc:
        raise DataImportError(f"{source}:{rows.line_num}: {exc}") from None


def _number_problem(row: list[str], fields: Iterable[tuple[int, str]]) -> str | None:
    for index, name in fields:
        try:
            float(row[index])
        except ValueError:
            return f"{name} {row[index].strip()!r} is not a number"
    return None


# -- LEAN ---------------------------------------------------------------------------------------------------


def _find_usa_equity(root: Path) -> Path:
    """`equity/usa` of LEAN's data layout: ROOT may be `equity/usa` itself, `equity`, the data folder
    that holds `equity` (`lean`, LEAN's `Data`), or the folder above that. Nothing else is walked."""
    if not root.exists():
        raise DataImportError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataImportError(f"{root}: not a folder")
    candidates = [root / "equity" / "usa", root / "usa", root]
    candidates += [child / "equity" / "usa" for child in sorted(root.iterdir()) if child.is_dir()]
    for candidate in candidates:
        if candidate.name == "usa" and candidate.parent.name == "equity" and candidate.is_dir():
            return candidate
    raise DataImportError(f"{root}: no LEAN equity data (equity/usa/minute or equity/usa/daily) under it")


def _read_zip_member(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise DataImportError(f"{path}: expected one CSV file in the zip, found {len(names)}")
            return archive.read(names[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataImportError(f"{path}: unreadable zip: {exc}") from None


def _yyyymmdd(text: str) -> date:
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"{text!r} is not yyyymmdd")
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _file_day(path: Path, text: str) -> date:
    try:
        return _yyyymmdd(text)
    except ValueError as exc:
        raise DataImportError(f"{path}: the file name's date: {exc}") from None


def _lean_minute_check(row: list[str]) -> str | None:
    if len(row) != 6:
        return f"expected 6 fields (ms, open, high, low, close, volume), got {len(row)}"
    if not row[0].strip().isdigit():
        return f"ms since midnight {row[0].strip()!r} is not a whole number"
    return _number_problem(row, enumerate(("ms", *_PRICES, "volume")))


def _lean_daily_check(row: list[str]) -> str | None:
    if len(row) != 6:
        return f"expected 6 fields (date, open, high, low, close, volume), got {len(row)}"
    try:
        _yyyymmdd(row[0].strip()[:8])
    except ValueError:
        return f"date {row[0].strip()!r} is not yyyymmdd 00:00"
    return _number_problem(row, list(enumerate(("date", *_PRICES, "volume")))[1:])


def _localize(local_naive: pa.Array, tz: str, source: str) -> pa.Array:
    try:
        return pc.assume_timezone(local_naive, timezone=tz, ambiguous="raise", nonexistent="raise").cast(
            BAR_SCHEMA.field("ts").type
        )
    except pa.ArrowInvalid as exc:
        raise DataImportError(f"{source}: {exc}".splitlines()[0]) from None


def _lean_bars(ts_local: pa.Array, raw: pa.Table, source: str) -> pa.Table:
    prices = [pc.divide(raw.column(name).cast(pa.float64()), LEAN_PRICE_SCALE) for name in _PRICES]
    volume = raw.column("volume").cast(pa.float64())
    ts = _localize(ts_local, LEAN_TZ, source)
    return pa.Table.from_arrays([ts, *prices, volume], schema=BAR_SCHEMA)


def read_lean_minute_zip(path: Path, day: date) -> pa.Table:
    """One LEAN minute trade zip as bars (UTC, dollars), pre- and post-market included."""
    types = {"ms": pa.int64(), **{p: pa.float64() for p in _PRICES}, "volume": pa.float64()}
    raw = _parse_csv(_read_zip_member(path), str(path), types, header=None, line_check=_lean_minute_check)
    midnight = np.datetime64(day, "ns").astype(np.int64)
    local = pa.array(midnight + raw.column("ms").to_numpy() * _NS_PER_MS, type=pa.int64()).cast(pa.timestamp("ns"))
    return _lean_bars(local, raw, str(path))


def read_lean_daily_zip(path: Path) -> pa.Table:
    """A LEAN daily trade zip as 1d bars with ts = the session date at 00:00 New York time, in UTC."""
    types = {"date": pa.string(), **{p: pa.float64() for p in _PRICES}, "volume": pa.float64()}
    raw = _parse_csv(_read_zip_member(path), str(path), types, header=None, line_check=_lean_daily_check)
    try:
        local = pc.strptime(pc.utf8_slice_codeunits(raw.column("date"), 0, 8), format="%Y%m%d", unit="ns")
    except pa.ArrowInvalid:
        _raise_first_bad_line(_read_zip_member(path), str(path), False, _lean_daily_check)
        raise
    return _lean_bars(local, raw, str(path))


def _wanted_symbols(symbols: Iterable[str] | None, available: dict[str, Any], base: Path) -> list[str]:
    if symbols is None:
        return sorted(available)
    wanted = [normalize_symbol(s) for s in symbols]
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise DataImportError(f"unknown symbol(s) {', '.join(unknown)}: no LEAN minute or daily data under {base}")
    return wanted


def import_lean(
    root: str | Path,
    store: BarStore,
    symbols: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import every LEAN minute and daily trade zip under `root` (or only those of `symbols`).

    Each zip is imported whole or not at all: one that cannot be read is left out, named in
    `report.skipped` with its problem, and the others are imported.
    """
    base = _find_usa_equity(Path(root))
    minute_dirs = {p.name.upper(): p for p in sorted((base / "minute").glob("*")) if p.is_dir()}
    daily_zips = {p.stem.upper(): p for p in sorted((base / "daily").glob("*.zip"))}
    if not minute_dirs and not daily_zips:
        raise DataImportError(f"{base}: no LEAN minute or daily trade zips under it")
    report = ImportReport()

    def skip(path: Path, exc: DataImportError) -> None:
        report.skipped.append((str(path), str(exc)))
        if progress:
            progress(f"skipped {exc}")

    for symbol in _wanted_symbols(symbols, {**minute_dirs, **daily_zips}, base):
        if symbol in minute_dirs:
            tables = []
            for path in sorted(minute_dirs[symbol].iterdir()):
                match = _MINUTE_FILE.match(path.name)
                if match is None:
                    continue
                try:
                    tables.append(read_lean_minute_zip(path, _file_day(path, match.group(1))))
                except DataImportError as exc:
                    skip(path, exc)
            if tables:
                _write(store, symbol, Interval("1m"), tables, report)
                if progress:
                    progress(f"{symbol} 1m: {len(tables)} days")
        if symbol in daily_zips:
            try:
                daily = read_lean_daily_zip(daily_zips[symbol])
            except DataImportError as exc:
                skip(daily_zips[symbol], exc)
            else:
                _write(store, symbol, Interval("1d"), [daily], report)
                if progress:
                    progress(f"{symbol} 1d")
    return report


def _write(store: BarStore, symbol: str, interval: Interval, tables: list[pa.Table], report: ImportReport) -> None:
    bad = BadBarCounts()
    for table in tables:
        bad = bad + flag_bad_bars(table)
    table = pa.concat_tables(tables)
    rows = store.write(symbol, interval, table)
    days = len(np.unique(store.local_days(table.column("ts").cast(pa.int64()).to_numpy())))
    report.files += len(tables)
    report.add(symbol, interval, rows, days, bad)


# -- plain CSV ------------------------------------------------------------------------------------------------


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataImportError(f"unknown time zone {tz!r}: use an IANA name such as America/New_York or UTC") from None


def _csv_line_check(
    zone: ZoneInfo, aware: bool, columns: list[str], calendar: TradingCalendar | None = None
) -> _LineCheck:
    positions = {name: columns.index(name) for name in BAR_COLUMNS}

    def check(row: list[str]) -> str | None:
        if len(row) != len(columns):
            return f"expected {len(columns)} fields ({','.join(columns)}), got {len(row)}"
        text = row[positions["ts"]].strip()
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            return f"ts {text!r} is not an ISO 8601 time"
        if (ts.tzinfo is not None) != aware:
            return f"ts {text!r} {'lacks' if aware else 'has'} a UTC offset, unlike the first row"
        if not aware:
            local = ts.replace(tzinfo=zone)
            if local.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None) != ts:
                return f"ts {text!r} does not exist in {zone.key} (skipped by a daylight-saving change)"
            if local.utcoffset() != local.replace(fold=1).utcoffset():
                return f"ts {text!r} is ambiguous in {zone.key} (repeated by a daylight-saving change); give offsets"
        if calendar is not None:
            day = (ts if aware else ts.replace(tzinfo=zone)).astimezone(calendar.tz).date()
            if not calendar.first_session <= day <= calendar.last_session:
                return (
                    f"ts {text!r} is outside the {calendar.exchange} calendar's range "
                    f"{calendar.first_session.isoformat()}..{calendar.last_session.isoformat()}"
                )
        return _number_problem(row, [(positions[name], name) for name in BAR_COLUMNS[1:]])

    return check


def _csv_header(data: bytes, path: Path) -> list[str]:
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip().lstrip("\ufeff")
    if not first:
        raise DataImportError(f"{path}:1: empty file; expected the header {','.join(BAR_COLUMNS)}")
    columns = [c.strip().strip('"') for c in first.split(",")]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise DataImportError(f"{path}:1: header repeats {', '.join(repeated)}")
    missing = [c for c in BAR_COLUMNS if c not in columns]
    if missing:
        raise DataImportError(
            f"{path}:1: header lacks {', '.join(missing)}; expected {','.join(BAR_COLUMNS)}, got {first!r}"
        )
    return columns


def read_bars_csv(path: str | Path, tz: str, calendar: TradingCalendar | None = None) -> pa.Table:
    """A CSV with header `ts,open,high,low,close,volume` as bars; naive ts are local times in `tz`.

    With a `calendar`, a bar outside its range of sessions is a bad line: nothing could read it (and
    past 2037 pyarrow's time-zone rules are not the tz database's, so its UTC time would be wrong)."""
    path = Path(path)
    zone = _zone(tz)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataImportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    columns = _csv_header(data, path)
    rows = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    try:
        next(rows, None)
        first_row = next(rows, None)
    except csv.Error:
        first_row = None  # the parse below names the line
    aware = False
    if first_row and len(first_row) == len(columns):
        try:
            aware = datetime.fromisoformat(first_row[columns.index("ts")].strip()).tzinfo is not None
        except ValueError:
            aware = False
    check = _csv_line_check(zone, aware, columns)
    types = {"ts": pa.string(), **{name: pa.float64() for name in BAR_COLUMNS[1:]}}
    raw = _parse_csv(data, str(path), types, header=columns, line_check=check)
    try:
        if aware:
            ts = raw.column("ts").cast(BAR_SCHEMA.field("ts").type)
        else:
            ts = pc.assume_timezone(
                raw.column("ts").cast(pa.timestamp("ns")), timezone=zone.key, ambiguous="raise", nonexistent="raise"
            ).cast(BAR_SCHEMA.field("ts").type)
    except pa.ArrowInvalid as exc:
        _raise_first_bad_line(data, str(path), True, check)
        raise DataImportError(f"{path}: {str(exc).splitlines()[0]}") from None
    table = pa.Table.from_arrays([ts, *(raw.column(name) for name in BAR_COLUMNS[1:])], schema=BAR_SCHEMA)
    if calendar is not None and table.num_rows:
        ns = table.column("ts").cast(pa.int64()).to_numpy()
        lowest, highest = (
            calendar.local_date(np.datetime64(int(value), "ns").astype("datetime64[us]").item())
            for value in (ns.min(), ns.max())
        )
        if lowest < calendar.first_session or highest > calendar.last_session:
            _raise_first_bad_line(data, str(path), True, _csv_line_check(zone, aware, columns, calendar))
            raise DataImportError(
                f"{path}: bars from {lowest} to {highest} reach outside the {calendar.exchange} calendar's range "
                f"{calendar.first_session.isoformat()}..{calendar.last_session.isoformat()}"
            )
    return table


def import_csv(path: str | Path, symbol: str, interval: Interval | str, tz: str, store: BarStore) -> ImportReport:
    """Import one CSV of bars for `symbol` at `interval` (a base interval: 1s, 1m or 1d) into the store."""
    interval = require_stored_interval(interval)
    symbol = normalize_symbol(symbol)
    table = read_bars_csv(path, tz, store.calendar)
    report = ImportReport()
    _write(store, symbol, interval, [table], report)
    return report
