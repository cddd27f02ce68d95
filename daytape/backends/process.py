"""The process backend: the run's days in a pool of worker processes on this machine (`--workers N`).

Each worker runs one stretch of consecutive days (`worker.day_chunks`), so a worker pays its first day's
trailing history once. The pool forks: the workers inherit the parent's imported modules (spawn would
import pyarrow, SQLAlchemy and the calendars again in every worker, seconds of start-up), with the
parent's objects frozen out of the garbage collector first, so that a worker's collections do not touch,
and so copy, the pages of every object it inherited.
"""

from __future__ import annotations

import datetime as dt
import gc
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
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    results: dict[dt.date, DayResult] = {}
    stop = context.RawValue("b", 0)
    if method == "fork":
        gc.freeze()
    try:
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
    finally:
        gc.unfreeze()
    return [results[d] for d in days]
