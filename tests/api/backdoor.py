"""A strategy that reads the bar store's files directly (a back door round the view) at one time of day,
looking `minutes_ahead` past the clock: with 0 it reads the bar that has just closed (no look-ahead); with
more, a bar that has not closed yet, and what it asks for depends on it (a planted look-ahead). It finds
the store from its `store` param or, without one, through the session's private coordinator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from daytape.plugins import PluginContext, Strategy, parse_clock_time


class BackDoorPeeker(Strategy):
    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.store = Path(params["store"]) if "store" in params else None
        self.symbol = str(params.get("symbol", "SPY"))
        self.at = parse_clock_time(params.get("at", "09:31"), "at")
        self.minutes_ahead = int(params.get("minutes_ahead", 0))
        self.if_up, self.if_down = params.get("add", ["IBM", "BAC"])

    def on_step(self, ctx: PluginContext) -> None:
        if ctx.local_time != self.at:
            return
        day = ctx.view.session_date
        root = self.store or Path(ctx._coordinator.store.root)  # type: ignore[attr-defined]
        path = root / "1m" / f"symbol={self.symbol}" / f"{day.isoformat()}.parquet"
        table = pq.read_table(path)
        closes_at = ctx.now + dt.timedelta(minutes=self.minutes_ahead)
        opened = pa.scalar(closes_at - dt.timedelta(minutes=1), type=table.schema.field("ts").type)
        rows = table.filter(pc.equal(table.column("ts"), opened))
        if rows.num_rows == 0:
            return
        bar_open, bar_close = rows.column("open")[0].as_py(), rows.column("close")[0].as_py()
        ctx.add_symbol(self.if_up if bar_close >= bar_open else self.if_down)
