"""Where output goes: JSON documents to stdout, everything else to stderr."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console

#: The width of tables written to a pipe or a file: fixed, so that what scripts read does not depend on
#: the terminal (or $COLUMNS) of whoever ran them.
PIPE_WIDTH = 200


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

    if sys.stdout.isatty():  # the terminal's width: rich shrinks the columns and wraps long cells to fit
        return Console(highlight=False, width=shutil.get_terminal_size().columns)
    return Console(highlight=False, width=PIPE_WIDTH, no_color=True, force_terminal=False, emoji=False)


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


def plural(count: int, noun: str) -> str:
    """`1 session`, `3 sessions`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def print_json(document: Any) -> None:
    """One JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(document, default=_default, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


@contextmanager
def plugin_output_to_stderr() -> Iterator[None]:
    """While plugins run, what they print goes to stderr, so that stdout keeps only daytape's own output
    (one JSON document with --json, the run id without). Both Python's `sys.stdout` and the process's
    file descriptor 1 are pointed at stderr: pool and Dask workers started meanwhile inherit the latter,
    and so does output from C code or a subprocess."""
    sys.stdout.flush()
    saved: int | None = None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # a closed stdout or stderr: Python's stream is all there is to move
        if saved is not None:
            os.close(saved)
            saved = None
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
