"""The plugins' view: closed bars only, indicator values at the last closed bar, nothing writable."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from marketdata.bars import SessionBars
from marketdata.derive import derive_sessions
from marketdata.indicators import compute
from marketdata.timestamps import as_ns
from specs.indicators import IndicatorSpec
from tests.properties import oracle
from tests.statemachine.support import DAY1, RSI_14_1M, SMA_20_5M, stream_until


def _streaming(make_coordinator):
    coordinator, sink = make_coordinator()
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    return coordinator, sink


def test_a_bar_is_not_shown_a_second_before_its_close(make_coordinator, calendar):
    coordinator, _ = _streaming(make_coordinator)
    view = coordinator.view
    first_5m_close = calendar.open(DAY1) + timedelta(minutes=5)

    coordinator.advance_to(first_5m_close - timedelta(seconds=1))
    assert len(view.bars("AAPL", "5m")) == 0
    assert len(view.bars("AAPL", "1m")) == 4
    assert (
        view.indicator("AAPL", "sma_20_5m") == coordinator.state.symbols["AAPL"].indicators["sma_20_5m"].current_value
    )

    coordinator.advance_to(first_5m_close)
    shown = view.bars("AAPL", "5m")
    assert len(shown) == 1 and int(shown.bar_close[0]) == as_ns(first_5m_close)


def test_at_every_step_the_view_shows_exactly_the_closed_bars(make_coordinator):
    coordinator, _ = _streaming(make_coordinator)
    view = coordinator.view
    whole_day = {key: coordinator.book.get("MSFT").intervals[key].bars for key in ("1m", "5m", "15m")}
    for t in coordinator.step_times():
        coordinator.advance_to(t - timedelta(microseconds=1))
        coordinator.advance_to(t)
        now = as_ns(view.now)
        for key, bars in whole_day.items():
            shown = view.bars("MSFT", key)
            assert np.all(shown.bar_close <= now)
            assert len(shown) == int(np.count_nonzero(bars.bar_close <= now))
    assert len(view.bars("MSFT", "15m")) == 26


def test_returned_arrays_are_read_only_copies_that_lead_nowhere(make_coordinator):
    coordinator, _ = _streaming(make_coordinator)
    stream_until(coordinator, 30)
    shown = coordinator.view.bars("AAPL", "1m")
    whole_day = coordinator.book.get("AAPL").intervals["1m"].bars

    for name in ("ts", "open", "high", "low", "close", "volume", "bar_close"):
        column = getattr(shown, name)
        assert not column.flags.writeable
        assert column.base is None  # its own memory: no path back to the day's later rows
        with pytest.raises(ValueError):
            column[0] = 0
    stolen = shown.close
    stolen.setflags(write=True)
    stolen[:] = -1.0
    assert float(whole_day.close[0]) > 0
    assert not whole_day.close.flags.writeable


def test_the_view_cannot_be_written_through(make_coordinator):
    coordinator, _ = _streaming(make_coordinator)
    view = coordinator.view
    with pytest.raises(AttributeError):
        view._coordinator = None
    with pytest.raises(AttributeError):
        view.now = None
    snapshot = view.state
    snapshot["symbols"].clear()
    assert sorted(view.state["symbols"]) == ["AAPL", "MSFT"]
    assert view.symbols() == {"AAPL": "full", "MSFT": "full"}


def test_indicator_values_are_the_batch_value_at_the_last_closed_bar(make_coordinator, calendar):
    coordinator, _ = _streaming(make_coordinator)
    stream_until(coordinator, 47)
    book = coordinator.book.get("AAPL")
    history = book.histories["1m"]
    closed = coordinator.view.bars("AAPL", "5m")
    series = SessionBars.concat([derive_sessions(history.bars, "5m", calendar, history.sessions), closed])

    expected = compute(SMA_20_5M, series, calendar).outputs["value"][-1]

    assert len(closed) == 9
    assert coordinator.view.indicator("AAPL", "sma_20_5m") == pytest.approx(expected, rel=1e-12)
    assert coordinator.view.indicator_ready("AAPL", RSI_14_1M.key)
    assert coordinator.view.indicator("AAPL", "nope_1m") is None


def test_a_multi_output_indicator_gives_a_dict(make_coordinator):
    coordinator, _ = _streaming(make_coordinator)
    stream_until(coordinator, 120)
    bands = IndicatorSpec(type="bollinger", period=20, interval="15m")
    assert coordinator.add_indicator("AAPL", bands, source="strategy").status == "completed"
    value = coordinator.view.indicator("AAPL", bands.key)
    assert set(value) == {"upper", "middle", "lower"}
    assert value["lower"] < value["middle"] < value["upper"]


def _resampled_history(bars: SessionBars, sessions, calendar, minutes: int) -> pd.DataFrame:
    """History bars resampled with pandas in bins anchored at each session's open (the test's own derivation)."""
    frame = pd.DataFrame(
        {"close": bars.close, "volume": bars.volume}, index=pd.to_datetime(bars.ts, utc=True).rename("ts")
    )
    pieces = []
    for day in sessions:
        open_, close = calendar.open(day), calendar.close(day)
        inside = frame[(frame.index >= open_) & (frame.index < close)]
        pieces.append(inside.resample(f"{minutes}min", origin=pd.Timestamp(open_)).agg({"close": "last"}).dropna())
    return pd.concat(pieces)


def test_indicators_are_read_at_the_last_closed_bar_at_every_step_never_one_ahead(make_coordinator, calendar):
    """At every step of the day and a second before it, each value is its definition over the warm-up and the
    bars closed by then: SMA(20) of 5m closes as a plain mean, RSI(14) of 1m closes by Wilder's loop."""
    coordinator, _ = _streaming(make_coordinator)
    view, book = coordinator.view, coordinator.book.get("AAPL")
    history = book.histories["1m"]
    warm_5m = _resampled_history(history.bars, history.sessions, calendar, 5)["close"].tolist()
    warm_5m = warm_5m[-book.indicators["sma_20_5m"].history_bars :]
    warm_1m = history.bars.close[-book.indicators["rsi_14_1m"].history_bars :].tolist()
    for t in coordinator.step_times():
        for moment in (t - timedelta(seconds=1), t):
            coordinator.advance_to(moment)
            closes_5m = warm_5m + view.bars("AAPL", "5m").close.tolist()
            assert view.indicator("AAPL", "sma_20_5m") == pytest.approx(sum(closes_5m[-20:]) / 20, rel=1e-12), moment
            rsi = oracle.rsi(warm_1m + view.bars("AAPL", "1m").close.tolist(), 14)[-1]
            assert view.indicator("AAPL", "rsi_14_1m") == pytest.approx(rsi, rel=1e-9, abs=1e-9), moment


def test_the_day_ends_with_what_was_streamed_by_the_close(make_coordinator):
    coordinator, sink = _streaming(make_coordinator)
    stream_until(coordinator, 30)
    coordinator.end_day()
    assert coordinator.book.symbols() == []  # nothing of the day is left to read after its end
    with pytest.raises(KeyError, match="AAPL is not in the session"):
        coordinator.view.bars("AAPL", "1m")
    streamed = {e.symbol: e for e in sink.events(DAY1) if e.kind == "SymbolStreamed"}
    aapl = streamed["AAPL"]
    assert aapl.bars == {"1m": aapl.bars["1m"], "5m": 78, "15m": 26}
    assert aapl.indicators["sma_20_5m"].valid
    assert aapl.indicators["sma_20_5m"].last_updated == coordinator.calendar.close(DAY1)
