"""FiguresReported: what a plugin returns from on_session_end, recorded while streaming, once per plugin a day."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from pydantic import ValidationError

from eventlog.explain import summarize
from specs import events as ev
from statemachine.state import InvalidEvent, SessionState
from tests.eventlog.streams import DayPlan, day_batches

DAY = dt.date(2024, 1, 3)


def _day(day: dt.date = DAY) -> list[ev.EventBase]:
    return [e for batch in day_batches(day, DayPlan(figures=False)) for e in batch]


def _until_streaming() -> list[ev.EventBase]:
    """A day's events up to (and with) StreamingStarted."""
    events = _day()
    return events[: next(i for i, e in enumerate(events) if e.kind == "StreamingStarted") + 1]


def test_figures_are_kept_per_plugin_while_streaming_and_cleared_by_the_next_day():
    state = SessionState().apply_all(_until_streaming())
    state.apply(ev.FiguresReported(plugin="a:Strategy", figures={"pnl": 1.5, "trades": 3, "ok": True, "note": "x"}))
    state.apply(ev.FiguresReported(plugin="a:Scanner", figures={}))
    assert state.plugin_figures == {"a:Strategy": {"pnl": 1.5, "trades": 3, "ok": True, "note": "x"}, "a:Scanner": {}}
    with pytest.raises(InvalidEvent, match="FiguresReported twice by a:Strategy"):
        state.apply(ev.FiguresReported(plugin="a:Strategy", figures={"pnl": 2.0}))
    state.apply_all(_day()[len(_until_streaming()) :])  # the rest of the day, to its teardown
    assert state.phase == "tearing_down" and "a:Strategy" in state.plugin_figures
    assert state.apply_all(_day(DAY + dt.timedelta(days=1))[1:2]).plugin_figures == {}


def test_figures_outside_streaming_are_refused():
    loading = _until_streaming()[:-1]
    state = SessionState().apply_all(loading)
    with pytest.raises(InvalidEvent, match="while the session is loading"):
        state.apply(ev.FiguresReported(plugin="a:Strategy", figures={"pnl": 1.0}))


def test_the_values_keep_their_types_through_json():
    event = ev.FiguresReported(plugin="a:S", figures={"flag": True, "count": 1, "ratio": 1.0, "text": "1"})
    back = ev.EVENT_ADAPTER.validate_json(event.model_dump_json())
    assert back == event
    assert [type(v) for v in back.figures.values()] == [bool, int, float, str]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("figures", "problem"),
    [
        ({"pnl": math.nan}, "not a finite number"),
        ({"pnl": math.inf}, "not a finite number"),
        ({"": 1}, "expected 1 to 64 printable characters"),
        ({"n" * 65: 1}, "expected 1 to 64 printable characters"),
        ({"note": "x" * 201}, "text longer than 200"),
        ({f"f{i}": i for i in range(65)}, "65 figures; at most 64"),
    ],
)
def test_figures_that_are_not_small_and_finite_are_refused(figures, problem):
    with pytest.raises(ValidationError, match=problem):
        ev.FiguresReported(plugin="a:S", figures=figures)


def test_explain_summarizes_the_figures():
    event = ev.FiguresReported(plugin="a:S", figures={"pnl": 2.5, "trades": 4})
    assert summarize(event) == "a:S reported pnl=2.5, trades=4"
