"""The bars of a daytape bar store as the peers read them: run by a peer's own interpreter, so this
module imports only pyarrow and the standard library (no daytape, which needs another pandas)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MINUTE_NS = 60_000_000_000


def symbol_bars(store: Path, symbol: str) -> Any:
    """The symbol's 1m bars over every day of the store, as one pyarrow table ordered by time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((store / "1m" / f"symbol={symbol}").glob("*.parquet"))
    return pa.concat_tables([pq.read_table(path) for path in files])


def close_times_ns(table: Any) -> Any:
    """Each bar's close time (its open time plus a minute), in ns since the epoch: when it is known."""
    return table.column("ts").cast("int64").to_numpy() + MINUTE_NS


def report(figures: dict[str, Any]) -> None:
    """The peer's figures for the benchmark, as one JSON line on stdout."""
    sys.stdout.write(json.dumps(figures) + "\n")
