"""`daytape demo [--dir DIR] [--days N]`: sample data, a session file, a run, and an account of it."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from daytape.commands import UsageCommand
from daytape.commands.run import open_log, session_progress
from daytape.errors import CheckFailed, UserError
from daytape.output import plural, stdout
from specs.status import RunStatus

if TYPE_CHECKING:
    from rich.table import Table

    from daytape.runner import RunResult
    from eventlog.explain import Explanation
    from eventlog.store import EventStore
    from marketdata.checks import DayCheck
    from statemachine.state import SessionState


def quality_table(checks: list[DayCheck]) -> Table:
    from rich.table import Table

    table = Table(title="Sample data: regular-session 1m bars per symbol and session", title_justify="left")
    for column in ("symbol", "date", "present", "expected", "quality", "gaps"):
        table.add_column(column, justify="right" if column not in ("symbol", "date") else "left")
    for check in checks:
        present = round((check.quality or 0) * check.expected)
        quality = "-" if check.quality is None else f"{check.quality:.4f}"
        table.add_row(check.symbol, str(check.day), str(present), str(check.expected), quality, str(len(check.gaps)))
    return table


def state_table(state: SessionState) -> Table:
    from rich.table import Table

    table = Table(title=f"{state.session_date}: {state.phase}", title_justify="left")
    for column in ("symbol", "state", "added_by", "auto", "upgraded", "intervals", "indicators", "history", "quality"):
        table.add_column(column)
    for symbol in sorted(state.symbols):
        data = state.symbols[symbol]
        history = (
            f"{plural(data.historical.sessions, 'session')}, {plural(data.historical.rows, 'row')}"
            if data.historical
            else "-"
        )
        quality = f"{data.quality.quality:.4f}" if data.quality else "-"
        table.add_row(
            symbol,
            data.state,
            data.added_by,
            "yes" if data.auto_provisioned else "no",
            "yes" if data.upgraded_from_adhoc else "no",
            " ".join(sorted(data.bars, key=lambda k: data.bars[k].interval)),
            " ".join(sorted(data.indicators)),
            history,
            quality,
        )
    if state.rejected:
        table.caption = "rejected: " + "; ".join(reason for _, reason in sorted(state.rejected.items()))
        table.caption_justify = "left"
    return table


def explanation_lines(found: Explanation) -> list[str]:
    what = found.symbol if found.target_type == "symbol" else f"{found.symbol} {found.target}"
    lines = [f"Why is {what} here on {found.session_date}? (it is {found.state})"]
    for request in found.requests:
        who = request.source + (f" {request.plugin}" if request.plugin else "")
        when = request.sim_time.isoformat() if request.sim_time else "at load"
        lines.append(f"  {request.request_id} {who} at {when}: {request.description} -> {request.outcome}")
        lines += [f"      seq {event.seq:>4} {event.kind:<20} {event.summary}" for event in request.events]
    lines += [f"  not here: {reason}" for reason in found.why_not]
    return lines


def account(log: EventStore, result: RunResult) -> None:
    """What was provisioned and why, read back from the log (not from the live run)."""
    from daytape.demo import SCANNED_SYMBOLS, UNKNOWN_SYMBOL, UPGRADED_SYMBOL
    from eventlog.audit import audit_run
    from eventlog.explain import explain
    from eventlog.replay import replay_day

    for day in result.sessions:
        stdout.print(state_table(replay_day(log, result.run_id, day.date)))
    first = result.sessions[0].date
    for symbol, target in ((SCANNED_SYMBOLS[1], {"indicator": "sma_20_5m"}), (UPGRADED_SYMBOL, {})):
        found = explain(log, result.run_id, symbol, session_date=first, indicator=target.get("indicator"))
        stdout.print("\n".join(explanation_lines(found)), markup=False, highlight=False)
    found = explain(log, result.run_id, UNKNOWN_SYMBOL, session_date=first)
    stdout.print("\n".join(explanation_lines(found)), markup=False, highlight=False)
    audit = audit_run(log, result.run_id)
    verdict = "clean" if audit.first_bad is None else f"first bad event: {audit.first_bad}"
    stdout.print(f"audit: {plural(audit.streams, 'stream')}, {plural(audit.events, 'event')}, {verdict}", markup=False)


def _command_name() -> str:
    """`daytape` when it is on PATH, else the full path of the one beside this interpreter (.venv/bin/daytape)."""
    beside = Path(sys.executable).parent / "daytape"
    if shutil.which("daytape") == str(beside) or not beside.exists():
        return "daytape"
    return shlex.quote(str(beside))


def register(app: typer.Typer) -> None:
    @app.command("demo", cls=UsageCommand)
    def demo(
        folder: Path = typer.Option(
            Path("daytape-demo"), "--dir", help="Where to put the data, session and log (created if missing)."
        ),
        days: int = typer.Option(3, "--days", metavar="N", help="How many sessions to run (from 2023-11-21)."),
        quiet: bool = typer.Option(False, "--quiet", help="Nothing on stderr but errors."),
        live: bool = typer.Option(
            False, "--live", help="Instead: rehearse a live day on a local feed at speed, then verify it from its tape."
        ),
        speed: float | None = typer.Option(
            None, "--speed", metavar="N", help="With --live: the feed's pace, N times real time (default 2400)."
        ),
    ) -> None:
        """Make sample data, a session file and a log under DIR; run N sessions; show what was loaded and why.

        With --live: the sample day 2023-11-24 (an early close) played by a local Alpaca-protocol feed on a
        thread of this process, a live session rehearsed on it through alpaca-py with the same scanner and
        strategy, and `verify` of the run from its recorded tape. Nothing leaves the machine.

        \b
        Example:
          daytape demo --dir /tmp/daytape-demo --days 1
          daytape demo --live --dir /tmp/daytape-demo
        """
        from daytape.demo import UPGRADED_SYMBOL, prepare_demo
        from daytape.runner import run_session

        if days < 1:
            raise UserError(f"--days: must be at least 1, got {days}")
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--dir {folder}: exists and is not a folder")
        if live or speed is not None:
            live_demo(folder, speed, live)
            return
        try:
            layout, config, checks = prepare_demo(folder.resolve(), days)
        except OSError as exc:
            raise UserError(f"--dir {folder}: cannot write the demo there: {exc.strerror or exc}") from None
        stdout.print(f"Sample bar store: {layout.store}\nSession file:     {layout.session_file}", markup=False)
        stdout.print(quality_table(checks))
        log = open_log(layout.log_url, create=True)
        try:
            with session_progress(not quiet) as (options, _):
                result = run_session(log, config, options)
            stdout.print(f"\nRun {result.run_id}: {result.status}, log {layout.log_url}\n", markup=False)
            account(log, result)
        finally:
            log.close()
        url = shlex.quote(layout.log_url)
        daytape = _command_name()
        stdout.print(
            "\nTry:\n"
            f"  {daytape} replay {result.run_id[:8]} --log {url} --until 40\n"
            f"  {daytape} explain {result.run_id[:8]} {UPGRADED_SYMBOL} --interval 5m --log {url}\n"
            f"  {daytape} audit {result.run_id[:8]} --log {url}\n"
            f"  {daytape} verify {result.run_id[:8]} --log {url}\n"
            f"  {daytape} export {result.run_id[:8]} --format csv --log {url}",
            markup=False,
        )
        if result.status != RunStatus.COMPLETED:
            raise CheckFailed(f"demo run {result.run_id} {result.status}")


def tape_line(log: EventStore, run_id: str) -> str:
    """What the live day's tape holds, counted from the log."""
    from collections import Counter

    kinds = Counter(row.kind for row in log.events(run_id))
    said = [
        plural(kinds[kind], name)
        for kind, name in (
            ("BarReceived", "minute bar"),
            ("BarUpdated", "corrected bar"),
            ("DailyBarReceived", "daily bar"),
            ("TradingStatusReceived", "status frame"),
            ("FeedConnected", "connection"),
        )
        if kinds[kind]
    ]
    return f"tape: {', '.join(said)} received, each an event before the step it fed"


def live_demo(folder: Path, speed: float | None, live: bool) -> None:
    """`demo --live`: the rehearsal on the local feed, its account, and its verification from the tape."""
    from daytape.demo import DemoLayout
    from daytape.livedemo import DEFAULT_SPEED, live_day, live_session_file, run_live_demo

    if not live:
        raise UserError("--speed: goes with --live")
    if speed is not None and not speed > 0:
        raise UserError(f"--speed: must be above 0, got {speed}")
    layout = DemoLayout(folder.resolve())
    try:
        layout.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--dir {folder}: cannot write the demo there: {exc.strerror or exc}") from None
    pace = speed or DEFAULT_SPEED
    stdout.print(
        f"Sample bar store: {layout.store}\nSession file:     {live_session_file(layout)}\n"
        f"Live rehearsal of {live_day()} (an early close) on a local Alpaca-protocol feed at {pace:g}x, "
        "through alpaca-py",
        markup=False,
    )
    log = open_log(layout.log_url, create=True)
    try:
        demo = run_live_demo(log, layout.root, pace)
        stdout.print(f"\nRun {demo.result.run_id}: {demo.result.status}, log {layout.log_url}", markup=False)
        stdout.print(tape_line(log, demo.result.run_id) + "\n", markup=False)
        account(log, demo.result)
    finally:
        log.close()
    verdict = demo.verification.message()
    stdout.print(f"\nverify: {verdict}", markup=False, highlight=False)
    url, run = shlex.quote(layout.log_url), demo.result.run_id[:8]
    daytape = _command_name()
    stdout.print(
        "\nTry:\n"
        f"  {daytape} verify {run} --log {url}\n"
        f"  {daytape} explain {run} TSLA --log {url}\n"
        f"  {daytape} replay {run} --log {url} --until 400\n"
        f"  {daytape} feed serve --store {shlex.quote(str(layout.store))} --date {live_day()} --speed 60",
        markup=False,
    )
    if demo.result.status != RunStatus.COMPLETED:
        raise CheckFailed(f"demo run {demo.result.run_id} {demo.result.status}")
    if not demo.verification.deterministic:
        raise CheckFailed(f"demo run {demo.result.run_id}: {verdict}")
