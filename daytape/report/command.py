"""`daytape report RUN [--date D ...] --out FILE.html`: the run as one offline HTML page."""

from __future__ import annotations

from pathlib import Path

import typer

from daytape.errors import UserError

LOG_HELP = "The event log URL (else $DAYTAPE_LOG_URL, else sqlite:///daytape.db)."


def report_command(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run id (or a unique prefix)."),
    out: Path = typer.Option(..., "--out", help="The HTML file to write."),
    date: list[str] = typer.Option([], "--date", help="A session date to show (repeat for more; default: all)."),
    log: str | None = typer.Option(None, "--log", help=LOG_HELP),
    tolerance: float | None = typer.Option(
        None,
        "--tolerance",
        metavar="X",
        help="The warm-up proof's largest relative difference allowed (default: 1e-6, as verify --warmup).",
    ),
    lookahead: bool = typer.Option(
        False,
        "--lookahead",
        help="Add the look-ahead proof (verify --lookahead) per day: it re-runs each day up to sampled moments.",
    ),
    samples: int | None = typer.Option(
        None, "--samples", metavar="N", help="With --lookahead: moments per day (default 3)."
    ),
    seed: int | None = typer.Option(
        None, "--seed", metavar="S", help="With --lookahead: the seed that draws them (default 0)."
    ),
) -> None:
    """Write one self-contained HTML page of the run: lanes, charts, requests, quality, state, manifest, and
    the warm-up proof of each day (with --lookahead, the look-ahead proof too).

    \b
    Example:
      daytape report 1a2b3c4d --date 2013-10-09 --out report.html --log sqlite:///lean-oct-2013.db
      daytape report 1a2b3c4d --lookahead --samples 5 --out report.html
    """
    import datetime as dt

    from daytape import __version__
    from daytape.api import open_log
    from daytape.output import plugin_output_to_stderr, stderr
    from daytape.report.html import render
    from daytape.report.model import Proofs, run_document

    try:
        dates = [dt.date.fromisoformat(d) for d in date]
    except ValueError:
        raise UserError(f"--date: expected session dates as YYYY-MM-DD, got {', '.join(date)}") from None
    if tolerance is not None and not tolerance >= 0:
        raise UserError(f"--tolerance: must be a number at least 0, got {tolerance}")
    if not lookahead and (samples is not None or seed is not None):
        raise UserError(f"{'--samples' if samples is not None else '--seed'}: goes with --lookahead")
    if samples is not None and samples < 1:
        raise UserError(f"--samples: must be at least 1, got {samples}")
    default = Proofs()
    proofs = Proofs(
        tolerance=default.tolerance if tolerance is None else tolerance,
        lookahead=lookahead,
        samples=default.samples if samples is None else samples,
        seed=default.seed if seed is None else seed,
    )
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; name the HTML file to write")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: no such folder {out.parent}")
    with open_log(log) as opened, plugin_output_to_stderr():
        run = opened.run(run_id)
        page = render(run_document(run, dates or None, proofs), __version__)
    out.write_text(page, encoding="utf-8")
    size = out.stat().st_size
    shown = len(dates) if dates else len(run.days)
    stderr.print(f"report: wrote {out} ({size / 1e6:.1f} MB, {shown} session days)", markup=False)


def register(app: typer.Typer) -> None:
    from daytape.commands import UsageCommand

    app.command("report", cls=UsageCommand)(report_command)
