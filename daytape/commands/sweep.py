"""`daytape sweep FILE --grid GRID.yaml`: one run per grid point; `daytape sweep-report SWEEP`: the points."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from daytape.commands import UsageCommand
from daytape.commands.run import open_log
from daytape.errors import CheckFailed, UserError
from daytape.output import plugin_output_to_stderr, print_json, stderr

REPORT_FORMATS = ("text", "csv", "json")
REPORT_COLUMNS = ("point", "status", "run_id", "seal", "overrides")


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
        options = RunOptions(workers=workers, executor=executor, scheduler=scheduler)
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
        unfinished = [r.point.number for r in results if r.status != "completed"]
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
        """A table of the sweep's points: status, run id, seal and the overrides of each.

        \b
        Example:
          daytape sweep-report 9f8e7d6c --format csv --log sqlite:///sweep.db
        """
        from daytape.logurl import resolve_log_url
        from daytape.sweep import sweep_report

        if output_format not in REPORT_FORMATS:
            raise UserError(f"--format: unknown format {output_format!r}; use text, csv or json")
        log_store = open_log(resolve_log_url(log), create=False, read_only=True)
        try:
            rows = sweep_report(log_store, sweep)
        finally:
            log_store.close()
        if output_format == "json":
            print_json({"sweep": sweep, "points": rows})
        elif output_format == "csv":
            writer = csv.DictWriter(sys.stdout, fieldnames=REPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows({key: row[key] for key in REPORT_COLUMNS} for row in rows)
        else:
            for row in rows:
                print(
                    f"{row['point']:>4}  {row['status']:<10} {row['run_id']}  {row['seal'] or '-'}  {row['overrides']}"
                )
