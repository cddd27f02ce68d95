"""The plugins' fast reads (`view.indicator`, `view.last_bar`, `view.indicator_all`) against pandas over
the same stored bars: at every step, the value at the last closed bar and the last closed bar itself."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from marketdata.timestamps import as_ns
from specs.intervals import Interval
from tests.statemachine.support import DAY1, stream_until


def _streaming(make_coordinator):
    coordinator, _ = make_coordinator()
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    return coordinator


def _closed_5m_closes(store, calendar, symbol: str) -> pd.Series:
    """5m closes of the regular sessions up to DAY1 from the stored 1m bars, indexed by their close time."""
    days = [d for d in store.days(symbol, "1m") if d <= DAY1]
    frame = store.read_days(symbol, Interval("1m"), days).table.to_pandas().set_index("ts")
    pieces = []
    for day in days:
        open_, close = calendar.open(day), calendar.close(day)
        regular = frame[(frame.index >= open_) & (frame.index < close)]
        five = regular["close"].resample("5min", origin=pd.Timestamp(open_)).last().dropna()
        pieces.append(pd.Series(five.to_numpy(), index=five.index + pd.Timedelta(minutes=5)))
    return pd.concat(pieces)


def test_at_every_step_the_sma_read_is_pandas_rolling_mean_of_the_closed_5m_bars(make_coordinator, store, calendar):
    coordinator = _streaming(make_coordinator)
    view = coordinator.view
    reference = _closed_5m_closes(store, calendar, "AAPL").rolling(20).mean()
    for t in coordinator.step_times():
        coordinator.advance_to(t)
        closed = reference[reference.index <= pd.Timestamp(t)]
        value = view.indicator("AAPL", "sma_20_5m")
        assert value == pytest.approx(float(closed.iloc[-1]), rel=1e-12), t
        assert view.indicator_all("sma_20_5m", ["AAPL"])[0] == value


def test_the_last_bar_is_the_last_row_of_the_closed_bars(make_coordinator):
    coordinator = _streaming(make_coordinator)
    view = coordinator.view
    assert view.last_bar("MSFT", "5m") is None
    for t in coordinator.step_times()[::7]:
        coordinator.advance_to(t - timedelta(microseconds=1))
        coordinator.advance_to(t)
        for interval in ("1m", "5m", "15m"):
            shown = view.bars("MSFT", interval)
            last = view.last_bar("MSFT", interval)
            if len(shown) == 0:
                assert last is None
                continue
            assert last.bar_close <= as_ns(t)
            assert (last.ts, last.close, last.volume, last.bar_close) == (
                int(shown.ts[-1]),
                float(shown.close[-1]),
                float(shown.volume[-1]),
                int(shown.bar_close[-1]),
            )
    with pytest.raises(KeyError, match="NOPE is not in the session"):
        view.last_bar("NOPE", "1m")
    with pytest.raises(KeyError, match="MSFT has no 1h bars"):
        view.last_bar("MSFT", "1h")


def test_the_cross_symbol_read_gives_every_symbol_in_order_with_nan_for_what_is_absent(make_coordinator):
    coordinator = _streaming(make_coordinator)
    stream_until(coordinator, 90)
    view = coordinator.view
    values = view.indicator_all("rsi_14_1m")
    assert values.dtype == np.float64 and len(values) == 2
    assert list(values) == [view.indicator("AAPL", "rsi_14_1m"), view.indicator("MSFT", "rsi_14_1m")]
    mixed = view.indicator_all("rsi_14_1m", ["MSFT", "NOPE"])
    assert mixed[0] == values[1] and math.isnan(mixed[1])
    assert math.isnan(view.indicator_all("nope_1m", ["AAPL"])[0])


def test_a_read_follows_an_indicator_added_during_the_day(make_coordinator):
    coordinator = _streaming(make_coordinator)
    stream_until(coordinator, 120)
    view = coordinator.view
    assert view.indicator("AAPL", "sma_9_15m") is None
    assert view.indicator("AAPL", "sma_20_5m") is not None  # the symbol's reads are built before the addition
    assert coordinator.add_indicator("AAPL", "sma_9_15m", source="strategy").status == "completed"
    book = coordinator.book.get("AAPL")
    indicator = book.indicators["sma_9_15m"]
    assert view.indicator("AAPL", "sma_9_15m") == indicator.value_at(book.indicator_index("sma_9_15m", view.now))
