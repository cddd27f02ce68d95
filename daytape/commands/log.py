"""The event log's commands: runs, replay, explain, audit, diff, export and `db upgrade`.

Each takes `--log URL` (else $DAYTAPE_LOG_URL, else `sqlite:///daytape.db`). Reading never
creates a log; an unknown run id, a missing date or a log whose schema is behind is exit 2 with
one line; audit and diff exit 1 when they find something.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from daytape.errors import CheckFailed, UserError
from daytape.logurl import resolve_log_url
from daytape.output import print_json, stderr
from daytape.provenance import manifest_notes
from eventlog import migrate
from eventlog.audit import audit_run
from eventlog.diff import diff_runs
from eventlog.errors import EventLogError
from eventlog.explain import Explanation, explain
from eventlog.reading import get_run, list_runs, pick_date, resolve_run_id
from eventlog.replay import parse_until, replay_day
from eventlog.store import EventStore, open_store
from specs.config import normalize_symbol
from specs.indicators import IndicatorSpec, IndicatorSpecError
from specs.intervals import Interval, IntervalError
from statemachine.export import state_csv, state_json

LOG_HELP = "The event log URL (else $DAYTAPE_LOG_URL, else sqlite:///daytape.db)."


@contextmanager
def _reading(log: str | None) -> Iterator[EventStore]:
    """Open the log for reading; every event-log error becomes a one-line exit 2."""
    url = resolve_log_url(log)
    try:
        store = open_store(url, create=False, read_only=True)
    except EventLogError as exc:
        raise UserError(str(exc)) from None
    try:
        yield store
    except EventLogError as exc:
        raise UserError(str(exc)) from None
    finally:
        store.close()


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date {text!r}: expected a session date as YYYY-MM-DD") from None


def _state_document(store: EventStore, run: str, date: str | None, until: str | None) -> dict[str, Any]:
    run_id = resolve_run_id(store, run)
    day = pick_date(store, run_id, _date(date))
    until_seq: int | None = None
    until_time: dt.datetime | None = None
    if until is not None:
        try:
            point = parse_until(until)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if isinstance(point, int):
            until_seq = point
        else:
            until_time = point
    state = replay_day(store, run_id, day, until_seq=until_seq, until_time=until_time)
    document = state_json(state, run_id)
    document["date"] = day.isoformat()
    document["events_applied"] = state.events_applied
    return document


def _explain_target(symbol: str, interval: str | None, indicator: str | None) -> tuple[str, str | None, str | None]:
    """The symbol and the interval or indicator key, checked and in their canonical spelling."""
    try:
        checked = normalize_symbol(symbol)
    except ValueError as exc:
        raise UserError(f"explain: {exc}") from None
    if interval is not None:
        try:
            interval = str(Interval(interval))
        except IntervalError as exc:
            raise UserError(f"--interval: {exc}") from None
    if indicator is not None:
        try:
            indicator = IndicatorSpec.parse_key(indicator).key
        except IndicatorSpecError as exc:
            raise UserError(f"--indicator: {exc}") from None
    return checked, interval, indicator


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot be written before reading anything."""
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; give a file path such as {out / 'export.json'}")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: no folder {out.parent}")


def _print_state(document: dict[str, Any]) -> None:
    out = sys.stdout
    out.write(
        f"run {document['run_id']}  date {document['date']}  session {document['session_state']}  "
        f"({document['events_applied']} events)\n"
    )
    for symbol, data in document["symbols"].items():
        intervals = ", ".join(data["bars"]) or "-"
        indicators = ", ".join(data["indicators"]) or "-"
        meta = data["metadata"]
        out.write(
            f"  {symbol:<8} {data['state']:<6} added_by={meta['added_by']:<8} intervals: {intervals}; "
            f"indicators: {indicators}\n"
        )
    for symbol, reason in document.get("rejected", {}).items():
        out.write(f"  {symbol:<8} rejected: {reason}\n")


def _print_explanation(found: Explanation) -> None:
    out = sys.stdout
    what = found.symbol if found.target_type == "symbol" else f"{found.target_type} {found.target} of {found.symbol}"
    verdict = "present" if found.present else "NOT present"
    out.write(f"{what} on {found.session_date.isoformat()}: {verdict} (symbol state {found.state})\n")
    for request in found.requests:
        who = request.source + (f" {request.plugin}" if request.plugin else "")
        when = f" at {request.sim_time.isoformat()}" if request.sim_time else ""
        reason = f": {request.reason}" if request.reason else ""
        out.write(f"  request {request.request_id} from {who}{when}: {request.description}")
        out.write(f" -> {request.outcome}{reason}\n")
        for event in request.events:
            out.write(f"    seq {event.seq:>6}  {event.kind:<20} {event.summary}\n")
    for reason in found.why_not:
        out.write(f"  why not: {reason}\n")


def register(app: typer.Typer) -> None:
    @app.command("runs")
    def runs_command(
        log: str | None = typer.Option(None, "--log", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List the runs in the log."""
        with _reading(log) as store:
            found = [run.summary() for run in list_runs(store)]
        if as_json:
            print_json(found)
            return
        for run in found:
            sys.stdout.write(
                f"{run['run_id']}  {run['status']:<9} {run['sessions']:>4} sessions  "
                f"{run['started_at']}  {run['name']}\n"
            )

    @app.command("replay")
    def replay_command(
        run_id: str = typer.Argument(..., help="The run id (or a unique prefix)."),
        date: str | None = typer.Option(None, "--date", help="The session date (default: the run's last)."),
        until: str | None = typer.Option(None, "--until", help="Stop after this seq, or at this simulated time."),
        symbol: str | None = typer.Option(None, "--symbol", help="Show only this symbol."),
        log: str | None = typer.Option(None, "--log", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the export shape as JSON."),
    ) -> None:
        """The session state rebuilt from the log at a point (default: when the session ended)."""
        with _reading(log) as store:
            document = _state_document(store, run_id, date, until)
        if symbol is not None:
            document["symbols"] = {s: d for s, d in document["symbols"].items() if s == symbol.upper()}
            document["rejected"] = {s: r for s, r in document["rejected"].items() if s == symbol.upper()}
        if as_json:
            print_json(document)
        else:
            _print_state(document)

    @app.command("explain")
    def explain_command(
        run_id: str = typer.Argument(..., help="The run id (or a unique prefix)."),
        symbol: str = typer.Argument(..., help="The symbol."),
        date: str | None = typer.Option(None, "--date", help="The session date (default: the run's last)."),
        interval: str | None = typer.Option(None, "--interval", help="Explain this interval of the symbol."),
        indicator: str | None = typer.Option(None, "--indicator", help="Explain this indicator key."),
        log: str | None = typer.Option(None, "--log", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """The events that made a symbol, interval or indicator, back to the request and its source."""
        if interval and indicator:
            raise UserError("explain: give --interval or --indicator, not both")
        symbol, interval, indicator = _explain_target(symbol, interval, indicator)
        with _reading(log) as store:
            found = explain(store, run_id, symbol, session_date=_date(date), interval=interval, indicator=indicator)
        if as_json:
            print_json(found.as_dict())
        else:
            _print_explanation(found)

    @app.command("audit")
    def audit_command(
        run_id: str = typer.Argument(..., help="The run id (or a unique prefix)."),
        log: str | None = typer.Option(None, "--log", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Check the hash chain, seq contiguity and every transition: exit 0 clean, 1 naming the first bad event."""
        with _reading(log) as store:
            report = audit_run(store, run_id)
        if as_json:
            print_json(report.as_dict())
        if report.first_bad is not None:
            raise CheckFailed(f"audit: run {report.run_id}: first bad event: {report.first_bad}")
        if not as_json:
            clean = f"audit: run {report.run_id}: {report.streams} streams, {report.events} events, clean"
            stderr.print(clean, markup=False)

    @app.command("diff")
    def diff_command(
        run_a: str = typer.Argument(..., help="The first run id."),
        run_b: str = typer.Argument(..., help="The second run id."),
        log: str | None = typer.Option(None, "--log", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Compare two runs' events: exit 0 the same, 1 with the first divergent event."""
        with _reading(log) as store:
            report = diff_runs(store, run_a, run_b)
        if as_json:
            print_json(report.as_dict())
        else:
            for note in manifest_notes(report.manifest):
                stderr.print(f"diff: {note}", markup=False)
        if report.first is not None:
            raise CheckFailed(f"diff: runs {report.run_a} and {report.run_b} diverge at {report.first}")
        if not as_json:
            stderr.print(f"diff: same events ({report.streams} streams, {report.events} events)", markup=False)

    @app.command("export")
    def export_command(
        run_id: str = typer.Argument(..., help="The run id (or a unique prefix)."),
        date: str | None = typer.Option(None, "--date", help="The session date (default: the run's last)."),
        fmt: str = typer.Option(..., "--format", help="json or csv"),
        out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
        log: str | None = typer.Option(None, "--log", help=LOG_HELP),
    ) -> None:
        """The session state of a day, as JSON or CSV."""
        if fmt not in ("json", "csv"):
            raise UserError(f"--format: unknown format {fmt!r}; use json or csv")
        if out is not None:
            _check_out(out)
        with _reading(log) as store:
            run = get_run(store, run_id)
            day = pick_date(store, run.run_id, _date(date))
            state = replay_day(store, run.run_id, day)
        if fmt == "csv":
            text = state_csv(state)
        else:
            text = json.dumps(state_json(state, run.run_id), indent=2, default=str) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            try:
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UserError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
            stderr.print(f"export: wrote {out}", markup=False)

    db = typer.Typer(help="The event log's database.", no_args_is_help=True)

    @db.command("upgrade")
    def db_upgrade(log: str | None = typer.Option(None, "--log", help=LOG_HELP)) -> None:
        """Apply the Alembic migrations to the log (creating it if it does not exist)."""
        url = resolve_log_url(log)
        try:
            before, after = migrate.upgrade(url)
        except EventLogError as exc:
            raise UserError(str(exc)) from None
        if before == after:
            stderr.print(f"db upgrade: {url} is at the head revision {after}", markup=False)
        else:
            stderr.print(f"db upgrade: {url}: {before or 'empty'} -> {after}", markup=False)

    @db.command("current")
    def db_current(
        log: str | None = typer.Option(None, "--log", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """The log's schema revision and the head this daytape needs."""
        url = resolve_log_url(log)
        try:
            current = migrate.current_revision(url)
        except EventLogError as exc:
            raise UserError(str(exc)) from None
        head = migrate.head_revision()
        if as_json:
            print_json({"log": url, "current": current, "head": head})
        else:
            sys.stdout.write(f"{url}: revision {current or 'none'} (head {head})\n")

    app.add_typer(db, name="db")
