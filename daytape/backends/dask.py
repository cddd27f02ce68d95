"""The dask backend: the run's days on a Dask cluster (`--scheduler ADDRESS`), or on a local one of
`--workers N` processes; the log must be one every worker reaches (PostgreSQL, or SQLite on one machine)."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import TYPE_CHECKING

from daytape import interrupt
from daytape.backends.worker import collect, day_chunks, run_days_in_worker
from daytape.day import DayResult
from daytape.errors import UserError

if TYPE_CHECKING:
    from daytape.runner import RunOptions
    from eventlog.store import EventStore
    from specs.config import SessionConfig

RANK = 2
#: How long a `--scheduler` may take to answer the check made before a run starts.
SCHEDULER_TIMEOUT_S = 5


def check(workers: int, scheduler: str | None) -> None:
    """A `--scheduler` must answer now, before a run is recorded."""
    if scheduler:
        check_scheduler(scheduler)


def check_scheduler(address: str) -> None:
    """Fail fast when no Dask scheduler answers at `address`: distributed alone retries a refused
    connection for 30 s, and waits for a silent peer's handshake as long as the peer keeps the line.
    A scheduler writes its handshake as soon as it accepts a connection, so on plain TCP a peer that
    sends nothing within the timeout is not one."""
    import socket

    from distributed.comm.addressing import get_address_host_port, parse_address

    try:
        scheme, _ = parse_address(address)
        host, port = get_address_host_port(address)
    except ValueError as exc:
        raise UserError(f"--scheduler {address}: {exc}") from None
    try:
        with socket.create_connection((host, port), timeout=SCHEDULER_TIMEOUT_S) as connection:
            if scheme == "tcp" and not connection.recv(1):
                raise ConnectionResetError(0, "closed without a handshake")
    except TimeoutError:
        raise UserError(
            f"--scheduler {address}: no Dask scheduler answers there (no handshake within {SCHEDULER_TIMEOUT_S} s)"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"--scheduler {address}: no Dask scheduler answers there ({reason})") from None


def run(
    log: EventStore, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
) -> list[DayResult]:
    from dask.distributed import Client, Event, LocalCluster, wait

    log_url, config_json = log.url, config.model_dump_json()
    cluster = None
    if options.scheduler:
        client = Client(options.scheduler)
    else:
        with warnings.catch_warnings():
            # a local cluster serves its status page on whatever port is free; saying so is noise on stderr
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = LocalCluster(
                n_workers=options.workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
    results: dict[dt.date, DayResult] = {}
    try:
        slots = options.workers if cluster is not None else max(options.workers, sum(client.nthreads().values()))
        futures = [
            client.submit(run_days_in_worker, config_json, log_url, run_id, [d.isoformat() for d in chunk], pure=False)
            for chunk in day_chunks(days, slots)
        ]
        pending = set(futures)
        try:
            while pending:
                try:
                    done, pending = wait(pending, timeout=0.5, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                for future in done:
                    collect(future.result(), results, options)
                interrupt.check()
        except interrupt.Interrupted:
            # the workers stop at their next check; wait for them so that no day is still being written
            Event(interrupt.dask_stop_event_name(run_id), client=client).set()
            wait(futures)
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results[d] for d in days]
