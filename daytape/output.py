"""Where output goes: JSON documents to stdout, everything else to stderr."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

from rich.console import Console

#: Tables are drawn at least this wide, so that a pipe or a CI log (80 columns by default) does not squeeze them.
MIN_TABLE_WIDTH = 150

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, width=max(MIN_TABLE_WIDTH, shutil.get_terminal_size((MIN_TABLE_WIDTH, 24)).columns))


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
