"""`daytape run FILE [...]`: run the sessions of a session file, or `--resume` a killed run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from daytape.commands.calendar import parse_date_option
from daytape.errors import CheckFailed, UserError
from daytape.interrupt import Interrupted, stop_on_signals
from daytape.output import plugin_output_to_stderr, print_json, stderr
from eventlog.errors import EventLogError, LogWriteFailed

if TYPE_CHECKING:
    from rich.progress import Progress

    from daytape.runner import RunOptions, RunResult
    from eventlog.store import EventStore
    from specs.config import SessionConfig


def parse_day(value: str | None, flag: str) -> dt.date | None:
    return None if value is None else parse_date_option(value, flag)


def open_log(url: str, *, create: bool, read_only: bool = False) -> EventStore:
    from eventlog.store import open_store

    try:
        return open_store(url, create=create, read_only=read_only)
    except EventLogError as exc:
        raise UserError(str(exc)) from None


@contextmanager
def session_progress(enabled: bool) -> Iterator[tuple[RunOptions, Progress | None]]:
    """A progress bar per session on stderr (steps of the clock), as RunOptions callbacks."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from daytape.runner import DayResult, RunOptions

    if not enabled:
        yield RunOptions(), None
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=False,
    )
    tasks: dict[dt.date, TaskID] = {}

    def on_step(day: dt.date, done: int, total: int) -> None:
        if day not in tasks:
            tasks[day] = progress.add_task(f"session {day}", total=total)
        if done == total or done % 10 == 0:
            progress.update(tasks[day], completed=done)

    def on_day_done(result: DayResult) -> None:
        if result.date not in tasks:
            tasks[result.date] = progress.add_task(f"session {result.date}", total=1)
        task = progress.tasks[tasks[result.date]]
        progress.update(
            tasks[result.date],
            completed=task.total,
            description=f"session {result.date} {result.status}",
        )

    with progress:
        yield RunOptions(progress=on_step, on_day_done=on_day_done), progress


def report(result: RunResult, as_json: bool) -> None:
    if as_json:
        print_json(result.as_json())
    else:
        print(result.run_id)
        for day in result.sessions:
            detail = f"{len(day.symbols)} symbols"
            if day.rejected:
                detail += f", rejected: {', '.join(f'{s} ({why})' for s, why in day.rejected.items())}"
            if day.failed:
                detail += f", failed: {', '.join(f'{s} ({why})' for s, why in day.failed.items())}"
            if day.error:
                detail += f", {day.error}"
            stderr.print(f"  {day.date} {day.status}: {detail}", markup=False)
        if result.seal:
            stderr.print(f"  seal {result.seal}", markup=False)
    if result.status != "completed":
        raise CheckFailed(f"run {result.run_id} {result.status}")


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        file: Path = typer.Argument(..., help="The session YAML file."),
        log: str | None = typer.Option(None, "--log", help="Event log URL (else $DAYTAPE_LOG_URL, the file's log)."),
        start: str | None = typer.Option(None, "--from", help="First session date (overrides the file's start)."),
        end: str | None = typer.Option(None, "--to", help="Last session date (overrides the file's end)."),
        workers: int = typer.Option(1, "--workers", help="Parallel workers for process or dask executors."),
        executor: str = typer.Option("serial", "--executor", help="serial, process or dask."),
        scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (default: local)."),
        resume: str | None = typer.Option(None, "--resume", help="Finish this run instead of starting a new one."),
        as_json: bool = typer.Option(False, "--json", help="Print {run_id, status, sessions} as JSON."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    ) -> None:
        """Run the sessions: teardown, load, stream and end each day; print the run id.

        What plugins print goes to stderr. `--resume` finishes a run with the config it recorded: FILE must
        be the file it started with, and --from/--to, if given, its dates. Resuming a run whose sessions
        have all finished changes nothing and says so (exit 0 for a completed run)."""
        from daytape.preflight import check_session_file
        from daytape.runner import RunOptions, check_options, resume_run, run_session

        from_day, to_day = parse_day(start, "--from"), parse_day(end, "--to")
        checked = check_session_file(file, from_day, to_day, log)
        # a refused run leaves nothing behind: the scheduler must answer before a log file is made
        check_options(RunOptions(workers=workers, executor=executor, scheduler=scheduler))
        log_store = open_log(checked.log_url, create=resume is None)
        started: list[str] = []
        try:
            with stop_on_signals(), plugin_output_to_stderr(), session_progress(not quiet) as (options, _):
                options.workers, options.executor, options.scheduler = workers, executor, scheduler
                if resume is not None:
                    started.append(_resolve(log_store, resume))
                    check_resume_file(log_store, started[0], file, checked.config, from_day, to_day)
                    result = resume_run(log_store, started[0], options)
                else:
                    result = run_session(log_store, checked.config, options, on_started=started.append)
        except Interrupted:
            if not started:
                raise
            raise Interrupted(f"interrupted; {resume_hint(file, started[0], log)}") from None
        except LogWriteFailed as exc:
            if not started:
                raise CheckFailed(f"daytape: {exc}") from None
            stopped = f"run {started[0]} stopped; once the log can be written, {resume_hint(file, started[0], log)}"
            raise CheckFailed(f"daytape: {exc}; {stopped}") from None
        finally:
            log_store.close()
        if result.nothing_to_resume:
            stderr.print(
                f"run {result.run_id} is {result.status}: every session has finished; nothing to resume",
                markup=False,
            )
        report(result, as_json)


def check_resume_file(
    log: EventStore, run_id: str, file: Path, given: SessionConfig, start: dt.date | None, end: dt.date | None
) -> None:
    """Refuse to resume with a session file (or --from/--to) other than the run's: the resume runs the
    recorded config, so another file would be silently ignored. Dates not given are the recorded ones."""
    from daytape.runner import config_differences, recorded_config

    recorded = recorded_config(log, run_id)
    given = given.model_copy(update={"start": start or recorded.start, "end": end or recorded.end})
    differences = config_differences(recorded, given)
    if differences:
        named = ", ".join({"start": "start (--from)", "end": "end (--to)"}.get(key, key) for key in differences)
        raise UserError(
            f"{file}: differs from the config run {run_id} recorded ({named}); --resume finishes a run as it "
            "started: give the session file (and --from/--to) it started with, or start a new run"
        )


def resume_hint(file: Path, run_id: str, log: str | None) -> str:
    """The command that finishes a stopped run (with `--log` when it was given)."""
    from eventlog.engine import display_url

    command = f"daytape run {file} --resume {run_id}"
    if log is not None:
        command += f" --log {display_url(log)}"
    return f"resume with: {command}"


def _resolve(log: EventStore, text: str) -> str:
    from eventlog.reading import resolve_run_id

    try:
        return resolve_run_id(log, text)
    except EventLogError as exc:
        raise UserError(str(exc)) from None
