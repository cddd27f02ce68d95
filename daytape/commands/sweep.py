"""`daytape sweep FILE --grid GRID.yaml`: one run per grid point; `daytape sweep-report SWEEP`: the points."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import typer

from daytape.commands import UsageCommand
from daytape.commands.run import open_log
from daytape.errors import CheckFailed, UserError
from daytape.output import plugin_output_to_stderr, print_json, stderr
from specs.status import RunStatus

REPORT_FORMATS = ("text", "csv", "json")
REPORT_COLUMNS = ("point", "status", "run_id", "seal")


def register(app: typer.Typer) -> None:
    @app.command("sweep", cls=UsageCommand)
    def sweep(
        file: Path = typer.Argument(..., metavar="FILE", help="The session YAML file."),
        grid: Path = typer.Option(..., "--grid", help="YAML mapping of config paths to lists of values."),
        log: str | None = typer.Option(None, "--log", help="Event log URL (else $DAYTAPE_LOG_URL, the file's log)."),
        workers: int = typer.Option(1, "--workers", help="Parallel workers for process or dask executors."),
        executor: str = typer.Option("serial", "--executor", help="serial, process or dask."),
        scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (default: local)."),
        as_json: bool = typer.Option(False, "--json", help="Print {sweep, points} as JSON."),
    ) -> None:
        """Run the session file once per point of the grid, all in one log; print the sweep id.

        A point already run in the sweep with the same manifest (config, data, code, seed) and completed
        is reused; a point whose run was cut off is resumed. Exit 1 when a point's run did not complete.

        \b
        Example:
          daytape sweep examples/lean-oct-2013.yaml --grid grid.yaml --log sqlite:///sweep.db
        """
        from daytape.preflight import check_session_file
        from daytape.runner import RunOptions, check_options
        from daytape.sweep import grid_points, load_grid, run_sweep

        checked = check_session_file(file, None, None, log)
        grid_values = load_grid(grid)
        grid_points(checked.config, grid_values)  # a bad point is refused before a log is made
        options = RunOptions(workers=workers, backend=executor, scheduler=scheduler)
        check_options(options)
        log_store = open_log(checked.log_url, create=True)
        try:
            with plugin_output_to_stderr():
                sweep_id, results = run_sweep(
                    log_store,
                    checked.config,
                    grid_values,
                    options,
                    on_point=lambda r: stderr.print(
                        f"  point {r.point.number} {r.action} {r.status} {r.run_id}", markup=False
                    ),
                )
        finally:
            log_store.close()
        if as_json:
            print_json({"sweep": sweep_id, "points": [r.as_json() for r in results]})
        else:
            print(sweep_id)
        unfinished = [r.point.number for r in results if r.status != RunStatus.COMPLETED]
        if unfinished:
            raise CheckFailed(f"sweep {sweep_id}: points {', '.join(map(str, unfinished))} did not complete")

    @app.command("sweep-report", cls=UsageCommand)
    def sweep_report_command(
        sweep: str = typer.Argument(..., metavar="SWEEP", help="The sweep id `daytape sweep` printed."),
        log: str | None = typer.Option(
            None, "--log", help="Event log URL (else $DAYTAPE_LOG_URL, else sqlite:///daytape.db)."
        ),
        output_format: str = typer.Option("text", "--format", help="text, csv or json."),
    ) -> None:
        """A table of the sweep's points: status, run id, seal, the parameters of each and the figures its
        plugins returned from on_session_end (numbers summed over the run's sessions; texts and flags the
        last session's). `daytape runs --sweep SWEEP` prints the same.

        \b
        Example:
          daytape sweep-report 9f8e7d6c --format csv --log sqlite:///sweep.db
        """
        print_sweep_report(sweep, log, output_format)


def print_sweep_report(sweep: str, log: str | None, output_format: str) -> None:
    """`sweep-report SWEEP` (and `runs --sweep SWEEP`): the table as text, CSV or JSON on stdout."""
    from daytape.logurl import resolve_log_url
    from daytape.sweep import FIGURE_RULE, report_columns, sweep_report

    if output_format not in REPORT_FORMATS:
        raise UserError(f"--format: unknown format {output_format!r}; use text, csv or json")
    log_store = open_log(resolve_log_url(log), create=False, read_only=True)
    try:
        rows = sweep_report(log_store, sweep)
    finally:
        log_store.close()
    parameters, figures = report_columns(rows)
    if output_format == "json":
        print_json({"sweep": sweep, "figures_rule": FIGURE_RULE, "points": rows})
        return
    header = [*REPORT_COLUMNS, *parameters, *figures]
    table = [
        [
            *(row[key] for key in REPORT_COLUMNS),
            *(row["parameters"].get(name) for name in parameters),
            *(row["figures"].get(name) for name in figures),
        ]
        for row in rows
    ]
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([_cell(value, "") for value in line] for line in table)
        return
    text = [[_cell(value, "-") for value in line] for line in table]
    widths = [max(len(name), *(len(line[i]) for line in text)) for i, name in enumerate(header)]
    for line in [header, *text]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _cell(value: object, none: str) -> str:
    if value is None:
        return none
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
