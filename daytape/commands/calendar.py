"""`daytape calendar [--exchange X] --from D --to D [--json]`: the exchange's sessions, opens and closes.

Open and close are printed in exchange time with their UTC offset (`2015-12-24T13:00:00-05:00`).
The date helpers here are shared by the other commands that take `--from/--to`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import typer

from daytape.commands import UsageCommand
from daytape.errors import UserError
from daytape.output import print_json, stdout
from marketdata.errors import CalendarError

if TYPE_CHECKING:
    from marketdata.calendar import TradingCalendar


def parse_date_option(value: str, option: str) -> date:
    """A `YYYY-MM-DD` option value; UserError naming the option and the value otherwise."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def check_date_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and start > end:
        raise UserError(f"--from {start.isoformat()} is after --to {end.isoformat()}")


def load_calendar(exchange: str) -> TradingCalendar:
    from marketdata.calendar import get_calendar

    try:
        return get_calendar(exchange)
    except CalendarError as exc:
        raise UserError(f"--exchange: {exc}") from None


def session_rows(calendar: TradingCalendar, start: date, end: date) -> list[dict[str, object]]:
    try:
        days = calendar.sessions(start, end)
    except CalendarError as exc:
        raise UserError(str(exc)) from None
    return [
        {
            "date": day.isoformat(),
            "open": calendar.open(day).astimezone(calendar.tz).isoformat(),
            "close": calendar.close(day).astimezone(calendar.tz).isoformat(),
            "early_close": calendar.is_early_close(day),
        }
        for day in days
    ]


def register(app: typer.Typer) -> None:
    @app.command("calendar", cls=UsageCommand)
    def calendar_command(
        exchange: str = typer.Option(
            "XNYS", "--exchange", metavar="CODE", help="An exchange_calendars code (--exchange XLON)."
        ),
        from_: str = typer.Option(..., "--from", metavar="DATE", help="First date, YYYY-MM-DD."),
        to: str = typer.Option(..., "--to", metavar="DATE", help="Last date, YYYY-MM-DD (inclusive)."),
        as_json: bool = typer.Option(False, "--json", help="Print the sessions as one JSON document."),
    ) -> None:
        """The sessions between two dates: open, close (exchange time) and early closes.

        \b
        Example:
          daytape calendar --exchange XNYS --from 2015-12-21 --to 2015-12-31
        """
        from rich.table import Table

        start, end = parse_date_option(from_, "--from"), parse_date_option(to, "--to")
        check_date_range(start, end)
        calendar = load_calendar(exchange)
        rows = session_rows(calendar, start, end)
        if as_json:
            print_json(rows)
            return
        table = Table(title=f"{calendar.exchange} sessions {start} .. {end} ({calendar.tz.key})")
        for column in ("date", "open", "close", "early close"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                str(row["date"]),
                str(row["open"])[11:16],
                str(row["close"])[11:16],
                "yes" if row["early_close"] else "",
            )
        stdout.print(table)
