"""The multi-day runner: one coordinator per session day, days in order or in parallel.

Days share nothing: each one gets a fresh coordinator, fresh plugins, its
own simulated clock and its own stream in the log. So a run can execute its
days serially, in a process pool or on a Dask cluster and write the same
events, and `--resume` can redo an unfinished day from its start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from daytape import interrupt
from daytape.errors import UserError
from daytape.plugins import Plugin, PluginContext, Scanner, Strategy, load_plugin
from daytape.provenance import code_changes, code_version
from eventlog.errors import LogWriteFailed, TamperedStream
from eventlog.manifest import RunManifest
from eventlog.reading import get_run, streams, verified_stream
from eventlog.replay import replay_rows
from eventlog.sink import RunSink
from eventlog.store import EventStore, open_store
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.clock import SimulatedClock
from marketdata.sources import BarSource
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore, StoreLocationError
from specs.config import SessionConfig
from specs.messages import one_line
from statemachine.coordinator import SessionCoordinator
from statemachine.export import failed_requests

EXECUTORS = ("serial", "process", "dask")
#: How long a `--scheduler` may take to answer the check made before a run starts.
SCHEDULER_TIMEOUT_S = 5
#: A step callback: (session date, steps done, steps in the day).
StepProgress = Callable[[dt.date, int, int], None]


@dataclass(frozen=True)
class DayResult:
    date: dt.date
    status: str  # ended | failed | aborted
    symbols: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    events: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        return data


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: str  # completed | failed
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


def store_digest(location: str | Path) -> str:
    """sha256 over every file of the bar store (relative path and bytes), wherever it lives (a folder or an
    object store): changes when the data does, the same for the same files (`BarStore.digest`)."""
    try:
        return BarStore(location).digest()
    except StoreLocationError as exc:
        raise UserError(f"store: {exc}") from None


def current_digest(location: str) -> str | None:
    """The store's digest now, or None when it cannot be read (gone, or its server refuses)."""
    try:
        store = BarStore(location)
        store.check()
        return store.digest()
    except StoreLocationError:
        return None


def build_plugins(config: SessionConfig) -> list[Plugin]:
    """Fresh plugin instances for one day, scanner first (it runs before the strategy at each step)."""
    plugins: list[Plugin] = []
    if config.scanner is not None:
        plugins.append(load_plugin(config.scanner, Scanner))
    if config.strategy is not None:
        plugins.append(load_plugin(config.strategy, Strategy))
    return plugins


def plugin_name(plugin: Plugin) -> str:
    cls = type(plugin)
    return f"{cls.__module__}:{cls.__qualname__}"


class PluginExited(Exception):
    """A plugin hook raised SystemExit: a plugin failure like any other exception (the day is aborted
    and the run fails), never daytape's own exit status."""

    def __init__(self, plugin: Plugin, hook: str, code: object) -> None:
        super().__init__(f"plugin {plugin_name(plugin)} exited in {hook} (SystemExit({code!r}))")


def open_day(coordinator: SessionCoordinator, day: dt.date) -> bool:
    """Teardown and load the config symbols; False when the day failed (every config symbol rejected)."""
    coordinator.begin_day(day)
    coordinator.load_config_symbols()
    return coordinator.state.state != "failed"


def stream_day(
    coordinator: SessionCoordinator,
    plugins: list[Plugin],
    progress: StepProgress | None = None,
) -> None:
    """Step the clock through the session by base interval, calling the plugins at every step."""
    day = coordinator.state.session_date
    assert day is not None
    calendar = coordinator.calendar
    coordinator.start_streaming()
    contexts = [
        (plugin, PluginContext(coordinator, coordinator.view, plugin.source, calendar.tz, plugin_name(plugin)))
        for plugin in plugins
    ]
    plugin, hook = None, "on_session_start"
    try:
        for plugin, ctx in contexts:
            plugin.on_session_start(ctx)
        hook = "on_step"
        steps = coordinator.step_times()
        for number, moment in enumerate(steps, start=1):
            interrupt.check()
            coordinator.advance_to(moment)
            for plugin, ctx in contexts:
                plugin.on_step(ctx)
            if progress is not None:
                progress(day, number, len(steps))
        hook = "on_session_end"
        for plugin, ctx in contexts:
            figures = plugin.on_session_end(ctx)
            if figures is not None:
                report_figures(coordinator, plugin, figures)
    except SystemExit as exc:
        if plugin is None:
            raise
        raise PluginExited(plugin, hook, exc.code) from None


class PluginFiguresError(Exception):
    """What a plugin's session-end hook returned is not a small dict of figures (the day is aborted)."""


def report_figures(coordinator: SessionCoordinator, plugin: Plugin, figures: object) -> None:
    """Record what `plugin` returned from on_session_end: a dict of str to a number, a text or a flag."""
    name = plugin_name(plugin)
    if not isinstance(figures, dict):
        raise PluginFiguresError(
            f"plugin {name} returned {type(figures).__name__} from on_session_end; return None or a dict of "
            "figures (str to a number, a text or a flag)"
        )
    checked: dict[str, Any] = {}
    for key, value in figures.items():
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()  # a numpy scalar: its Python number
        if not isinstance(key, str) or not isinstance(value, bool | int | float | str):
            raise PluginFiguresError(
                f"plugin {name}: on_session_end figure {key!r} is {type(value).__name__}; "
                "figures are str names to a number, a text or a flag"
            )
        checked[key] = value
    try:
        coordinator.report_figures(name, checked)
    except ValidationError as exc:
        raise PluginFiguresError(f"plugin {name}: on_session_end figures: {one_line(exc)}") from None


def run_day(
    config: SessionConfig,
    store: BarSource,
    sink: Any,
    day: dt.date,
    progress: StepProgress | None = None,
    plugins: list[Plugin] | None = None,
) -> DayResult:
    """One session day: teardown → load config symbols → stream on the clock → end (and its teardown)."""
    calendar = get_calendar(config.exchange)
    clock = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
    coordinator = SessionCoordinator(config, store, calendar, sink, clock)
    try:
        day_plugins = build_plugins(config) if plugins is None else plugins
        interrupt.check()
        if not open_day(coordinator, day):
            return _result(coordinator, day, "failed", coordinator.state.failure)
        stream_day(coordinator, day_plugins, progress)
        result = _result(coordinator, day, "ended")
        coordinator.end_day()
        return replace(result, events=coordinator.state.events_applied)
    except (UserError, LogWriteFailed):
        raise  # bad input, or a log that cannot take the day's events: nothing more can be written for the day
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if coordinator.state.state not in ("aborted", "idle", "failed"):
            coordinator.abort(error)
        return _result(coordinator, day, "aborted", error)


def _result(coordinator: SessionCoordinator, day: dt.date, status: str, error: str | None = None) -> DayResult:
    state = coordinator.state
    return DayResult(
        date=day,
        status=status,
        symbols=sorted(state.symbols),
        rejected=dict(sorted(state.rejected.items())),
        failed=failed_requests(state),
        events=state.events_applied,
        error=error,
    )


# --- one day in a worker (process pool or Dask): open everything by name ------------------------------


def run_store(config: SessionConfig) -> StoreCache:
    """The bar store of one run, read through a cache that the run's days share."""
    calendar = get_calendar(config.exchange)
    return StoreCache(BarStore(config.store, calendar), calendar)


def run_days_in_worker(config_json: str, log_url: str, run_id: str, day_isos: Sequence[str]) -> list[dict[str, Any]]:
    """Run consecutive days of a run in a worker (a pool process or a Dask worker), in order: one log
    connection and one bar cache serve them all, so each day's history is mostly days it has just read.

    A task may run twice: Dask gives the days of a worker that died to another worker, and computes a
    finished task again when the worker holding its result dies. So the days already finished in the log
    are returned as recorded, not run again, and a day the dead worker left unfinished is discarded and run
    from its start, as `--resume` does: no day is written twice."""
    config = SessionConfig.model_validate_json(config_json)
    days = [dt.date.fromisoformat(day) for day in day_isos]
    store = run_store(config)
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


def _day_from_json(data: dict[str, Any]) -> DayResult:
    return DayResult(**{**data, "date": dt.date.fromisoformat(data["date"])})


# --- a whole run ----------------------------------------------------------------------------------


@dataclass
class RunOptions:
    workers: int = 1
    executor: str = "serial"
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
    """The executor flags; a `--scheduler` must answer now, before a run is recorded."""
    check_run_options(options.executor, options.workers, options.scheduler)
    if options.executor == "dask" and options.scheduler:
        check_scheduler(options.scheduler)


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


def check_run(config: SessionConfig, options: RunOptions) -> list[dt.date]:
    """Everything a run checks before its first session, done before a run (or a log) is made: the
    executor flags, the exchange's sessions in the range, the bar store and the plugins; returns the days."""
    check_options(options)
    days = session_dates(config, get_calendar(config.exchange))
    store_folder(config)
    build_plugins(config)
    return days


def run_manifest(config: SessionConfig, seed: int | None = None, name: str | None = None) -> RunManifest:
    """What a run of `config` records it was made from: its config, data digest, code version and seed."""
    return RunManifest(
        name=config.name if name is None else name,
        config_json=json.dumps(config.to_yaml_dict(), sort_keys=True),
        data_digest=store_digest(store_folder(config)),
        code_version=code_version(),
        seed=seed,
    )


def start_run(log: EventStore, config: SessionConfig, seed: int | None = None, name: str | None = None) -> str:
    return log.create_run(run_manifest(config, seed, name))


def check_run_options(executor: str, workers: int, scheduler: str | None) -> None:
    """Refuse an executor that does not exist, and the flags that the chosen executor would ignore: a run
    that says `--workers 2` but runs one day at a time misstates what ran (and how fast)."""
    if executor not in EXECUTORS:
        raise UserError(
            f"--executor: unknown executor {executor!r}; use {', '.join(EXECUTORS[:-1])} or {EXECUTORS[-1]}"
        )
    if workers < 1:
        raise UserError(f"--workers: must be at least 1, got {workers}")
    if executor == "serial" and workers != 1:
        raise UserError(
            f"--workers {workers}: the serial executor runs one day at a time; "
            "add --executor process (or dask) to run days in parallel"
        )
    if scheduler is not None and executor != "dask":
        raise UserError(
            f"--scheduler: only the dask executor uses a scheduler; add --executor dask ({executor} would ignore it)"
        )


def execute_run(
    log: EventStore, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
) -> list[DayResult]:
    """Run `days` of an existing run with the chosen executor; each day writes its own stream."""
    if options.on_days is not None:
        options.on_days(days)
    if options.executor == "serial" or not days:
        store = run_store(config)
        sink = RunSink(log, run_id)
        results = []
        for day in days:
            result = run_day(config, store, sink, day, options.progress)
            results.append(result)
            if options.on_day_done is not None:
                options.on_day_done(result)
        return results
    if options.executor == "process":
        return _run_process_pool(log.url, run_id, config, days, options)
    return _run_dask(log.url, run_id, config, days, options)


def _run_process_pool(
    log_url: str, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
) -> list[DayResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    config_json = config.model_dump_json()
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
                _collect(future.result(), results, options)
        except interrupt.Interrupted:
            stop.value = 1
            if interrupt.forced():
                for worker in multiprocessing.active_children():
                    worker.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return [results[d] for d in days]


def _collect(chunk: list[dict[str, Any]], results: dict[dt.date, DayResult], options: RunOptions) -> None:
    for data in chunk:
        result = _day_from_json(data)
        results[result.date] = result
        if options.on_day_done is not None:
            options.on_day_done(result)


def _run_dask(
    log_url: str, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
) -> list[DayResult]:
    from dask.distributed import Client, Event, LocalCluster, wait

    config_json = config.model_dump_json()
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
                    _collect(future.result(), results, options)
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


def mark_stopped(log: EventStore, run_id: str, exc: BaseException) -> None:
    """Record why a run stopped before its end: `interrupted` by a signal, else `aborted`. When the log
    itself failed, this write may fail too: the run then stays `running`, which `--resume` finishes alike."""
    with contextlib.suppress(LogWriteFailed):
        log.finish_run(run_id, "interrupted" if isinstance(exc, interrupt.Interrupted) else "aborted")


def run_status(results: list[DayResult]) -> str:
    return "completed" if results and all(r.status == "ended" for r in results) else "failed"


def run_session(
    log: EventStore,
    config: SessionConfig,
    options: RunOptions,
    on_started: Callable[[str], None] | None = None,
    name: str | None = None,
) -> RunResult:
    """A new run of `config` over its sessions (named `name`, else the config's name)."""
    days = check_run(config, options)
    run_id = start_run(log, config, name=name)
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


# --- resume ---------------------------------------------------------------------------------------


def recorded_config(log: EventStore, run_id: str) -> SessionConfig:
    info = get_run(log, run_id)
    try:
        return SessionConfig.model_validate(json.loads(info.config_json))
    except ValueError as exc:
        raise UserError(f"run {run_id}: its recorded config no longer validates: {exc}") from None


def finished_days(log: EventStore, run_id: str, only: set[dt.date] | None = None) -> dict[dt.date, DayResult]:
    """Days (of `only`, when given) whose stream is complete: ended and torn down, or failed, or aborted.
    Each stream is verified first: a resume never builds on (and seals) a stream that fails verification."""
    done: dict[dt.date, DayResult] = {}
    for info in streams(log, run_id):
        if only is not None and info.session_date not in only:
            continue
        try:
            rows = verified_stream(log, run_id, info.session_date)
        except TamperedStream as exc:
            raise UserError(f"cannot resume run {run_id}: {exc}; daytape audit {run_id} checks the whole run") from None
        state = replay_rows(info.session_date, [(row[0], row[2]) for row in rows])
        ended_and_torn_down = info.status == "ended" and state.state == "tearing_down" and not state.symbols
        if ended_and_torn_down or state.state in ("failed", "aborted"):
            status = "ended" if ended_and_torn_down else state.state
            done[info.session_date] = DayResult(
                date=info.session_date,
                status=status,
                symbols=[],
                rejected=dict(sorted(state.rejected.items())),
                failed=failed_requests(state),
                events=info.events,
                error=state.failure,
            )
    return done


def check_resumable(log: EventStore, run_id: str, config: SessionConfig) -> None:
    """Refuse to finish a run with other code or other data than it started with: its manifest names one
    code version and one data digest, so a run whose days came from two of either would misstate what it is."""
    info = get_run(log, run_id)
    problems = []
    changes = code_changes(info.code_version, code_version())
    if changes:
        problems.append(f"the code changed since it started ({', '.join(changes)})")
    if info.data_digest is not None and current_digest(config.store) != info.data_digest:
        problems.append(f"the bar store {config.store} changed since it started (its data digest differs)")
    if problems:
        raise UserError(
            f"cannot resume run {run_id}: {'; and '.join(problems)}; "
            "a resumed run must be the same code on the same data, so start a new run instead"
        )


def config_differences(recorded: SessionConfig, given: SessionConfig) -> list[str]:
    """The top-level settings in which `given` differs from `recorded`, in the file's order."""
    before, after = recorded.to_yaml_dict(), given.to_yaml_dict()
    return [key for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]


def resume_run(log: EventStore, run_id: str, options: RunOptions) -> RunResult:
    """Finish a killed run: keep finished days, redo the unfinished one from its start, run the rest.

    A run whose sessions have all finished and whose status says so is left as it is (not even its
    finish time changes): the result says `nothing_to_resume`."""
    config = recorded_config(log, run_id)
    days = check_run(config, options)
    done = finished_days(log, run_id)
    if all(d in done for d in days):
        finished = [done[d] for d in days]
        recorded = get_run(log, run_id)
        if recorded.status == run_status(finished):
            return RunResult(run_id, run_status(finished), finished, nothing_to_resume=True, seal=recorded.seal)
    check_resumable(log, run_id, config)
    for info in streams(log, run_id):
        if info.session_date not in done:
            log.delete_stream(run_id, info.session_date)
    todo = [d for d in days if d not in done]
    log.finish_run(run_id, "running")
    try:
        results = {r.date: r for r in execute_run(log, run_id, config, todo, options)}
    except BaseException as exc:
        mark_stopped(log, run_id, exc)
        raise
    ordered = [done.get(d) or results[d] for d in days]
    status = run_status(ordered)
    seal = log.finish_run(run_id, status)
    return RunResult(run_id, status, ordered, seal=seal)
