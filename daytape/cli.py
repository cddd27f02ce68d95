"""The `daytape` command. Each group of commands lives in `daytape.commands.*`.

Start-up: importing this module loads neither typer nor any room's libraries. `--version` and the plain forms of
`runs` (daytape.runlist) are answered before typer loads; the command modules import their heavy dependencies
inside the commands, when they run.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

from daytape import __version__
from daytape.errors import CheckFailed, UserError
from daytape.interrupt import Interrupted
from specs.errors import DaytapeError

if TYPE_CHECKING:
    import typer


def _print_version() -> None:
    print(f"daytape {__version__}")


def _version(value: bool) -> None:
    if value:
        import typer

        _print_version()
        raise typer.Exit()


@cache
def build_app() -> typer.Typer:
    """The app with every command registered (registering imports typer and the command modules, nothing heavy)."""
    import typer

    from daytape.commands import register_all

    app = typer.Typer(
        name="daytape",
        help="Run trading sessions day by day; every provisioning step is an event you can replay, audit and explain.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    ) -> None:
        """daytape: auditable, replayable backtest sessions."""

    register_all(app)
    return app


def _exit_code(exc: Interrupted | DaytapeError) -> int:
    """A domain error's exit code, its one line printed on stderr."""
    if isinstance(exc, Interrupted | UserError | CheckFailed):
        if str(exc):
            print(str(exc), file=sys.stderr)
        return exc.exit_code
    print(f"daytape: {exc}", file=sys.stderr)  # any room's error the command did not turn into a UserError itself
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: map domain errors to exit codes and one-line messages, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        _print_version()
        return 0
    from daytape.runlist import plain_arguments, print_runs

    listing = plain_arguments(args)
    if listing is not None:
        try:
            print_runs(*listing)
        except (Interrupted, DaytapeError) as exc:
            return _exit_code(exc)
        return 0
    import typer

    app = build_app()
    try:
        # standalone_mode=False: typer returns the code of a typer.Exit (its Exit(130) for Ctrl-C) instead of exiting
        code = app(args=argv, standalone_mode=False)
    except (Interrupted, DaytapeError) as exc:
        return _exit_code(exc)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("daytape: aborted", file=sys.stderr)
        return 130
    except Exception as exc:
        # typer bundles its own click; its usage errors carry format_message() and exit_code
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            message = exc.format_message()
            if type(exc).__name__ == "NoArgsIsHelpError":  # a group given no command: its help, on stdout
                print(message)
            elif message:
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
