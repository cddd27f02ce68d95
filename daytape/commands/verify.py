"""`daytape verify RUN_ID`: exit 0 deterministic, 1 with the first divergence."""

from __future__ import annotations

import typer

from daytape.commands import UsageCommand
from daytape.commands.run import open_log, session_progress
from daytape.errors import CheckFailed
from daytape.logurl import resolve_log_url
from daytape.output import plugin_output_to_stderr, print_json
from eventlog.errors import TamperedStream


def register(app: typer.Typer) -> None:
    @app.command("verify", cls=UsageCommand)
    def verify(
        run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run to re-run (a unique prefix is enough)."),
        log: str | None = typer.Option(
            None,
            "--log",
            metavar="URL",
            help="The event log URL (default: $DAYTAPE_LOG_URL, else sqlite:///daytape.db).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
        quiet: bool = typer.Option(False, "--quiet", help="Nothing on stderr but errors."),
    ) -> None:
        """Re-run the run's stored config on the same data and compare the event streams.

        The verdict goes to stdout; progress (on a terminal) and what plugins print go to stderr.

        \b
        Example:
          daytape verify 1a2b3c4d --log sqlite:///lean-oct-2013.db
        """
        from daytape.verify import verify_run

        store = open_log(resolve_log_url(log), create=False, read_only=True)
        try:
            with plugin_output_to_stderr(), session_progress(not quiet and not as_json) as (options, _):
                result = verify_run(store, run_id, options)
        except TamperedStream as exc:
            raise CheckFailed(f"verify: {exc}; daytape audit {exc.run_id} checks the whole run") from None
        finally:
            store.close()
        if as_json:
            print_json(
                {
                    "run_id": result.run_id,
                    "deterministic": result.deterministic,
                    "data_changed": result.data_changed,
                    "code_changes": result.code_changes,
                    "config_altered": result.config_altered,
                    **result.report.as_dict(),
                }
            )
        else:
            print(result.message())
        if not result.deterministic:
            raise CheckFailed(result.message() if as_json else "")
