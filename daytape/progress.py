"""What a run says on stderr while it runs: one progress display for the whole run, and a line per day.

The display (sessions done of total, the current day and its step, elapsed time and an estimate of the time
left) is drawn only when stderr is a terminal: a pipe or a CI log gets no redrawn lines. A line per finished
day is written only when asked (`--verbose`); `--quiet` turns both off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from daytape.output import stderr

if TYPE_CHECKING:
    from rich.progress import Progress

    from daytape.day import DayResult
    from daytape.runner import RunOptions


def day_line(day: DayResult) -> str:
    """One finished day: `2013-10-09 ended: 4 symbols, rejected: NOPE (no 1m bars in the store)`."""
    detail = f"{len(day.symbols)} symbols"
    if day.rejected:
        detail += f", rejected: {', '.join(f'{s} ({why})' for s, why in day.rejected.items())}"
    if day.failed:
        detail += f", failed: {', '.join(f'{s} ({why})' for s, why in day.failed.items())}"
    if day.error:
        detail += f", {day.error}"
    return f"{day.date} {day.status}: {detail}"


def _display() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("sessions"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TextColumn("{task.fields[current]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
        expand=False,
    )


@contextmanager
def run_progress(enabled: bool, verbose: bool = False) -> Iterator[RunOptions]:
    """RunOptions whose callbacks drive the display (when `enabled` and stderr is a terminal) and, with
    `verbose`, write a line per finished day."""
    from daytape.runner import RunOptions

    display = _display() if enabled and stderr.is_terminal else None
    if display is None:

        def print_day(result: DayResult) -> None:
            stderr.print(day_line(result), markup=False, highlight=False)

        yield RunOptions(on_day_done=print_day if enabled and verbose else None)
        return
    task = display.add_task("sessions", total=None, current="starting")
    finished = 0

    def on_days(days: list[dt.date]) -> None:
        display.update(task, total=len(days), completed=0)

    def on_step(day: dt.date, done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            display.update(task, completed=finished + done / total, current=f"{day} step {done}/{total}")

    def on_day_done(result: DayResult) -> None:
        nonlocal finished
        finished += 1
        display.update(task, completed=finished, current=f"{result.date} {result.status}")
        if verbose:
            display.console.print(day_line(result), markup=False, highlight=False)

    with display:
        yield RunOptions(progress=on_step, on_day_done=on_day_done, on_days=on_days)
