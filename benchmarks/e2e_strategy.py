"""The strategy of the end-to-end benchmark (`bench_e2e`), run by `daytape run` as a plugin.

Every minute it reads each indicator of every symbol through the view, as a strategy that scans its
universe does. For the symbols in `sample_symbols` it also records the values at every quarter hour
(exchange time) and appends them to `sample_out` as JSON lines, so the benchmark can compare them with
the peers' values for the same bars.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daytape.plugins import PluginContext, Strategy


class ReadAllStrategy(Strategy):
    """Reads `keys` for every symbol at every step; records a sample of them."""

    def __init__(self, keys: list[str], sample_symbols: list[str] | None = None, sample_out: str | None = None) -> None:
        super().__init__(keys=keys, sample_symbols=sample_symbols, sample_out=sample_out)
        self.keys = list(keys)
        self.sample_symbols = list(sample_symbols or [])
        self.sample_out = sample_out
        self.symbols: list[str] = []
        self.samples: list[dict[str, Any]] = []
        self.reads = 0

    def on_session_start(self, ctx: PluginContext) -> None:
        self.symbols = sorted(ctx.view.symbols())

    def on_step(self, ctx: PluginContext) -> None:
        view = ctx.view
        keys = self.keys
        for symbol in self.symbols:
            for key in keys:
                view.indicator(symbol, key)
        self.reads += len(self.symbols) * len(keys)
        if self.sample_out and ctx.now.minute % 15 == 0:
            stamp = ctx.now.isoformat()
            for symbol in self.sample_symbols:
                values = {key: view.indicator(symbol, key) for key in keys}
                self.samples.append({"t": stamp, "symbol": symbol, **values})

    def on_session_end(self, ctx: PluginContext) -> None:
        if self.sample_out and self.samples:
            with Path(self.sample_out).open("a") as out:
                out.writelines(json.dumps(sample) + "\n" for sample in self.samples)
