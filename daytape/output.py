"""Where output goes: JSON documents to stdout, everything else to stderr."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console

#: Tables are drawn at least this wide, so that a pipe or a CI log (80 columns by default) does not squeeze them.
MIN_TABLE_WIDTH = 150


class _LazyConsole:
    """A rich Console made on first use: a command that never prints through rich never imports it (start-up)."""

    def __init__(self, make: Callable[[], Console]) -> None:
        self._make = make
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            self._console = self._make()
        return self._console

    def __getattr__(self, name: str) -> Any:
        if name in ("_make", "_console"):  # not set yet (a copy being made): never recurse
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __enter__(self) -> Console:
        return self._get().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        self._get().__exit__(*exc_info)


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout_console() -> Console:
    from rich.console import Console

    width = max(MIN_TABLE_WIDTH, shutil.get_terminal_size((MIN_TABLE_WIDTH, 24)).columns)
    return Console(highlight=False, width=width)


stderr = cast("Console", _LazyConsole(_stderr_console))
stdout = cast("Console", _LazyConsole(_stdout_console))


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def print_json(document: Any) -> None:
    """One JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(document, default=_default, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()
