"""What the parallel backends share: the days cut into chunks, and one chunk run in a worker process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from daytape import interrupt
from daytape.day import DayResult, run_day, run_store
from daytape.resume import finished_days
from eventlog.reading import streams
from eventlog.sink import RunSink
from eventlog.store import open_store
from specs.config import SessionConfig
from specs.status import DayStatus

if TYPE_CHECKING:
    from daytape.runner import RunOptions


def run_days_in_worker(config_json: str, log_url: str, run_id: str, day_isos: Sequence[str]) -> list[dict[str, Any]]:
    """Run consecutive days of a run in a worker (a pool process or a Dask worker), in order: one log
    connection and one bar cache serve them all, so each day's history is mostly days it has just read.

    A task may run twice: Dask gives the days of a worker that died to another worker, and computes a
    finished task again when the worker holding its result dies. So the days already finished in the log
    are returned as recorded, not run again, and a day the dead worker left unfinished is discarded and run
    from its start, as `--resume` does: no day is written twice."""
    config = SessionConfig.model_validate_json(config_json)
    days = [dt.date.fromisoformat(day) for day in day_isos]
    store = run_store(config, days)
    log = open_store(log_url, create=False)
    try:
        done = finished_days(log, run_id, set(days))
        for info in streams(log, run_id):
            if info.session_date in days and info.session_date not in done:
                log.delete_stream(run_id, info.session_date)
        sink = RunSink(log, run_id)
        results: list[dict[str, Any]] = []
        with interrupt.watching_dask_stop(run_id):
            try:
                for day in days:
                    results.append((done.get(day) or run_day(config, store, sink, day)).as_json())
            except interrupt.Interrupted:
                if not interrupt.in_dask_task():
                    raise
        return results  # on Dask, a stopped task returns the days it finished; the parent raises Interrupted
    finally:
        log.close()


def day_chunks(days: Sequence[dt.date], workers: int) -> list[list[dt.date]]:
    """The days cut into one run of consecutive days per worker: the days of a run share their reads (a
    day's trailing history is the days before it), and every extra run costs its first day's history
    again, more than a finer cut gains in evening out the workers (days are much alike)."""
    size = max(1, -(-len(days) // workers))
    return [list(days[i : i + size]) for i in range(0, len(days), size)]


def day_from_json(data: dict[str, Any]) -> DayResult:
    return DayResult(**{**data, "date": dt.date.fromisoformat(data["date"]), "status": DayStatus(data["status"])})


def collect(chunk: list[dict[str, Any]], results: dict[dt.date, DayResult], options: RunOptions) -> None:
    for data in chunk:
        result = day_from_json(data)
        results[result.date] = result
        if options.on_day_done is not None:
            options.on_day_done(result)
