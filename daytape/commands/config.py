"""`daytape config check FILE`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from daytape.commands import UsageCommand
from daytape.output import plural, print_json


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Session files.", no_args_is_help=True)

    @group.command("check", cls=UsageCommand)
    def check(
        file: str = typer.Argument(..., metavar="FILE", help="The session YAML file."),
        as_json: bool = typer.Option(False, "--json", help="Print the parsed config as JSON."),
    ) -> None:
        """Check a session file as `daytape run` would before its first session (the fields, the exchange
        and its sessions in the range, the store, the log URL, the plugins and their params): exit 0, or 2
        with `FILE: field.path: problem`. The verdict goes to stdout.

        \b
        Example:
          daytape config check examples/lean-oct-2013.yaml
        """
        from daytape.configfile import load_session_file
        from daytape.preflight import check_session_file

        checked = check_session_file(Path(file))
        config = checked.config
        if as_json:
            print_json(load_session_file(file).to_yaml_dict())  # as the file says it, paths unresolved
        else:
            sessions = f"{plural(len(checked.days), 'session')} {config.start} .. {config.end}"
            live = ""
            if config.mode == "live":
                feed = config.live_feed
                live = (
                    f"live on {feed.feed}, history from {feed.history}, grace {feed.grace_seconds:g} s, "
                    f"missed minutes {feed.missed_minutes}, credentials in {feed.key_env}/{feed.secret_env}; "
                )
            sys.stdout.write(f"{file}: ok ({live}{plural(len(config.symbols), 'symbol')}, {sessions})\n")

    app.add_typer(group, name="config")
