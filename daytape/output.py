"""Where output goes: JSON documents to stdout, everything else to stderr."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
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
