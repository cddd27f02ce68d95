"""The end-to-end workload in nautilus_trader, the peer of `bench_e2e`; run by the nautilus venv's python.

`python nautilus_peer.py STORE SYMBOLS SAMPLE_SYMBOLS`: reads every 1m bar of the symbols from the
store's Parquet files (each stamped with its close time, as Nautilus stamps bars), aggregates 5m and 15m
bars internally, keeps SMA(20) on 5m, RSI(14, Wilder) on 1m and EMA(50) on 15m per symbol, and a strategy
reads the three values of the bar's symbol on every 1m bar. Prints one JSON line: seconds (loading
included), base bars, and the values at every quarter hour for the sample symbols (RSI scaled to 0-100).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from peer_data import close_times_ns, report, symbol_bars


def main(store: Path, symbols: list[str], sample: set[str]) -> None:
    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import DataEngineConfig, LoggingConfig, StrategyConfig
    from nautilus_trader.indicators import (
        ExponentialMovingAverage,
        MovingAverageType,
        RelativeStrengthIndex,
        SimpleMovingAverage,
    )
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    started = time.perf_counter()
    engine = BacktestEngine(
        BacktestEngineConfig(
            logging=LoggingConfig(bypass_logging=True),
            data_engine=DataEngineConfig(time_bars_build_with_no_updates=False),
        )
    )
    venue = Venue("XNAS")
    engine.add_venue(
        venue=venue,
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=USD,
        starting_balances=[Money(10_000_000, USD)],
    )
    base_bars = 0
    instruments = []
    for symbol in symbols:
        instrument = TestInstrumentProvider.equity(symbol=symbol, venue="XNAS")
        engine.add_instrument(instrument)
        instruments.append(instrument)
        table = symbol_bars(store, symbol)
        frame = pd.DataFrame(
            {name: table.column(name).to_numpy() for name in ("open", "high", "low", "close", "volume")},
            index=pd.to_datetime(close_times_ns(table), utc=True),
        )
        bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
        engine.add_data(BarDataWrangler(bar_type, instrument).process(frame))
        base_bars += len(frame)

    samples: dict[tuple[int, str], dict[str, Any]] = {}

    class ReadAll(Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(StrategyConfig())
            self.by_symbol: dict[str, tuple[Any, Any, Any]] = {}

        def on_start(self) -> None:
            for instrument in instruments:
                one = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
                five = BarType.from_str(f"{instrument.id}-5-MINUTE-LAST-INTERNAL@1-MINUTE-EXTERNAL")
                fifteen = BarType.from_str(f"{instrument.id}-15-MINUTE-LAST-INTERNAL@1-MINUTE-EXTERNAL")
                sma, rsi, ema = (
                    SimpleMovingAverage(20),
                    RelativeStrengthIndex(14, MovingAverageType.WILDER),
                    ExponentialMovingAverage(50),
                )
                self.register_indicator_for_bars(five, sma)
                self.register_indicator_for_bars(one, rsi)
                self.register_indicator_for_bars(fifteen, ema)
                self.subscribe_bars(one)
                self.subscribe_bars(five)
                self.subscribe_bars(fifteen)
                self.by_symbol[instrument.id.symbol.value] = (sma, rsi, ema)

        def on_bar(self, bar: Bar) -> None:
            symbol = bar.bar_type.instrument_id.symbol.value
            sma, rsi, ema = self.by_symbol[symbol]
            values = (sma.value, rsi.value, ema.value)
            if symbol in sample:
                # The last bar handled at a quarter hour gives the values as of that minute (the aggregated
                # bars are built a few microseconds after the 1m bar that closes them).
                minute = bar.ts_event // 60_000_000_000
                if minute % 15 == 0:
                    samples[(minute, symbol)] = {
                        "sma_20_5m": values[0] if sma.initialized else None,
                        "rsi_14_1m": values[1] * 100 if rsi.initialized else None,
                        "ema_50_15m": values[2] if ema.initialized else None,
                    }

    engine.add_strategy(ReadAll())
    engine.run()
    seconds = time.perf_counter() - started
    engine.dispose()
    report(
        {
            "seconds": seconds,
            "base_bars": base_bars,
            "samples": [{"minute": m, "symbol": s, **v} for (m, s), v in sorted(samples.items())],
        }
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2].split(","), set(filter(None, sys.argv[3].split(","))))
