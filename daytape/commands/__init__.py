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
)


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
