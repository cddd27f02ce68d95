"""The process backend: the run's days in a pool of worker processes on this machine (`--workers N`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from daytape import interrupt
from daytape.backends import refuse_scheduler
from daytape.backends.worker import collect, day_chunks, run_days_in_worker
from daytape.day import DayResult

if TYPE_CHECKING:
    from daytape.runner import RunOptions
    from eventlog.store import EventStore
    from specs.config import SessionConfig

RANK = 1


def check(workers: int, scheduler: str | None) -> None:
    refuse_scheduler("process", scheduler)


def run(
    log: EventStore, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
) -> list[DayResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    log_url, config_json = log.url, config.model_dump_json()
    # fork: workers inherit the imported modules (spawn would re-import pyarrow, SQLAlchemy, the calendars
    # in every worker, seconds of start-up); each worker opens its own store and log connection.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    results: dict[dt.date, DayResult] = {}
    stop = context.RawValue("b", 0)
    pool = ProcessPoolExecutor(
        max_workers=options.workers, mp_context=context, initializer=interrupt.init_worker, initargs=(stop,)
    )
    with interrupt.sharing_with_workers(stop):
        try:
            futures = [
                pool.submit(run_days_in_worker, config_json, log_url, run_id, [d.isoformat() for d in chunk])
                for chunk in day_chunks(days, options.workers)
            ]
            for future in as_completed(futures):
                collect(future.result(), results, options)
        except interrupt.Interrupted:
            stop.value = 1
            if interrupt.forced():
                for worker in multiprocessing.active_children():
                    worker.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return [results[d] for d in days]
