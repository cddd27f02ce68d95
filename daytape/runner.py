"""A whole run: check it, record it, run its days on a backend, finish and seal it.

Days share nothing (daytape.day), so a run can run its days serially, in a process pool or on a Dask
cluster (daytape.backends, picked by `--executor`) and write the same events, and `--resume`
(daytape.resume) can redo an unfinished day from its start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from daytape import interrupt
from daytape.backends import check_backend_options, get_backend
from daytape.datascope import DataScope, run_scope
from daytape.day import DayResult, StepProgress, build_plugins
from daytape.errors import UserError
from daytape.provenance import code_version
from eventlog.errors import LogWriteFailed
from eventlog.manifest import RunManifest
from eventlog.store import EventStore
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.store import BarStore, StoreLocationError
from specs.config import SessionConfig
from specs.messages import one_line
from specs.status import DayStatus, RunStatus


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: RunStatus
    sessions: list[DayResult]
    #: a resume that found every session finished and the run's status already final, and wrote nothing
    nothing_to_resume: bool = False
    #: The run's seal (eventlog.seal), stored when it ended.
    seal: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "sessions": [s.as_json() for s in self.sessions],
            "seal": self.seal,
        }


def session_dates(config: SessionConfig, calendar: TradingCalendar) -> list[dt.date]:
    days = calendar.sessions(config.start, config.end)
    if not days:
        raise UserError(f"no {config.exchange} sessions between {config.start} and {config.end}")
    return days


@dataclass
class RunOptions:
    workers: int = 1
    #: the run backend (daytape.backends), named by `--executor`
    backend: str = "serial"
    scheduler: str | None = None
    progress: StepProgress | None = None
    on_day_done: Callable[[DayResult], None] | None = None
    #: Called once with the days about to run (a progress display's total).
    on_days: Callable[[list[dt.date]], None] | None = None


def effective_config(config: SessionConfig, start: dt.date | None, end: dt.date | None) -> SessionConfig:
    """The config with `--from/--to` applied: what the run records and what `verify` re-runs."""
    update: dict[str, Any] = {}
    if start is not None:
        update["start"] = start
    if end is not None:
        update["end"] = end
    if not update:
        return config
    try:
        return SessionConfig.model_validate({**config.model_dump(), **update})
    except ValidationError as exc:
        raise UserError(f"--from/--to: {one_line(exc)}") from None


def store_folder(config: SessionConfig) -> str:
    """The config's bar store (a folder or a store URL); UserError when it cannot be read: a missing folder
    or not a folder, a bad URL, a missing bucket or prefix, refused credentials, no server."""
    try:
        BarStore(config.store).check()
    except StoreLocationError as exc:
        raise UserError(f"store: {exc}") from None
    return config.store


def check_options(options: RunOptions) -> None:
    """The backend flags (`--executor`, `--workers`, `--scheduler`), checked before a run is recorded."""
    check_backend_options(options.backend, options.workers, options.scheduler)


def check_run(config: SessionConfig, options: RunOptions) -> list[dt.date]:
    """Everything a run checks before its first session, done before a run (or a log) is made: the
    backend flags, the exchange's sessions in the range, the bar store and the plugins; returns the days."""
    check_options(options)
    days = session_dates(config, get_calendar(config.exchange))
    store_folder(config)
    build_plugins(config)
    return days


def run_manifest(
    config: SessionConfig, seed: int | None = None, name: str | None = None, scope: DataScope | None = None
) -> RunManifest:
    """What a run of `config` records it was made from: its config, data digest (over `scope`, else the
    files the run reads, hashed now: daytape.datascope), code version and seed."""
    if scope is None:
        calendar = get_calendar(config.exchange)
        store_folder(config)
        try:
            scope = run_scope(config, calendar, session_dates(config, calendar))
        except StoreLocationError as exc:
            raise UserError(f"store: {exc}") from None
    return RunManifest(
        name=config.name if name is None else name,
        config_json=json.dumps(config.to_yaml_dict(), sort_keys=True),
        data_digest=scope.digest,
        data_scope=scope.as_json(),
        code_version=code_version(),
        seed=seed,
    )


def start_run(
    log: EventStore,
    config: SessionConfig,
    seed: int | None = None,
    name: str | None = None,
    scope: DataScope | None = None,
) -> str:
    return log.create_run(run_manifest(config, seed, name, scope))


def execute_run(
    log: EventStore, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
) -> list[DayResult]:
    """Run `days` of an existing run with the chosen backend; each day writes its own stream."""
    if options.on_days is not None:
        options.on_days(days)
    backend = get_backend("serial" if not days else options.backend)
    return backend.run(log, run_id, config, days, options)


def mark_stopped(log: EventStore, run_id: str, exc: BaseException) -> None:
    """Record why a run stopped before its end: `interrupted` by a signal, else `aborted`. When the log
    itself failed, this write may fail too: the run then stays `running`, which `--resume` finishes alike."""
    with contextlib.suppress(LogWriteFailed):
        log.finish_run(run_id, RunStatus.INTERRUPTED if isinstance(exc, interrupt.Interrupted) else RunStatus.ABORTED)


def run_status(results: list[DayResult]) -> RunStatus:
    ok = results and all(r.status == DayStatus.ENDED for r in results)
    return RunStatus.COMPLETED if ok else RunStatus.FAILED


def run_session(
    log: EventStore,
    config: SessionConfig,
    options: RunOptions,
    on_started: Callable[[str], None] | None = None,
    name: str | None = None,
    scope: DataScope | None = None,
) -> RunResult:
    """A new run of `config` over its sessions (named `name`, else the config's name); `scope` is its data
    digest when the caller has just taken it (`verify`), else it is taken now."""
    days = check_run(config, options)
    run_id = start_run(log, config, name=name, scope=scope)
    if on_started is not None:
        on_started(run_id)
    try:
        results = execute_run(log, run_id, config, days, options)
    except BaseException as exc:
        mark_stopped(log, run_id, exc)
        raise
    status = run_status(results)
    seal = log.finish_run(run_id, status)
    return RunResult(run_id, status, results, seal=seal)
