"""Edges the property tests found: aborting before a day, re-beginning a day, malformed request arguments."""

from __future__ import annotations

import pytest

from statemachine.errors import RequestError, StatemachineError
from tests.statemachine.support import DAY1


def test_abort_before_any_day_is_refused_and_writes_nothing(make_coordinator):
    coordinator, sink = make_coordinator()
    with pytest.raises(StatemachineError, match="cannot abort: no day has begun"):
        coordinator.abort("boom")
    assert sink.dates() == []
    assert coordinator.state.phase == "idle"


def test_an_aborted_day_cannot_be_begun_again_on_the_same_coordinator(make_coordinator):
    coordinator, sink = make_coordinator()
    coordinator.begin_day(DAY1)
    coordinator.abort("boom")
    before = sink.events(DAY1)
    with pytest.raises(StatemachineError, match=f"cannot begin {DAY1} again"):
        coordinator.begin_day(DAY1)
    assert sink.events(DAY1) == before
    assert [e.kind for e in before] == ["TeardownStarted", "LoadingStarted", "SessionAborted"]


@pytest.mark.parametrize("days", [-1, 1.5, True])
def test_malformed_days_are_refused_before_anything_is_logged(make_coordinator, days):
    coordinator, sink = make_coordinator()
    coordinator.begin_day(DAY1)
    before = sink.events(DAY1)
    with pytest.raises(RequestError, match=r"days must be a whole number of sessions >= 0"):
        coordinator.add_bar("AAPL", "5m", days=days)
    assert sink.events(DAY1) == before
    # the refused call used no request id: the next request is number 1
    outcome = coordinator.add_bar("AAPL", "5m", days=1)
    assert outcome.request_id.endswith("-0001")
