"""One recording path: a batch is applied to a copy, written, and only then becomes the state.

The oracle is the sink: at every moment the coordinator's state equals a fresh state that applied
exactly the events the sink holds, so a refused write must leave no trace in the state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from specs.events import EventBase
from statemachine.coordinator import SessionCoordinator
from statemachine.sink import InMemorySink
from statemachine.state import SessionState
from tests.statemachine.conftest import CoordinatorFactory
from tests.statemachine.support import DAY1


class RefusingSink(InMemorySink):
    """An in-memory sink whose appends fail while `refusing` (a full disk, a lost server)."""

    def __init__(self) -> None:
        super().__init__()
        self.refusing = False

    def append(self, session_date: dt.date, events: Sequence[EventBase]) -> list[int]:
        if self.refusing:
            raise OSError(28, "No space left on device")
        return super().append(session_date, events)


def _replayed(sink: InMemorySink) -> SessionState:
    return SessionState().apply_all(list(sink.events(DAY1)))


@pytest.fixture
def day(make_coordinator: CoordinatorFactory) -> tuple[SessionCoordinator, RefusingSink]:
    coordinator, _ = make_coordinator()
    sink = RefusingSink()
    coordinator.sink = sink
    coordinator.begin_day(DAY1)
    coordinator.load_config_symbols()
    coordinator.start_streaming()
    return coordinator, sink


@pytest.mark.parametrize(
    "ask",
    [
        pytest.param(lambda c: c.add_symbol("AAPL"), id="skipped"),
        pytest.param(lambda c: c.add_symbol("TSLA"), id="completed"),
        pytest.param(lambda c: c.add_symbol("NOPE"), id="rejected"),
        pytest.param(lambda c: c.add_indicator("MSFT", "ema_9_15m"), id="indicator"),
        pytest.param(lambda c: c.report_figures("p:Strategy", {"trades": 3}), id="figures"),
    ],
)
def test_a_refused_write_leaves_the_state_as_the_log_has_it(day, ask) -> None:
    coordinator, sink = day
    before = _replayed(sink)
    assert coordinator.state == before
    sink.refusing = True
    with pytest.raises(OSError):
        ask(coordinator)
    assert coordinator.state == before == _replayed(sink)
    sink.refusing = False
    ask(coordinator)
    assert coordinator.state == _replayed(sink) != before


def test_thousands_of_requests_stay_in_one_plain_dict(day) -> None:
    """A trial's requests lie over the day's dict only until it is recorded (`settle`)."""
    coordinator, sink = day
    for _ in range(50):
        assert coordinator.add_symbol("AAPL").status == "skipped"
    assert type(coordinator.state.requests) is dict
    assert coordinator.state == _replayed(sink)
    assert [r.status for r in list(coordinator.state.requests.values())[-50:]] == ["skipped"] * 50
