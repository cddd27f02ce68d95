"""Ticker symbols: the one rule for what a symbol may be, without pydantic, so the CLI's option
parsers can use it at start-up."""

from __future__ import annotations

import re
from typing import Any

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,15}$")


def normalize_symbol(value: Any) -> str:
    """Upper-case a ticker and check it; the message names the bad value."""
    if not isinstance(value, str):
        raise ValueError(f"symbol must be a string, got {value!r}")
    symbol = value.upper()
    if not SYMBOL_PATTERN.match(symbol):
        raise ValueError(
            f"invalid symbol {value!r}: letters, digits, '.', '_' or '-', no spaces, at most 16 characters"
        )
    return symbol
