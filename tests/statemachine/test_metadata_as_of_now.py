"""Finding 5 of issue 16: the day's metadata a plugin reads is as of now, on the real SHY bars of 2008-03-10.

SHY is thinly traded: 313 of the 390 minutes of 2008-03-10 have a bar, in 56 gaps, the last at 15:42 New
York. A plugin at 09:35 used to read all of that through `view.state`. It must see the five minutes due by
09:35 and nothing after; the whole day's figures appear once the day has ended. The oracle is the LEAN zip
read with pandas (tests/marketdata/lean_minutes.py), not the code under test.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
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
from statemachine.export import state_json
from statemachine.sink import InMemorySink
from tests.marketdata.lean_minutes import lean_minute_frame
from tests.statemachine.support import seed_config, stream_to_close, stream_until

DAY = date(2008, 3, 10)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def shy_store(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> BarStore:
    store = BarStore(tmp_path_factory.mktemp("shy"))
    import_lean(lean_root, store, symbols=["SHY"])
    return store


def expected_figures(frame: pd.DataFrame, calendar: TradingCalendar, now: datetime) -> dict[str, object]:
    """Count, quality and gaps of the minutes due by `now`, by a naive walk over the calendar's minutes."""
    open_, close = calendar.open(DAY), calendar.close(DAY)
    have = set(frame.index[(frame.index >= open_) & (frame.index < close)])
    due = []
    minute = open_
    while minute < close and minute + MINUTE <= now:
        due.append(minute)
        minute += MINUTE
    gaps: list[dict[str, object]] = []
    for minute in due:
        if minute in have:
            continue
        if gaps and gaps[-1]["end"] == (minute - MINUTE).isoformat():
            gaps[-1] = {**gaps[-1], "end": minute.isoformat(), "missing": gaps[-1]["missing"] + 1}  # type: ignore[operator]
        else:
            gaps.append({"start": minute.isoformat(), "end": minute.isoformat(), "missing": 1})
    present = sum(1 for minute in due if minute in have)
    return {"count": present, "quality": present / len(due) if due else 1.0, "gaps": gaps}


def _streaming_shy(store: BarStore, calendar: TradingCalendar) -> tuple[SessionCoordinator, InMemorySink]:
    config = seed_config(
        symbols=["SHY"],
        start=DAY,
        end=DAY,
        derived=["5m"],
        historical={"enabled": True, "trailing_days": 1},
        indicators=[{"type": "sma", "period": 3, "interval": "5m"}],
    )
    sink = InMemorySink()
    coordinator = SessionCoordinator(
        config, StoreCache(store, calendar), calendar, sink, SimulatedClock(calendar.open(DAY) - MINUTE)
    )
    coordinator.begin_day(DAY)
    assert [o.status for o in coordinator.load_config_symbols()] == ["completed"]
    coordinator.start_streaming()
    return coordinator, sink


def test_at_0935_a_plugin_reads_the_quality_count_and_gaps_of_the_minutes_due_by_then(shy_store, lean_root, calendar):
    frame = lean_minute_frame(lean_root, "SHY", DAY)
    coordinator, sink = _streaming_shy(shy_store, calendar)
    stream_until(coordinator, 5)
    now = coordinator.view.now
    assert now.astimezone(calendar.tz).time().isoformat() == "09:35:00"

    seen = coordinator.view.state["symbols"]["SHY"]
    minutes = seen["bars"]["1m"]

    wanted = expected_figures(frame, calendar, now)
    assert {key: minutes[key] for key in ("count", "quality", "gaps")} == wanted
    assert minutes["count"] == len(coordinator.view.bars("SHY", "1m"))
    assert seen["bars"]["5m"]["count"] == 1
    assert all(datetime.fromisoformat(gap["end"]) + MINUTE <= now for gap in minutes["gaps"])
    assert seen["indicators"]["sma_3_5m"]["current_value"] == coordinator.view.indicator("SHY", "sma_3_5m")
    for event in sink.events(DAY):  # nothing written by 09:35 knows the day's later bars either
        if isinstance(event, ev.SessionBarsLoaded):
            assert (event.rows, event.flagged) == (0, {})
        if isinstance(event, ev.QualityCalculated):
            assert (event.expected, event.present, event.quality, event.gaps) == (0, 0, 1.0, [])


def test_the_whole_days_figures_are_recorded_when_the_day_ends(shy_store, lean_root, calendar):
    frame = lean_minute_frame(lean_root, "SHY", DAY)
    coordinator, sink = _streaming_shy(shy_store, calendar)
    stream_to_close(coordinator)
    coordinator.end_day()

    assert coordinator.ended_state is not None
    exported = state_json(coordinator.ended_state)["symbols"]["SHY"]["bars"]["1m"]
    wanted = expected_figures(frame, calendar, calendar.close(DAY))
    assert {key: exported[key] for key in ("count", "quality", "gaps")} == wanted
    assert (exported["count"], len(exported["gaps"])) == (313, 56)
    assert exported["quality"] == pytest.approx(313 / 390)
    last = datetime.fromisoformat(exported["gaps"][-1]["start"]).astimezone(calendar.tz)
    assert last.strftime("%H:%M") == "15:42"
    [streamed] = [e for e in sink.events(DAY) if isinstance(e, ev.SymbolStreamed)]
    assert streamed.sim_time == calendar.close(DAY)
    assert streamed.quality is not None and (streamed.quality.present, streamed.quality.expected) == (313, 390)
