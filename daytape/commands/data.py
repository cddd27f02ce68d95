"""`daytape data import-lean | import-csv | check`: filling the bar store and checking what is in it.

`data_app` is the `data` group; other modules (e.g. `daytape.commands.bars`) add their commands to it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import typer

from daytape.commands import UsageCommand
from daytape.commands.calendar import check_date_range, parse_date_option
from daytape.errors import CheckFailed, UserError
from daytape.output import print_json, stderr, stdout
from marketdata.errors import MarketDataError
from specs.intervals import Interval, IntervalError
from specs.symbols import normalize_symbol

if TYPE_CHECKING:
    from marketdata.checks import DayCheck
    from marketdata.importers import ImportReport
    from marketdata.store import BarStore

data_app = typer.Typer(help="The Parquet bar store: import bars, check them, show them.", no_args_is_help=True)

BASE_INTERVAL = Interval("1m")


def open_store(location: str, *, create: bool = False) -> BarStore:
    """The store at `location` (a folder, or a URL such as s3://bucket/prefix); UserError naming what is
    wrong if it cannot be read: a folder that is missing (unless `create`: the first write makes it, so an
    import that fails leaves no folder behind) or not a folder, a bad URL, a missing bucket, refused
    credentials."""
    from marketdata.calendar import get_calendar
    from marketdata.store import BarStore, StoreLocationError

    try:
        store = BarStore(location, get_calendar())
        store.check(create=create)
    except StoreLocationError as exc:
        raise UserError(f"--store: {exc}") from None
    return store


def parse_symbol(value: str, option: str = "--symbol") -> str:

    try:
        return normalize_symbol(value)
    except ValueError as exc:
        raise UserError(f"{option}: {exc}") from None


def parse_interval(value: str) -> Interval:
    try:
        return Interval(value)
    except IntervalError as exc:
        raise UserError(f"--interval: {exc}") from None


def _print_import(report: ImportReport, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        print_json(report.as_dict())
        return
    table = Table(title=f"imported {report.rows} rows from {report.files} files")
    for column in ("symbol", "interval", "rows", "days"):
        table.add_column(column)
    for symbol, intervals in sorted(report.written.items()):
        for interval, rows in intervals.items():
            table.add_row(symbol, interval, str(rows), str(report.days[symbol][interval]))
    stdout.print(table)
    if report.bad.total:
        stderr.print(f"bad bars imported (kept for `data check`): {_reasons(report.bad.as_dict())}", markup=False)


def _reasons(bad: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in bad.items() if count and name != "total")


@data_app.command("import-lean", cls=UsageCommand)
def import_lean_command(
    root: str = typer.Argument(
        ..., metavar="ROOT", help="The LEAN data folder (`lean`, or any folder above `equity/`)."
    ),
    store: str = typer.Option(
        ..., "--store", metavar="DIR|URL", help="The bar store folder (created if missing) or s3://BUCKET/PREFIX."
    ),
    symbols: str | None = typer.Option(
        None, "--symbols", metavar="SYMBOLS", help="Comma-separated symbols (default: all found)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was imported as JSON."),
) -> None:
    """Import LEAN minute and daily trade zips (pre- and post-market bars kept).

    \b
    Example:
      daytape data import-lean ../shared/data/lean --store ./lean-store --symbols SPY,IBM
    """
    from marketdata.importers import import_lean

    wanted = None
    if symbols is not None:
        wanted = [parse_symbol(s.strip(), "--symbols") for s in symbols.split(",") if s.strip()]
        if not wanted:
            raise UserError(f"--symbols {symbols!r}: no symbols; give comma-separated tickers such as SPY,IBM")
    bar_store = open_store(store, create=True)
    try:
        report = import_lean(root, bar_store, wanted, progress=lambda line: stderr.print(line, markup=False))
    except MarketDataError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"--store {store}: cannot write: {exc.strerror or exc}") from None
    _print_import(report, as_json)
    if report.skipped:
        first = report.skipped[0][1]
        more = f"; and {len(report.skipped) - 1} more (listed above)" if len(report.skipped) > 1 else ""
        raise UserError(f"import-lean: {len(report.skipped)} file(s) not imported: {first}{more}")


@data_app.command("import-csv", cls=UsageCommand)
def import_csv_command(
    file: str = typer.Argument(..., metavar="FILE", help="CSV with header ts,open,high,low,close,volume."),
    symbol: str = typer.Option(..., "--symbol", metavar="SYMBOL", help="The symbol the bars belong to."),
    interval: str = typer.Option(
        ...,
        "--interval",
        metavar="INTERVAL",
        help="The bars' interval: 1m, 1d or 1s (the store derives 5m, 1h, 1w, ... from these).",
    ),
    tz: str = typer.Option(
        ..., "--tz", metavar="TZ", help="Time zone of timestamps without an offset, e.g. America/New_York."
    ),
    store: str = typer.Option(
        ..., "--store", metavar="DIR|URL", help="The bar store folder (created if missing) or s3://BUCKET/PREFIX."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was imported as JSON."),
) -> None:
    """Import one CSV of bars; timestamps are bar open times, local to --tz unless they carry an offset.

    \b
    Example:
      daytape data import-csv spy.csv --symbol SPY --interval 1m --tz America/New_York --store ./store
    """
    from marketdata.importers import import_csv
    from marketdata.store import require_stored_interval

    sym, iv = parse_symbol(symbol), parse_interval(interval)
    try:
        require_stored_interval(iv)
    except MarketDataError as exc:
        raise UserError(f"--interval: {exc}") from None
    bar_store = open_store(store, create=True)
    try:
        report = import_csv(file, sym, iv, tz, bar_store)
    except MarketDataError as exc:
        message = str(exc)
        raise UserError(f"--tz: {message}" if message.startswith("unknown time zone") else message) from None
    except OSError as exc:
        raise UserError(f"--store {store}: cannot write: {exc.strerror or exc}") from None
    _print_import(report, as_json)


def _days_to_check(bar_store: BarStore, symbol: str, start: date | None, end: date | None) -> list[date]:
    """Days with data in the range, plus every session of an explicitly given range (missing days show up)."""
    days = bar_store.days(symbol, BASE_INTERVAL)
    chosen = {d for d in days if (start is None or d >= start) and (end is None or d <= end)}
    if start is not None and end is not None:
        chosen.update(bar_store.calendar.sessions(start, end))
    return sorted(chosen)


def run_checks(bar_store: BarStore, symbols: list[str], start: date | None, end: date | None) -> list[DayCheck]:
    from marketdata.checks import check_day

    checks = []
    for symbol in symbols:
        for day in _days_to_check(bar_store, symbol, start, end):
            checks.append(check_day(bar_store, symbol, day, BASE_INTERVAL))
    return checks


def _print_checks(checks: list[DayCheck]) -> None:
    from rich.table import Table

    table = Table(title="data check (1m)")
    for column in ("symbol", "date", "rows", "session", "expected", "quality", "gaps", "missing", "outside", "bad"):
        table.add_column(column, justify="left" if column in ("symbol", "date", "bad") else "right")
    for c in checks:
        table.add_row(
            c.symbol,
            c.day.isoformat(),
            str(c.rows),
            str(c.session_rows),
            str(c.expected),
            "-" if c.quality is None else f"{c.quality:.1%}",
            str(len(c.gaps)),
            str(sum(g.missing for g in c.gaps)),
            str(c.outside_session),
            _reasons(c.bad.as_dict()) or "-",
        )
    stdout.print(table)
    for c in checks:
        if c.bad.total:
            stdout.print(
                f"bad bars in {c.symbol} {c.day.isoformat()}: {_reasons(c.bad.as_dict())} "
                "(flagged: a run leaves them out, and they lower the day's quality)",
                markup=False,
            )


@data_app.command("check", cls=UsageCommand)
def check_command(
    store: str = typer.Option(..., "--store", metavar="DIR|URL", help="The bar store folder or s3://BUCKET/PREFIX."),
    symbol: str | None = typer.Option(
        None, "--symbol", metavar="SYMBOL", help="Only this symbol (default: every symbol with 1m bars)."
    ),
    from_: str | None = typer.Option(None, "--from", metavar="DATE", help="First date, YYYY-MM-DD."),
    to: str | None = typer.Option(None, "--to", metavar="DATE", help="Last date, YYYY-MM-DD (inclusive)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON document."),
) -> None:
    """Per symbol and day of 1m bars: rows, regular-session coverage, gaps, and bad bars.

    With --from and --to every session of the range is listed, so days without data show up.
    Exit 1 when bad bars (unsorted, duplicate, NaN, infinite or non-positive price, high < low, negative, NaN or
    infinite volume) are found; the table (stdout) names them too.

    \b
    Example:
      daytape data check --store ./lean-store --symbol SPY --from 2013-10-07 --to 2013-10-11
    """
    start = parse_date_option(from_, "--from") if from_ is not None else None
    end = parse_date_option(to, "--to") if to is not None else None
    check_date_range(start, end)
    bar_store = open_store(store)
    try:
        symbols = [bar_store.require_symbol(parse_symbol(symbol))] if symbol else bar_store.symbols(BASE_INTERVAL)
        checks = run_checks(bar_store, symbols, start, end)
    except MarketDataError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print_json([c.as_dict() for c in checks])
    else:
        _print_checks(checks)
    bad = [c for c in checks if c.bad.total]
    if bad:
        shown = "; ".join(f"{c.symbol} {c.day}: {_reasons(c.bad.as_dict())}" for c in bad[:5])
        more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise CheckFailed(f"bad bars in {len(bad)} symbol-day(s): {shown}{more}")


def register(app: typer.Typer) -> None:
    if not any(group.typer_instance is data_app for group in app.registered_groups):
        app.add_typer(data_app, name="data")
