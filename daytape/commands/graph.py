"""`daytape graph [--format mermaid|dot]`: the lifecycle tables as diagrams."""

from __future__ import annotations

import sys

import typer

from daytape.commands import UsageCommand
from daytape.errors import UserError


def register(app: typer.Typer) -> None:
    @app.command("graph", cls=UsageCommand)
    def graph(
        fmt: str = typer.Option("mermaid", "--format", metavar="FORMAT", help="mermaid or dot (--format dot)."),
    ) -> None:
        """Draw the symbol and session lifecycles from the tables in specs.

        \b
        Example:
          daytape graph --format dot | dot -Tsvg > lifecycles.svg
        """
        from statemachine.diagrams import render

        if fmt not in ("mermaid", "dot"):
            raise UserError(f"--format: unknown format {fmt!r}; use mermaid or dot")
        sys.stdout.write(render(fmt))
