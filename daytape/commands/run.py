"""`daytape run FILE [...]`: run the sessions of a session file, or `--resume` a killed run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from daytape.commands import UsageCommand
from daytape.commands.calendar import parse_date_option
from daytape.errors import CheckFailed, UserError
from daytape.interrupt import Interrupted, stop_on_signals
from daytape.output import plugin_output_to_stderr, print_json, stderr
from eventlog.errors import EventLogError, LogWriteFailed
from specs.status import RunStatus

if TYPE_CHECKING:
    from daytape.preflight import CheckedRun, Rehearsal
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
def session_progress(enabled: bool, verbose: bool = False) -> Iterator[tuple[RunOptions, None]]:
    """The run's progress on stderr as RunOptions callbacks (daytape.progress): one display for the run on a
    terminal, a line per finished day with `verbose`, nothing when not `enabled` (--quiet)."""
    from daytape.progress import run_progress

    with run_progress(enabled, verbose) as options:
        yield options, None


def report(result: RunResult, as_json: bool, quiet: bool = False) -> None:
    """The run id (or the JSON document) on stdout; the seal on stderr unless --quiet."""
    if as_json:
        print_json(result.as_json())
    else:
        print(result.run_id)
        if result.seal and not quiet:
            stderr.print(f"  seal {result.seal}", markup=False)
    if result.status != RunStatus.COMPLETED:
        raise CheckFailed(f"run {result.run_id} {result.status}")


def register(app: typer.Typer) -> None:
    @app.command("run", cls=UsageCommand)
    def run(
        file: Path = typer.Argument(..., metavar="FILE", help="The session YAML file."),
        log: str | None = typer.Option(
            None,
            "--log",
            metavar="URL",
            help="The event log URL (default: $DAYTAPE_LOG_URL, else the file's log, else sqlite:///daytape.db).",
        ),
        start: str | None = typer.Option(
            None, "--from", metavar="DATE", help="First session, YYYY-MM-DD (default: the file's start)."
        ),
        end: str | None = typer.Option(
            None, "--to", metavar="DATE", help="Last session, YYYY-MM-DD (default: the file's end)."
        ),
        workers: int = typer.Option(
            1, "--workers", metavar="N", help="Days run at once by the process or dask executor."
        ),
        executor: str = typer.Option(
            "serial", "--executor", metavar="NAME", help="serial, process or dask (--executor process)."
        ),
        scheduler: str | None = typer.Option(
            None,
            "--scheduler",
            metavar="ADDR",
            help="A Dask scheduler, tcp://HOST:PORT (default: a local cluster of --workers).",
        ),
        resume: str | None = typer.Option(
            None, "--resume", metavar="RUN_ID", help="Finish this run (default: start a new run)."
        ),
        feed_url: str | None = typer.Option(
            None, "--feed-url", metavar="URL", help="Rehearse a mode: live file on this feed (ws://HOST:PORT)."
        ),
        rehearsal_date: str | None = typer.Option(
            None, "--date", metavar="DATE", help="The session a rehearsal plays (YYYY-MM-DD, with --feed-url)."
        ),
        speed: float | None = typer.Option(
            None, "--speed", metavar="N", help="A rehearsal's pace: N times real time (with --feed-url)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print {run_id, status, sessions, seal} as JSON."),
        quiet: bool = typer.Option(False, "--quiet", help="Nothing on stderr but errors."),
        verbose: bool = typer.Option(False, "--verbose", help="A line on stderr for every finished day."),
    ) -> None:
        """Run the sessions: teardown, load, stream and end each day; print the run id.

        Progress (one display for the run) goes to stderr when it is a terminal, and so does what plugins
        print. `--resume` finishes a run with the config it recorded: FILE must be the file it started with,
        and --from/--to, if given, its dates. Resuming a run whose sessions have all finished changes nothing
        and says so (exit 0 for a completed run).

        \b
        Example:
          daytape run examples/lean-oct-2013.yaml --from 2013-10-08 --to 2013-10-09
        """
        from daytape.preflight import Rehearsal, check_session_file
        from daytape.resume import resume_run
        from daytape.runner import RunOptions, check_options, run_session

        from_day, to_day = parse_day(start, "--from"), parse_day(end, "--to")
        rehearsal = Rehearsal(feed_url, parse_day(rehearsal_date, "--date"), speed)
        checked = check_session_file(file, from_day, to_day, log, rehearsal)
        if checked.config.mode == "live":
            if feed_url is None:
                run_live_today(file, checked, as_json, quiet, resume, log)
            else:
                rehearse(file, checked, rehearsal, as_json, quiet, resume, log)
            return
        # a refused run leaves nothing behind: the scheduler must answer before a log file is made
        check_options(RunOptions(workers=workers, backend=executor, scheduler=scheduler))
        log_store = open_log(checked.log_url, create=resume is None)
        started: list[str] = []
        try:
            with stop_on_signals(), plugin_output_to_stderr(), session_progress(not quiet, verbose) as (options, _):
                options.workers, options.backend, options.scheduler = workers, executor, scheduler
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
        if result.nothing_to_resume and not quiet:
            stderr.print(
                f"run {result.run_id} is {result.status}: every session has finished; nothing to resume",
                markup=False,
            )
        report(result, as_json, quiet)


def rehearse(
    file: Path,
    checked: CheckedRun,
    rehearsal: Rehearsal,
    as_json: bool,
    quiet: bool,
    resume: str | None = None,
    log: str | None = None,
) -> None:
    """A live file rehearsed on a local feed (daytape.rehearsal): one day, recorded like a backtest's; with
    `resume`, the stopped rehearsal of that run goes on from its tape (daytape.liveresume)."""
    from daytape.rehearsal import resume_rehearsal, run_rehearsal

    assert rehearsal.feed_url is not None
    day = rehearsal.date or checked.days[0]
    feed_url, speed = rehearsal.feed_url, rehearsal.speed or 1.0

    def start(log: EventStore, started: Callable[[str], None]) -> RunResult:
        if resume is None:
            return run_rehearsal(log, checked.config, feed_url, day, speed, started)
        run_id = _resolve(log, resume)
        started(run_id)
        check_live_resume(log, run_id, file, checked.config, rehearsal.date)
        return resume_rehearsal(log, run_id, feed_url, speed)

    again = f"daytape run {file} --feed-url {feed_url} --date {day} --speed {speed:g}"
    report_live(live_run(file, checked, start, again, create=resume is None, log=log), as_json, quiet)


def run_live_today(
    file: Path, checked: CheckedRun, as_json: bool, quiet: bool, resume: str | None = None, log: str | None = None
) -> None:
    """A live file without --feed-url: today's session in real time (daytape.realtime), on the live clock.
    A day without a session left is refused before the log is opened; with `resume`, today's stopped run goes
    on from its tape."""
    from daytape.realtime import resume_today, run_today, todays_session
    from marketdata.clock import live_clock

    clock = live_clock()
    today = todays_session(checked.config, clock)
    if not quiet:
        stderr.print(today.announcement(), markup=False)

    def start(log: EventStore, started: Callable[[str], None]) -> RunResult:
        if resume is None:
            return run_today(log, checked.config, today, clock, started)
        run_id = _resolve(log, resume)
        started(run_id)
        check_live_resume(log, run_id, file, checked.config, None)
        return resume_today(log, run_id, today, clock)

    report_live(live_run(file, checked, start, f"daytape run {file}", create=resume is None, log=log), as_json, quiet)


def live_run(
    file: Path,
    checked: CheckedRun,
    start: Callable[[EventStore, Callable[[str], None]], RunResult],
    again: str,
    create: bool = True,
    log: str | None = None,
) -> RunResult:
    """One live run (`start(log, on_started)`) in the file's log, stopped cleanly by a signal; an interrupted
    run says how to resume it (`again` is the command that ran it, `log` the --log it was given)."""
    log_store = open_log(checked.log_url, create=create)
    started: list[str] = []
    try:
        with stop_on_signals(), plugin_output_to_stderr():
            return start(log_store, started.append)
    except Interrupted:
        if not started:
            raise
        from eventlog.engine import display_url

        hint = f"resume with: {again} --resume {started[0]}"
        if log is not None:
            hint += f" --log {display_url(log)}"
        raise Interrupted(f"interrupted; run {started[0]} stopped; {hint}") from None
    finally:
        log_store.close()


def report_live(result: RunResult, as_json: bool, quiet: bool) -> None:
    if result.nothing_to_resume and not quiet:
        stderr.print(f"run {result.run_id} is {result.status}: its day has finished; nothing to resume", markup=False)
    report(result, as_json, quiet)


def check_live_resume(log: EventStore, run_id: str, file: Path, given: SessionConfig, day: dt.date | None) -> None:
    """Refuse to resume a live run with another file than it started with, or another day than it ran."""
    from daytape.resume import recorded_config

    recorded = recorded_config(log, run_id)
    if recorded.mode != "live":
        raise UserError(f"{file}: run {run_id} is a backtest; resume it with its backtest session file")
    if day is not None and day != recorded.start:
        raise UserError(f"--date {day}: run {run_id} ran {recorded.start}; --resume goes on with that day")
    check_resume_file(log, run_id, file, given, recorded.start, recorded.end)


def check_resume_file(
    log: EventStore, run_id: str, file: Path, given: SessionConfig, start: dt.date | None, end: dt.date | None
) -> None:
    """Refuse to resume with a session file (or --from/--to) other than the run's: the resume runs the
    recorded config, so another file would be silently ignored. Dates not given are the recorded ones."""
    from daytape.resume import config_differences, recorded_config

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
