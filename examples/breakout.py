"""A scanner written against daytape's plugin API: it watches a list of symbols and asks for an RSI
on any of them whose last closed 1m bar trades `spike` times its average volume so far.

It reads only what the view shows (closed bars; nothing from the future) and provisions through
`ctx.add_indicator`, so every request it makes is analyzed, validated, executed and logged.
"""

from __future__ import annotations

import numpy as np

from daytape.plugins import PluginContext, Scanner


class VolumeSpikeScanner(Scanner):
    def __init__(self, symbols: list[str], spike: float = 3.0, min_bars: int = 15) -> None:
        super().__init__(symbols=symbols, spike=spike, min_bars=min_bars)
        self.symbols = [s.upper() for s in symbols]
        self.spike = spike
        self.min_bars = min_bars

    def on_session_start(self, ctx: PluginContext) -> None:
        for symbol in self.symbols:
            ctx.add_bar(symbol, "1m")

    def on_step(self, ctx: PluginContext) -> None:
        for symbol in self.symbols:
            if ctx.view.symbols().get(symbol) is None or "rsi_14_1m" in ctx.view.indicators(symbol):
                continue
            bars = ctx.view.bars(symbol, "1m")
            if len(bars) < self.min_bars:
                continue
            volume = np.asarray(bars.volume)
            if volume[-1] > self.spike * volume[:-1].mean():
                ctx.add_indicator(symbol, {"type": "rsi", "period": 14, "interval": "1m"})
