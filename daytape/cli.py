"""The `daytape` command. Each group of commands lives in `daytape.commands.*`."""

from __future__ import annotations

import sys

import typer

from daytape import __version__
from daytape.errors import CheckFailed, UserError
from daytape.interrupt import Interrupted
from eventlog.errors import EventLogError
from marketdata.errors import MarketDataError
from statemachine.errors import StatemachineError

app = typer.Typer(
    name="daytape",
    help="Run trading sessions day by day; every provisioning step is an event you can replay, audit and explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"daytape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """daytape: auditable, replayable backtest sessions."""


_registered = False


def _register_commands() -> None:
    global _registered
    if _registered:
        return
    from daytape.commands import register_all

    register_all(app)
    _registered = True


def main(argv: list[str] | None = None) -> int:
    """Entry point: map domain errors to exit codes and one-line messages, never a traceback."""
    _register_commands()
    try:
        # standalone_mode=False: typer returns the code of a typer.Exit (its Exit(130) for Ctrl-C) instead of exiting
        code = app(args=argv, standalone_mode=False)
    except Interrupted as exc:
        print(str(exc), file=sys.stderr)
        return Interrupted.exit_code
    except (UserError, CheckFailed) as exc:
        if str(exc):
            print(str(exc), file=sys.stderr)
        return exc.exit_code
    except (EventLogError, MarketDataError, StatemachineError) as exc:
        print(f"daytape: {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("daytape: aborted", file=sys.stderr)
        return 130
    except Exception as exc:
        # typer bundles its own click; its usage errors carry format_message() and exit_code
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            message = exc.format_message()
            if message:
                print(f"daytape: {message}", file=sys.stderr)
            return int(exc.exit_code)
        raise
    if isinstance(code, int) and not isinstance(code, bool):
        if code == Interrupted.exit_code:
            print("interrupted", file=sys.stderr)
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
