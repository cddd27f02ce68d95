"""The end-to-end workload in backtrader, a peer of `bench_e2e`; run by the backtrader venv's python.

`python backtrader_e2e_peer.py STORE SYMBOLS SAMPLE_SYMBOLS`: reads every 1m bar of the symbols from the
store's Parquet files (each stamped with its close time, so a resampled bar closes with its last 1m bar),
resamples 5m and 15m, keeps SMA(20) on 5m, RSI(14) on 1m and EMA(50) on 15m per symbol, and the
strategy reads the three values of every symbol at every step. Prints one JSON line: seconds (loading
included), base bars, and the values at every quarter hour for the sample symbols.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import time
from pathlib import Path
from typing import Any

from peer_data import close_times_ns, report, symbol_bars

EPOCH = dt.datetime(1970, 1, 1)


def main(store: Path, symbols: list[str], sample: set[str]) -> None:
    import backtrader as bt
    import pandas as pd

    started = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)
    base_bars = 0
    for symbol in symbols:
        table = symbol_bars(store, symbol)
        frame = pd.DataFrame(
            {name: table.column(name).to_numpy() for name in ("open", "high", "low", "close", "volume")},
            index=pd.DatetimeIndex(close_times_ns(table).astype("datetime64[ns]")),
        ).assign(openinterest=0.0)
        base_bars += len(frame)
        feed = bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1, name=symbol)
        cerebro.adddata(feed)
    count = len(symbols)
    for feed in list(cerebro.datas):
        cerebro.resampledata(feed, timeframe=bt.TimeFrame.Minutes, compression=5)
    for feed in list(cerebro.datas[:count]):
        cerebro.resampledata(feed, timeframe=bt.TimeFrame.Minutes, compression=15)
    samples: dict[tuple[int, str], dict[str, Any]] = {}

    def value(line: Any) -> float | None:
        if len(line) == 0:
            return None
        number = float(line[0])
        return None if math.isnan(number) else number

    class ReadAll(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.by_symbol = []
            for i, symbol in enumerate(symbols):
                one, five, fifteen = self.datas[i], self.datas[count + i], self.datas[2 * count + i]
                self.by_symbol.append(
                    (
                        one,
                        symbol,
                        bt.indicators.SMA(five.close, period=20),
                        bt.indicators.RSI(one.close, period=14, safediv=True),
                        bt.indicators.EMA(fifteen.close, period=50),
                    )
                )

        def prenext(self) -> None:
            self.next()

        def next(self) -> None:
            for one, symbol, sma, rsi, ema in self.by_symbol:
                values = (value(sma), value(rsi), value(ema))
                if symbol in sample and len(one):
                    minute = int((one.datetime.datetime(0) - EPOCH).total_seconds() // 60)
                    if minute % 15 != 0:
                        continue
                    samples[(minute, symbol)] = dict(zip(("sma_20_5m", "rsi_14_1m", "ema_50_15m"), values, strict=True))

    cerebro.addstrategy(ReadAll)
    cerebro.run(runonce=False)
    seconds = time.perf_counter() - started
    report(
        {
            "seconds": seconds,
            "base_bars": base_bars,
            "samples": [{"minute": m, "symbol": s, **v} for (m, s), v in sorted(samples.items())],
        }
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2].split(","), set(filter(None, sys.argv[3].split(","))))
