"""`daytape data bars`: a symbol's bars of any interval over a date range, with indicator columns.

Rows are the regular-session bars of the sessions in the range (`--extended` adds the pre- and post-market
base bars), derived from the stored base bars the same way the session derives them; indicators are computed
over the rows shown, from the first one on. CSV (the default) or JSON, on stdout.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

import typer

from daytape.commands import UsageCommand
from daytape.commands.calendar import check_date_range, parse_date_option
from daytape.commands.data import data_app, open_store, parse_interval, parse_symbol
from daytape.errors import UserError
from daytape.output import print_json, stderr
from marketdata.errors import MarketDataError
from specs.intervals import Interval

if TYPE_CHECKING:
    import numpy as np

    from marketdata.bars import SessionBars
    from marketdata.calendar import TradingCalendar
    from marketdata.store import BarStore
    from specs.indicators import IndicatorSpec

BAR_COLUMNS = ("open", "high", "low", "close", "volume")
FORMATS = ("csv", "json")


def parse_indicators(keys: list[str], interval: Interval) -> list[IndicatorSpec]:
    """The --indicator keys as specs; each must be of the interval shown."""
    from specs.indicators import IndicatorSpec, IndicatorSpecError

    specs = []
    for key in keys:
        try:
            spec = IndicatorSpec.parse_key(key)
        except IndicatorSpecError as exc:
            raise UserError(f"--indicator: {exc}") from None
        if spec.interval != interval:
            raise UserError(
                f"--indicator {key}: its interval {spec.interval} is not the bars' --interval {interval}; "
                f"ask for {spec.key.removesuffix(str(spec.interval))}{interval}"
            )
        specs.append(spec)
    return specs


def load_bars(store: BarStore, symbol: str, interval: Interval, sessions: list[date], extended: bool) -> SessionBars:
    """The bars to show: derived from the stored base bars (cleaned of bad rows) of those sessions."""
    from marketdata.bars import SessionBars
    from marketdata.checks import clean_bars
    from marketdata.derive import derive_sessions

    calendar = store.calendar
    base = interval.base
    if base not in store.intervals(symbol):
        held = ", ".join(str(i) for i in store.intervals(symbol)) or "none"
        raise UserError(
            f"{symbol} has no {base} bars in the store {store.location} (it has: {held}); {interval} bars need them"
        )
    read = store.read_days(symbol, base, sessions)
    table, bad = clean_bars(read.table)
    if bad.total:
        reasons = ", ".join(f"{count} {name}" for name, count in bad.as_dict().items() if count and name != "total")
        stderr.print(f"{symbol}: left out bad bars ({reasons})", markup=False)
    if read.missing_days:
        stderr.print(f"{symbol}: no {base} bars on {', '.join(d.isoformat() for d in read.missing_days)}", markup=False)
    raw = SessionBars.from_table(table, base, calendar)
    if extended:
        return raw
    return derive_sessions(raw, interval, calendar, sessions)


def rows(bars: SessionBars, columns: dict[str, np.ndarray]) -> Iterator[dict[str, object]]:
    """One dict per bar: ts (bar open, UTC ISO 8601), the bar's prices and volume, the indicator columns."""
    from marketdata.timestamps import utc_datetime

    values = {name: getattr(bars, name).tolist() for name in BAR_COLUMNS}
    values.update({name: column.tolist() for name, column in columns.items()})
    for i, ts in enumerate(bars.ts.tolist()):
        row: dict[str, object] = {"ts": utc_datetime(ts).isoformat()}
        for name, column in values.items():
            value = column[i]
            row[name] = None if math.isnan(value) else value
        yield row


def write_csv(header: list[str], records: Iterator[dict[str, object]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    for record in records:
        writer.writerow(["" if record[name] is None else record[name] for name in header])
    sys.stdout.flush()


def _sessions(calendar: TradingCalendar, start: date, end: date) -> list[date]:
    try:
        return calendar.sessions(start, end)
    except MarketDataError as exc:
        raise UserError(f"--from/--to: {exc}") from None


def bars_command(
    store: str = typer.Option(..., "--store", metavar="DIR|URL", help="The bar store folder or s3://BUCKET/PREFIX."),
    symbol: str = typer.Option(..., "--symbol", metavar="SYMBOL", help="The symbol."),
    interval: str = typer.Option(
        ..., "--interval", metavar="INTERVAL", help="A base (1m, 1s, 1d) or derived (5m, 1h, 1w, ...) interval."
    ),
    from_: str = typer.Option(..., "--from", metavar="DATE", help="First session, YYYY-MM-DD."),
    to: str = typer.Option(..., "--to", metavar="DATE", help="Last session, YYYY-MM-DD (inclusive)."),
    indicator: list[str] = typer.Option(
        [], "--indicator", metavar="KEY", help="An indicator key of the same interval (rsi_14_5m); repeat for more."
    ),
    extended: bool = typer.Option(False, "--extended", help="Add pre- and post-market bars (intraday base only)."),
    output_format: str = typer.Option("csv", "--format", metavar="FORMAT", help="csv or json."),
) -> None:
    """Bars of SYMBOL over the sessions from --from to --to, with one column per indicator output.

    \b
    Example:
      daytape data bars --store ./lean-store --symbol SPY --interval 5m --from 2013-10-08 --to 2013-10-08 \\
        --indicator rsi_14_5m --format json
    """
    from marketdata.indicators import IndicatorError, compute_columns

    if output_format not in FORMATS:
        raise UserError(f"--format: {output_format!r} is not one of {', '.join(FORMATS)}")
    start, end = parse_date_option(from_, "--from"), parse_date_option(to, "--to")
    check_date_range(start, end)
    wanted = parse_interval(interval)
    if extended and not (wanted.is_base and wanted.is_intraday):
        raise UserError(
            f"--extended: pre- and post-market bars exist for intraday base intervals (1m, 1s), not {wanted}"
        )
    specs = parse_indicators(indicator, wanted)
    bar_store = open_store(store)
    try:
        name = bar_store.require_symbol(parse_symbol(symbol))
        sessions = _sessions(bar_store.calendar, start, end)
        bars = load_bars(bar_store, name, wanted, sessions, extended)
        columns = compute_columns(specs, bars, bar_store.calendar)
    except (MarketDataError, IndicatorError) as exc:
        raise UserError(str(exc)) from None
    header = ["ts", *BAR_COLUMNS, *columns]
    if output_format == "json":
        print_json(list(rows(bars, columns)))
    else:
        write_csv(header, rows(bars, columns))


def register(app: typer.Typer) -> None:
    """Attach `bars` to the `data` group (which daytape.commands.data puts on the app)."""
    if not any(command.name == "bars" for command in data_app.registered_commands):
        data_app.command("bars", cls=UsageCommand)(bars_command)
