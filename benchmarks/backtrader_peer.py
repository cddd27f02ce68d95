"""The streaming workload in backtrader, the peer of `bench_stream`.

Same data, same shape: N symbols, one session of 1m bars, 5m and 15m
resampled from them, SMA(20), EMA(20) and RSI(14) on each symbol's 1m bars,
a strategy whose `next` does nothing.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def frames(bars: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    import pandas as pd

    out = {}
    for symbol, cols in bars.items():
        index = pd.DatetimeIndex(cols["ts"]).tz_localize(None)
        out[symbol] = pd.DataFrame(
            {k: cols[k] for k in ("open", "high", "low", "close", "volume")}, index=index
        ).assign(openinterest=0.0)
    return out


def run_backtrader(bars: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """Seconds for cerebro.run() over the workload, and the base bars it streamed."""
    import backtrader as bt

    class NoOp(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.held = []
            for data in self.datas[: len(bars)]:
                self.held += [
                    bt.indicators.SMA(data.close, period=20),
                    bt.indicators.EMA(data.close, period=20),
                    bt.indicators.RSI(data.close, period=14),
                ]

        def next(self) -> None:
            pass

    cerebro = bt.Cerebro(stdstats=False)
    data_frames = frames(bars)
    feeds = []
    for symbol, frame in data_frames.items():
        feed = bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1, name=symbol)
        cerebro.adddata(feed)
        feeds.append(feed)
    for feed in feeds:
        cerebro.resampledata(feed, timeframe=bt.TimeFrame.Minutes, compression=5)
        cerebro.resampledata(feed, timeframe=bt.TimeFrame.Minutes, compression=15)
    cerebro.addstrategy(NoOp)
    started = time.perf_counter()
    cerebro.run()
    elapsed = time.perf_counter() - started
    base_bars = sum(len(cols["ts"]) for cols in bars.values())
    return {"seconds": elapsed, "base_bars": base_bars, "bars_per_s": base_bars / elapsed}
