"""The serial backend: the run's days one after another in this process, sharing one bar cache."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from daytape.backends import refuse_scheduler
from daytape.day import DayResult, run_day, run_store
from daytape.errors import UserError
from eventlog.sink import RunSink

if TYPE_CHECKING:
    from daytape.runner import RunOptions
    from eventlog.store import EventStore
    from specs.config import SessionConfig

RANK = 0


def check(workers: int, scheduler: str | None) -> None:
    if workers != 1:
        raise UserError(
            f"--workers {workers}: the serial executor runs one day at a time; "
            "add --executor process (or dask) to run days in parallel"
        )
    refuse_scheduler("serial", scheduler)


def run(
    log: EventStore, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
) -> list[DayResult]:
    store = run_store(config, days)
    sink = RunSink(log, run_id)
    results = []
    for day in days:
        result = run_day(config, store, sink, day, options.progress)
        results.append(result)
        if options.on_day_done is not None:
            options.on_day_done(result)
    return results
