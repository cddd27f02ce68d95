"""`daytape verify RUN_ID`: exit 0 deterministic, 1 with the first divergence."""

from __future__ import annotations

import typer

from daytape.commands import UsageCommand
from daytape.commands.run import open_log, session_progress
from daytape.errors import CheckFailed, UserError
from daytape.interrupt import Interrupted, check, stop_on_signals
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
        warmup: bool = typer.Option(
            False, "--warmup", help="Instead: recompute every indicator over 2x and 4x its warm-up history."
        ),
        tolerance: float | None = typer.Option(
            None,
            "--tolerance",
            metavar="X",
            help="With --warmup: the largest relative difference allowed (default: 1e-6).",
        ),
        lookahead: bool = typer.Option(
            False,
            "--lookahead",
            help="Instead: re-run each day up to sampled moments t without the later bars; compare the plugins' calls.",
        ),
        samples: int | None = typer.Option(
            None, "--samples", metavar="N", help="With --lookahead: moments per day (default 3)."
        ),
        seed: int | None = typer.Option(
            None, "--seed", metavar="S", help="With --lookahead: the seed that draws them (default 0)."
        ),
    ) -> None:
        """Re-run the run's stored config on the same data and compare the event streams (or, with --warmup,
        check that each indicator's warm-up was long enough, or with --lookahead that nothing looked ahead).

        A live run is re-run from its recorded tape (every frame at its recorded arrival time, on a simulated
        clock, through the same live path): no feed is needed. Its log is audited first: the tape is the input.

        The verdict goes to stdout; progress (on a terminal) and what plugins print go to stderr.

        \b
        Example:
          daytape verify 1a2b3c4d --log sqlite:///lean-oct-2013.db
          daytape verify 1a2b3c4d --warmup --tolerance 1e-6
          daytape verify 1a2b3c4d --lookahead --samples 5
        """
        if lookahead or samples is not None or seed is not None:
            if warmup or tolerance is not None:
                raise UserError("--lookahead: cannot go with --warmup or --tolerance")
            verify_lookahead(run_id, log, as_json, samples, seed, lookahead)
            return
        if warmup or tolerance is not None:
            verify_warmup(run_id, log, as_json, tolerance, warmup)
            return
        from daytape.verify import verify_run

        store = open_log(resolve_log_url(log), create=False, read_only=True)
        try:
            with stop_on_signals():
                with plugin_output_to_stderr(), session_progress(not quiet and not as_json) as (options, _):
                    result = verify_run(store, run_id, options)
                check()
        except TamperedStream as exc:
            raise CheckFailed(f"verify: {exc}; daytape audit {exc.run_id} checks the whole run") from None
        except Interrupted:
            raise Interrupted(f"interrupted; verify of run {run_id} did not finish (nothing was checked)") from None
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


def verify_warmup(run_id: str, log: str | None, as_json: bool, tolerance: float | None, warmup: bool) -> None:
    """`verify --warmup`: exit 1 when an indicator's first session value moves by more than the tolerance."""
    if not warmup:
        raise UserError("--tolerance: goes with --warmup")
    if tolerance is not None and not tolerance >= 0:
        raise UserError(f"--tolerance: must be a number at least 0, got {tolerance}")
    from daytape.api import open_log
    from daytape.warmup import DEFAULT_TOLERANCE, check_warmup

    with open_log(resolve_log_url(log)) as opened:
        report = check_warmup(opened.run(run_id), DEFAULT_TOLERANCE if tolerance is None else tolerance)
    if as_json:
        print_json(report.as_dict())
    else:
        for line in report.lines():
            print(line)
    if not report.ok:
        raise CheckFailed("" if not as_json else f"verify --warmup: run {report.run_id}: a warm-up was too short")


def verify_lookahead(
    run_id: str, log: str | None, as_json: bool, samples: int | None, seed: int | None, lookahead: bool
) -> None:
    """`verify --lookahead`: exit 1 naming the first plugin call that changed when later bars were removed."""
    if not lookahead:
        raise UserError(f"{'--samples' if samples is not None else '--seed'}: goes with --lookahead")
    if samples is not None and samples < 1:
        raise UserError(f"--samples: must be at least 1, got {samples}")
    from daytape.api import open_log
    from daytape.lookahead import DEFAULT_SAMPLES, DEFAULT_SEED

    with open_log(resolve_log_url(log)) as opened, plugin_output_to_stderr():
        report = opened.run(run_id).verify_lookahead(
            DEFAULT_SAMPLES if samples is None else samples, DEFAULT_SEED if seed is None else seed
        )
    if as_json:
        print_json(report.as_dict())
    else:
        for line in report.lines():
            print(line)
    if not report.ok:
        first = report.first.first_difference if report.first else ""
        raise CheckFailed("" if not as_json else f"verify --lookahead: run {report.run_id}: first at {first}")
