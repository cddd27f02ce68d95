"""`daytape config check FILE`."""

from __future__ import annotations

import typer

from daytape.output import print_json, stderr


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Session files.", no_args_is_help=True)

    @group.command("check")
    def check(
        file: str = typer.Argument(..., help="The session YAML file."),
        as_json: bool = typer.Option(False, "--json", help="Print the parsed config as JSON."),
    ) -> None:
        """Validate a session file: exit 0, or 2 with `FILE: field.path: problem`."""
        from daytape.configfile import load_session_file

        config = load_session_file(file)
        if as_json:
            print_json(config.to_yaml_dict())
        else:
            stderr.print(f"{file}: ok ({len(config.symbols)} symbols, {config.start} .. {config.end})", markup=False)

    app.add_typer(group, name="config")
