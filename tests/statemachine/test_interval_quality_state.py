"""Quality on every interval, in the events, the state, the replay and the plugin's view, on LEAN data.

SHY on 2008-03-10 is thin (313 of 390 minutes), so its 5m and 15m bars are often built from part of their
minutes. The oracle (tests/marketdata/test_interval_quality.py's) counts the raw zip's minutes per window
with pandas. A plugin reads the figures as of its now; the log records them as of each event's sim_time
and the whole day's at the close; the replay of the log gives the state the run ended with.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from marketdata.calendar import TradingCalendar
from marketdata.clock import SimulatedClock
from marketdata.importers import import_lean
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs import events as ev
from statemachine.coordinator import SessionCoordinator
from statemachine.export import state_csv, state_json
from statemachine.sink import InMemorySink
from statemachine.state import replay
from tests.marketdata.lean_minutes import lean_minute_frame
from tests.marketdata.test_interval_quality import Expected, oracle
from tests.statemachine.support import seed_config, stream_to_close, stream_until

SHY_DAY = date(2008, 3, 10)
SHY_HISTORY = date(2008, 3, 7)
OCT_DAY = date(2013, 10, 9)
MINUTE = timedelta(minutes=1)
WINDOWS = {"1m": 1, "5m": 5, "15m": 15}


@pytest.fixture(scope="module")
def store(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> BarStore:
    bars = BarStore(tmp_path_factory.mktemp("quality-store"))
    import_lean(lean_root, bars, symbols=["SHY", "SPY", "IBM"])
    return bars


def exported(bars: dict) -> Expected:
    """An exported interval's quality figures in the oracle's terms."""

    def instant(text: str):
        return pd.Timestamp(text).to_pydatetime()

    return Expected(
        expected=bars["expected"],
        present=bars["present"],
        complete=bars["complete"],
        gaps=[(instant(g["start"]), instant(g["end"]), g["missing"]) for g in bars["gaps"]],
        partial=[(instant(p["start"]), p["expected"], p["present"]) for p in bars["partial"]],
    )


def from_event(figures: ev.IntervalQuality) -> Expected:
    return Expected(
        expected=figures.expected,
        present=figures.present,
        complete=figures.complete,
        gaps=[(g.start, g.end, g.missing) for g in figures.gaps],
        partial=[(p.start, p.expected, p.present) for p in figures.partial],
    )


def until_ended(events: list[ev.EventBase]) -> list[ev.EventBase]:
    """The day's events up to its SessionEnded (the teardown that follows empties the state)."""
    end = next(i for i, e in enumerate(events) if isinstance(e, ev.SessionEnded))
    return events[: end + 1]


def _shy(store: BarStore, calendar: TradingCalendar) -> tuple[SessionCoordinator, InMemorySink]:
    config = seed_config(
        symbols=["SHY"],
        start=SHY_DAY,
        end=SHY_DAY,
        derived=["5m", "15m"],
        historical={"enabled": True, "trailing_days": 1},
        indicators=[{"type": "sma", "period": 3, "interval": "5m"}],
    )
    sink = InMemorySink()
    clock = SimulatedClock(calendar.open(SHY_DAY) - MINUTE)
    coordinator = SessionCoordinator(config, StoreCache(store, calendar), calendar, sink, clock)
    coordinator.begin_day(SHY_DAY)
    assert [o.status for o in coordinator.load_config_symbols()] == ["completed"]
    coordinator.start_streaming()
    return coordinator, sink


@pytest.mark.parametrize("minutes", [5, 77, 200])
def test_a_plugin_reads_each_intervals_quality_as_of_now(store, lean_root, calendar, minutes):
    frame = lean_minute_frame(lean_root, "SHY", SHY_DAY)
    coordinator, sink = _shy(store, calendar)
    stream_until(coordinator, minutes)
    now = coordinator.view.now
    seen = coordinator.view.state["symbols"]["SHY"]["bars"]
    for interval, size in WINDOWS.items():
        wanted = oracle(frame, SHY_DAY, size, now=now)
        assert exported(seen[interval]) == wanted, interval
        assert seen[interval]["quality"] == (wanted.complete / wanted.expected if wanted.expected else 1.0)
    assert seen["5m"]["present"] == seen["5m"]["count"] == len(coordinator.view.bars("SHY", "5m"))
    # what the log holds by now was recorded at the open: nothing was due, nothing later is known
    [quality] = [e for e in sink.events(SHY_DAY) if isinstance(e, ev.QualityCalculated)]
    assert set(quality.intervals) == {"5m", "15m"}
    for figures in quality.intervals.values():
        assert (figures.expected, figures.present, figures.complete, figures.gaps, figures.partial) == (0, 0, 0, [], [])


def test_the_whole_days_interval_quality_is_recorded_at_the_close_and_replays(store, lean_root, calendar):
    frame = lean_minute_frame(lean_root, "SHY", SHY_DAY)
    coordinator, sink = _shy(store, calendar)
    stream_to_close(coordinator)
    coordinator.end_day()
    ended = coordinator.ended_state
    assert ended is not None
    document = state_json(ended)["symbols"]["SHY"]
    [streamed] = [e for e in sink.events(SHY_DAY) if isinstance(e, ev.SymbolStreamed)]
    assert set(streamed.intervals) == {"5m", "15m"}
    for interval, size in WINDOWS.items():
        wanted = oracle(frame, SHY_DAY, size)
        assert exported(document["bars"][interval]) == wanted, interval
        if interval != "1m":
            assert from_event(streamed.intervals[interval]) == wanted
            assert wanted.partial and document["bars"][interval]["quality"] < 1.0
    assert state_json(replay(until_ended(sink.events(SHY_DAY)))) == state_json(ended)


def test_the_history_quality_sits_beside_the_session_quality(store, lean_root, calendar):
    history = lean_minute_frame(lean_root, "SHY", SHY_HISTORY)
    wanted = oracle(history, SHY_HISTORY, 1)
    coordinator, _ = _shy(store, calendar)
    stream_to_close(coordinator)
    coordinator.end_day()
    ended = coordinator.ended_state
    assert ended is not None
    quality = ended.symbols["SHY"].quality
    assert quality is not None
    assert (quality.historical_expected, quality.historical_present) == (wanted.expected, wanted.present) == (390, 333)
    assert quality.historical_gaps == len(wanted.gaps)
    assert quality.historical_quality == pytest.approx(333 / 390)
    assert (quality.present, quality.expected) == (313, 390)  # the session's, at the close
    historical = state_json(ended)["symbols"]["SHY"]["historical"]
    assert historical["quality"] == pytest.approx(333 / 390)
    assert (historical["expected"], historical["present"], historical["gaps"]) == (390, 333, len(wanted.gaps))
    [row] = [line.split(",") for line in state_csv(ended).splitlines()[1:]]
    header = state_csv(ended).splitlines()[0].split(",")
    cells = dict(zip(header, row, strict=True))
    assert float(cells["historical_quality"]) == pytest.approx(333 / 390)
    five = state_json(ended)["symbols"]["SHY"]["bars"]["5m"]["quality"]
    assert f"5m={five}" in cells["interval_quality"].split(";")


def test_a_symbol_added_mid_session_records_its_derived_quality_as_of_then(store, lean_root, calendar):
    config = seed_config(
        symbols=["SPY"],
        start=OCT_DAY,
        end=OCT_DAY,
        derived=["5m", "15m"],
        historical={"enabled": True, "trailing_days": 1},
        indicators=[],
    )
    sink = InMemorySink()
    coordinator = SessionCoordinator(
        config, StoreCache(store, calendar), calendar, sink, SimulatedClock(calendar.open(OCT_DAY) - MINUTE)
    )
    coordinator.begin_day(OCT_DAY)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    stream_until(coordinator, 92)
    now = coordinator.view.now
    assert coordinator.add_symbol("IBM").status == "completed"
    [quality] = [e for e in sink.events(OCT_DAY) if isinstance(e, ev.QualityCalculated) and e.symbol == "IBM"]
    assert quality.sim_time == now
    frame = lean_minute_frame(lean_root, "IBM", OCT_DAY)
    for interval in ("5m", "15m"):
        wanted = oracle(frame, OCT_DAY, WINDOWS[interval], now=now)
        assert wanted.expected == 92 // WINDOWS[interval]
        assert from_event(quality.intervals[interval]) == wanted
    state = replay(sink.events(OCT_DAY))
    assert state.symbols["IBM"].bars["15m"].expected == 6
