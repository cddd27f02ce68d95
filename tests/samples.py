"""A small generated bar store and a session file on it, for tests that need a real run but not real data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from marketdata.calendar import get_calendar
from marketdata.generator import write_sample_store
from marketdata.store import BarStore

SAMPLE_SYMBOLS = ("SPY", "AAPL")
#: The store holds these sessions; a session file runs the last one, with the one before as history.
SAMPLE_FIRST, SAMPLE_LAST = dt.date(2023, 11, 20), dt.date(2023, 11, 21)


def write_sample(root: Path) -> Path:
    """Two symbols' 1m bars over two sessions under `root`; returns `root`."""
    write_sample_store(BarStore(root), SAMPLE_SYMBOLS, SAMPLE_FIRST, SAMPLE_LAST, get_calendar("XNYS"), seed=7)
    return root


def sample_session(store: Path, log_url: str, **overrides: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "name": "sample",
        "exchange": "XNYS",
        "start": SAMPLE_LAST.isoformat(),
        "end": SAMPLE_LAST.isoformat(),
        "store": str(store),
        "log": log_url,
        "symbols": list(SAMPLE_SYMBOLS),
        "streams": ["1m"],
        "derived": ["5m"],
        "historical": {"enabled": True, "trailing_days": 1},
        "indicators": [{"type": "sma", "period": 5, "interval": "5m"}],
    }
    session.update(overrides)
    return session


def write_yaml(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
