"""The command groups of the CLI; each module adds its commands to the app."""

from __future__ import annotations

import importlib

import typer

#: Modules that define `register(app)`; a module listed here that is missing is an error.
COMMAND_MODULES = (
    "daytape.commands.config",
    "daytape.commands.graph",
    "daytape.commands.calendar",
    "daytape.commands.data",
    "daytape.commands.bars",
    "daytape.commands.run",
    "daytape.commands.log",
    "daytape.commands.verify",
    "daytape.commands.demo",
    "daytape.report.command",
    "daytape.commands.sweep",
    "daytape.commands.feed",
)


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


class UsageCommand(typer.core.TyperCommand):
    """A command whose usage line names its arguments as its help does (`daytape run [OPTIONS] FILE`),
    not in typer's braces (`{file}`), which read as something to type."""

    def collect_usage_pieces(self, ctx: typer.core._click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or (param.name or "").upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces
