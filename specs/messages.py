"""Validation errors as the one line a user reads (pydantic's own text spans several lines)."""

from __future__ import annotations

from pydantic import ValidationError

_PREFIXES = ("Value error, ", "Assertion failed, ")


def one_line(exc: ValidationError) -> str:
    """`field: problem; field: problem` (just `problem` when it is about the whole model)."""
    parts = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid"))
        for prefix in _PREFIXES:
            message = message.removeprefix(prefix)
        where = ".".join(str(item) for item in error.get("loc", ()) if not str(item).startswith("function-"))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or str(exc).splitlines()[0]
