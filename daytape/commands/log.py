"""The event log's commands: runs, replay, explain, audit, diff, export and `db upgrade`.

Each takes `--log URL` (else $DAYTAPE_LOG_URL, else `sqlite:///daytape.db`). Reading never
creates a log; an unknown run id, a missing date or a log whose schema is behind is exit 2 with
one line; audit and diff exit 1 when they find something. replay, explain, export and diff verify
the hash chain of each stream they read and exit 1 naming its first bad event (`--no-verify` skips it).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from daytape.commands import UsageCommand
from daytape.errors import CheckFailed, UserError
from daytape.logurl import resolve_log_url
from daytape.output import print_json, stderr
from eventlog.errors import EventLogError, TamperedStream

if TYPE_CHECKING:
    from eventlog.explain import Explanation
    from eventlog.store import EventStore

LOG_HELP = "The event log URL (default: $DAYTAPE_LOG_URL, else sqlite:///daytape.db)."
NO_VERIFY_HELP = "Do not verify the hash chain of the streams read (faster; a forged stream goes unnoticed)."


@contextmanager
def _reading(log: str | None, command: str = "daytape") -> Iterator[EventStore]:
    """Open the log for reading; a stream that fails verification is a one-line exit 1, every other
    event-log error a one-line exit 2."""
    from eventlog.store import open_store

    url = resolve_log_url(log)
    try:
        store = open_store(url, create=False, read_only=True)
    except EventLogError as exc:
        raise UserError(str(exc)) from None
    try:
        yield store
    except TamperedStream as exc:
        raise CheckFailed(
            f"{command}: {exc}; refusing to read a tampered log "
            f"(daytape audit {exc.run_id} checks the whole run; --no-verify reads it anyway)"
        ) from None
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


def _state_document(
    store: EventStore, run: str, date: str | None, until: str | None, verify: bool = True
) -> dict[str, Any]:
    from eventlog.reading import pick_date, resolve_run_id
    from eventlog.replay import parse_until, replay_day
    from statemachine.export import state_json

    run_id = resolve_run_id(store, run)
    day = pick_date(store, run_id, _date(date))
    until_seq: int | None = None
    until_time: dt.datetime | None = None
    if until is not None:
        try:
            point = parse_until(until, _exchange_tz(store, run_id), day)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if isinstance(point, int):
            until_seq = point
        else:
            until_time = point
    state = replay_day(store, run_id, day, until_seq=until_seq, until_time=until_time, verify=verify)
    document = state_json(state, run_id)
    document["date"] = day.isoformat()
    document["events_applied"] = state.events_applied
    document["figures"] = {plugin: dict(figures) for plugin, figures in state.plugin_figures.items()}
    return document


def _exchange_tz(store: EventStore, run_id: str) -> dt.tzinfo:
    """The time zone of the run's exchange: plugins see exchange time, so a naive `--until` means it too."""
    from eventlog.reading import get_run
    from marketdata.calendar import get_calendar  # the calendar is built only for a replay that needs it

    exchange = json.loads(get_run(store, run_id).config_json).get("exchange", "XNYS")
    return get_calendar(exchange).tz


def _with_seal_column(text: str, seal: str | None) -> str:
    """The CSV export with the run's seal as its last column (empty while the run is open)."""
    lines = text.splitlines()
    if not lines:
        return text
    return "\n".join([lines[0] + ",seal", *(line + "," + (seal or "") for line in lines[1:])]) + "\n"


def _explain_target(symbol: str, interval: str | None, indicator: str | None) -> tuple[str, str | None, str | None]:
    """The symbol and the interval or indicator key, checked and in their canonical spelling."""
    from specs.indicators import IndicatorSpec, IndicatorSpecError
    from specs.intervals import Interval, IntervalError
    from specs.symbols import normalize_symbol

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


def _value_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {_value_text(v)}" for k, v in value.items()) + "}"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _interval_text(interval: str, bars: dict[str, Any]) -> str:
    """`1m (389 bars, quality 0.9974, 1 gap, bad: 1 nan_price)` or `5m (78 bars)`."""
    parts = [f"{bars['count']} bars"]
    if bars.get("quality") is not None:
        gaps = len(bars.get("gaps", []))
        parts.append(f"quality {bars['quality']:.4f}, {gaps} gap{'s' if gaps != 1 else ''}")
    if bars.get("flagged"):
        parts.append("bad: " + ", ".join(f"{count} {why}" for why, count in sorted(bars["flagged"].items())))
    return f"{interval} ({', '.join(parts)})"


def _print_state(document: dict[str, Any]) -> None:
    """The state as text: each symbol with its intervals (bars, quality), its indicators' values, and the
    requests that were rejected or failed."""
    out = sys.stdout
    out.write(
        f"run {document['run_id']}  date {document['date']}  session {document['session_state']}  "
        f"({document['events_applied']} events)\n"
    )
    for symbol, data in document["symbols"].items():
        meta = data["metadata"]
        out.write(f"  {symbol:<8} {data['state']:<6} added_by={meta['added_by']}\n")
        intervals = "; ".join(_interval_text(name, bars) for name, bars in data["bars"].items()) or "-"
        out.write(f"    intervals:  {intervals}\n")
        indicators = [
            f"{key}={_value_text(item['current_value'])}" + ("" if item["valid"] else " (warming up)")
            for key, item in data["indicators"].items()
        ]
        out.write(f"    indicators: {'; '.join(indicators) or '-'}\n")
    for symbol, reason in document.get("rejected", {}).items():
        out.write(f"  {symbol:<8} rejected: {reason}\n")
    for symbol, reason in document.get("failed", {}).items():
        out.write(f"  {symbol:<8} failed: {reason}\n")
    for plugin, figures in document.get("figures", {}).items():
        out.write(f"  figures of {plugin}: {', '.join(f'{k}={v}' for k, v in figures.items()) or '-'}\n")


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


def _verdict(text: str, document: dict[str, Any], as_json: bool) -> None:
    """A check's result on stdout, as text or as the JSON document (a failed check then also says it on
    stderr, where a script that reads only the exit code and the log sees it)."""
    if as_json:
        print_json(document)
    else:
        sys.stdout.write(text + "\n")


def _is_seal(text: str) -> bool:
    value = text.strip().lower()
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def listed_days(config_json: str) -> list[dt.date] | None:
    """The sessions a run's recorded config names (None when it is not a session config)."""
    from marketdata.calendar import get_calendar
    from marketdata.errors import MarketDataError
    from specs.config import SessionConfig

    try:
        config = SessionConfig.model_validate_json(config_json)
    except ValueError:
        return None
    try:
        return get_calendar(config.exchange).sessions(config.start, config.end)
    except MarketDataError:  # an exchange this daytape has no calendar for: the log alone decides
        return None


def register(app: typer.Typer) -> None:
    @app.command("runs", cls=UsageCommand)
    def runs_command(
        log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        sweep: str | None = typer.Option(
            None,
            "--sweep",
            metavar="SWEEP",
            help="Only that sweep's points, as `daytape sweep-report SWEEP` shows them.",
        ),
    ) -> None:
        """List the runs in the log, newest last, under a header.

        \b
        Example:
          daytape runs --log sqlite:///lean-oct-2013.db
        """
        if sweep is not None:
            from daytape.commands.sweep import print_sweep_report

            print_sweep_report(sweep, log, "json" if as_json else "text")
            return

        from daytape.runlist import print_runs

        print_runs(log, as_json)

    @app.command("replay", cls=UsageCommand)
    def replay_command(
        run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run id (or a unique prefix)."),
        date: str | None = typer.Option(
            None, "--date", metavar="DATE", help="The session date, YYYY-MM-DD (default: the run's last)."
        ),
        until: str | None = typer.Option(
            None,
            "--until",
            metavar="SEQ|TIME",
            help="Stop after this seq (42), or at this simulated time: 14:00 on the --date, 2013-10-09T14:00 "
            "(both in the exchange's time, as plugins see it), or with an offset (2013-10-09T18:00Z, ...T14:00-04:00) "
            "(default: the session's end).",
        ),
        symbol: str | None = typer.Option(
            None, "--symbol", metavar="SYMBOL", help="Show only this symbol (default: every symbol)."
        ),
        log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the export shape as JSON."),
        no_verify: bool = typer.Option(False, "--no-verify", help=NO_VERIFY_HELP),
    ) -> None:
        """The session state rebuilt from the log at a point (default: when the session ended): each symbol's
        state, intervals with their quality, indicator values, and the requests that were rejected or failed.

        \b
        Example:
          daytape replay 1a2b3c4d --date 2013-10-09 --until 11:00 --log sqlite:///lean-oct-2013.db
        """
        with _reading(log, "replay") as store:
            document = _state_document(store, run_id, date, until, verify=not no_verify)
        if symbol is not None:
            document["symbols"] = {s: d for s, d in document["symbols"].items() if s == symbol.upper()}
            document["rejected"] = {s: r for s, r in document["rejected"].items() if s == symbol.upper()}
            document["failed"] = {s: r for s, r in document["failed"].items() if s == symbol.upper()}
        if as_json:
            print_json(document)
        else:
            _print_state(document)

    @app.command("explain", cls=UsageCommand)
    def explain_command(
        run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run id (or a unique prefix)."),
        symbol: str = typer.Argument(..., metavar="SYMBOL", help="The symbol."),
        date: str | None = typer.Option(
            None, "--date", metavar="DATE", help="The session date, YYYY-MM-DD (default: the run's last)."
        ),
        interval: str | None = typer.Option(
            None,
            "--interval",
            metavar="INTERVAL",
            help="Explain this interval of the symbol, e.g. 5m (default: the symbol).",
        ),
        indicator: str | None = typer.Option(
            None, "--indicator", metavar="KEY", help="Explain this indicator key, e.g. sma_20_5m (default: the symbol)."
        ),
        log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        no_verify: bool = typer.Option(False, "--no-verify", help=NO_VERIFY_HELP),
    ) -> None:
        """The events that made a symbol, interval or indicator, back to the request and its source.

        \b
        Example:
          daytape explain 1a2b3c4d IBM --date 2013-10-09 --indicator sma_20_5m --log sqlite:///lean-oct-2013.db
        """
        from eventlog.explain import explain

        if interval and indicator:
            raise UserError("explain: give --interval or --indicator, not both")
        symbol, interval, indicator = _explain_target(symbol, interval, indicator)
        with _reading(log, "explain") as store:
            found = explain(
                store,
                run_id,
                symbol,
                session_date=_date(date),
                interval=interval,
                indicator=indicator,
                verify=not no_verify,
            )
        if as_json:
            print_json(found.as_dict())
        else:
            _print_explanation(found)

    @app.command("audit", cls=UsageCommand)
    def audit_command(
        run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run id (or a unique prefix)."),
        seal: str | None = typer.Option(
            None,
            "--seal",
            metavar="HASH",
            help="Check the log against this seal, 64 hex digits kept elsewhere (default: the stored seal only).",
        ),
        allow_open: bool = typer.Option(
            False, "--allow-open", help="Pass a run that is still open (running or interrupted) if nothing is wrong."
        ),
        log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Check every stream (hash chain, seq contiguity, recorded end, envelope, transitions) and the run
        (its days, status, config hash and seal): exit 0 clean, 1 naming the first bad event or the open day.
        The verdict goes to stdout (the JSON document with --json).

        \b
        Example:
          daytape audit 1a2b3c4d --seal $(cat seal.txt) --log sqlite:///lean-oct-2013.db
        """
        from eventlog.audit import audit_run
        from eventlog.reading import get_run

        if seal is not None and not _is_seal(seal):
            raise UserError(f"--seal {seal!r}: expected the 64 hex digits a run's seal is")
        with _reading(log, "audit") as store:
            run = get_run(store, run_id)
            report = audit_run(
                store, run.run_id, seal=seal, allow_open=allow_open, listed_days=listed_days(run.config_json)
            )
        failed = report.first_bad is not None or (report.open_reason is not None and not allow_open)
        if report.first_bad is not None:
            verdict = f"audit: run {report.run_id}: first bad event: {report.first_bad}"
        elif failed:
            verdict = f"audit: run {report.run_id}: {report.open_reason}"
        else:
            state = f"open ({report.open_reason})" if report.open_reason else "clean"
            sealed = f", seal {report.seal}" + (" (matches the seal given)" if seal else "")
            verdict = f"audit: run {report.run_id}: {report.streams} streams, {report.events} events{sealed}, {state}"
        _verdict(verdict, report.as_dict(), as_json)
        if failed:
            raise CheckFailed(verdict if as_json else "")

    @app.command("diff", cls=UsageCommand)
    def diff_command(
        run_a: str = typer.Argument(..., metavar="RUN_A", help="The first run id."),
        run_b: str = typer.Argument(..., metavar="RUN_B", help="The second run id."),
        log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        no_verify: bool = typer.Option(False, "--no-verify", help=NO_VERIFY_HELP),
    ) -> None:
        """Compare two runs' events: exit 0 the same, 1 with the first divergent event (the verdict on stdout).

        \b
        Example:
          daytape diff 1a2b3c4d 5e6f7a8b --log sqlite:///lean-oct-2013.db
        """
        from daytape.provenance import manifest_notes
        from eventlog.diff import diff_runs

        with _reading(log, "diff") as store:
            report = diff_runs(store, run_a, run_b, verify=not no_verify)
        notes = [f"diff: {note}" for note in manifest_notes(report.manifest)]
        if report.first is not None:
            verdict = f"diff: runs {report.run_a} and {report.run_b} diverge at {report.first}"
        else:
            verdict = f"diff: same events ({report.streams} streams, {report.events} events)"
        _verdict("\n".join([*notes, verdict]), report.as_dict(), as_json)
        if report.first is not None:
            raise CheckFailed(verdict if as_json else "")

    @app.command("export", cls=UsageCommand)
    def export_command(
        run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run id (or a unique prefix)."),
        date: str | None = typer.Option(
            None, "--date", metavar="DATE", help="The session date, YYYY-MM-DD (default: the run's last)."
        ),
        fmt: str = typer.Option(..., "--format", metavar="FORMAT", help="json or csv (--format csv)."),
        out: Path | None = typer.Option(None, "--out", metavar="PATH", help="Write to this file (default: stdout)."),
        log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP),
        no_verify: bool = typer.Option(False, "--no-verify", help=NO_VERIFY_HELP),
        complete: bool = typer.Option(
            False,
            "--complete",
            help="Add each interval's bars and indicator values, rebuilt from the run's bar store "
            "(CSV: one row per bar).",
        ),
    ) -> None:
        """The session state of a day, as JSON or CSV, with the run's seal (null while the run is open).

        \b
        Example:
          daytape export 1a2b3c4d --date 2013-10-09 --format csv --out state.csv --log sqlite:///lean-oct-2013.db
        """
        from eventlog.reading import get_run, pick_date
        from eventlog.replay import replay_day
        from statemachine.export import state_csv, state_json

        if fmt not in ("json", "csv"):
            raise UserError(f"--format: unknown format {fmt!r}; use json or csv")
        if out is not None:
            _check_out(out)
        with _reading(log, "export") as store:
            run = get_run(store, run_id)
            day = pick_date(store, run.run_id, _date(date))
            state = replay_day(store, run.run_id, day, verify=not no_verify)
            if complete:
                from daytape.completeexport import complete_csv, complete_json, rebuild_day

                rebuilt = rebuild_day(store, run.run_id, day, verify=not no_verify)
        if complete and fmt == "csv":
            text = _with_seal_column(complete_csv(state, rebuilt), run.seal)
        elif complete:
            document = {**complete_json(state, rebuilt, run.run_id), "seal": run.seal}
            text = json.dumps(document, indent=2, default=str) + "\n"
        elif fmt == "csv":
            text = _with_seal_column(state_csv(state), run.seal)
        else:
            document = {**state_json(state, run.run_id), "seal": run.seal}
            text = json.dumps(document, indent=2, default=str) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            try:
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UserError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
            stderr.print(f"export: wrote {out}", markup=False)

    db = typer.Typer(help="The event log's database.", no_args_is_help=True)

    @db.command("upgrade", cls=UsageCommand)
    def db_upgrade(log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP)) -> None:
        """Apply the Alembic migrations to the log (creating it if it does not exist).

        \b
        Example:
          daytape db upgrade --log postgresql://daytape@db.example/daytape
        """
        from eventlog import migrate

        url = resolve_log_url(log)
        try:
            before, after = migrate.upgrade(url)
        except EventLogError as exc:
            raise UserError(str(exc)) from None
        if before == after:
            sys.stdout.write(f"db upgrade: {url} is at the head revision {after}\n")
        else:
            sys.stdout.write(f"db upgrade: {url}: {before or 'empty'} -> {after}\n")

    @db.command("current", cls=UsageCommand)
    def db_current(
        log: str | None = typer.Option(None, "--log", metavar="URL", help=LOG_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """The log's schema revision and the head this daytape needs.

        \b
        Example:
          daytape db current --log sqlite:///lean-oct-2013.db
        """
        from eventlog import migrate

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
