"""One exception root: every error a room raises on purpose is a `DaytapeError`, under its room's base.

The classes are found by importing every module of the rooms, so an error added anywhere later is held
to the same rule without this test naming it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from daytape.errors import CheckFailed, UserError
from eventlog.errors import EventLogError
from marketdata.errors import MarketDataError
from specs.errors import DaytapeError, SpecError
from statemachine.errors import StatemachineError

ROOM_BASES: dict[str, tuple[type[BaseException], ...]] = {
    "specs": (SpecError,),
    "marketdata": (MarketDataError,),
    "statemachine": (StatemachineError,),
    "eventlog": (EventLogError,),
    "daytape": (UserError, CheckFailed),
}

#: Control flow that never reaches a caller as an error: a stop signal (a BaseException, so that no
#: `except Exception` swallows it), a plugin's own exit, a step's failure the coordinator turns into
#: ProvisioningFailed, a plugin's session-end figures that are no figures (the day is aborted, recorded as
#: SessionAborted) and the look-ahead probe's stop.
CONTROL_FLOW = {
    "daytape.interrupt.Interrupted",
    "daytape.day.PluginExited",
    "daytape.lookahead.StopHere",
    "statemachine.executor.StepFailed",
}


def _room_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for room in ROOM_BASES:
        package = importlib.import_module(room)
        names = [room] + [info.name for info in pkgutil.walk_packages(package.__path__, room + ".")]
        for name in names:
            module = importlib.import_module(name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == name:
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return sorted(found.values(), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


EXCEPTIONS = _room_exceptions()


def test_the_rooms_define_the_errors_this_suite_expects():
    names = {cls.__name__ for cls in EXCEPTIONS}
    named_in_the_issue = {"IntervalError", "IndicatorSpecError", "ClockError", "PayloadError", "IllegalTransition"}
    assert named_in_the_issue | {"InvalidEvent", "TamperedStream", "CalendarError", "RequestError"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_error_of_a_room_is_under_its_room_s_base(cls):
    qualified = f"{cls.__module__}.{cls.__qualname__}"
    if qualified in CONTROL_FLOW:
        assert not issubclass(cls, DaytapeError), f"{qualified} is control flow, not an error to report"
        return
    if cls is DaytapeError:
        return
    room = cls.__module__.split(".")[0]
    assert issubclass(cls, DaytapeError), f"{qualified} is not a DaytapeError"
    assert issubclass(cls, ROOM_BASES[room]), f"{qualified} is not under {room}'s base"


def test_the_room_bases_are_under_the_root_and_not_under_each_other():
    bases = [base for group in ROOM_BASES.values() for base in group]
    assert all(issubclass(base, DaytapeError) for base in bases)
    for base in bases:
        assert [other for other in bases if other is not base and issubclass(base, other)] == []


def test_value_errors_stay_value_errors():
    """Spec and input errors stay ValueErrors: pydantic reports them as a field's validation error, and
    callers that caught ValueError still do."""
    from eventlog.errors import PayloadError
    from marketdata.clock import ClockError
    from specs.indicators import IndicatorSpecError
    from specs.intervals import IntervalError

    for cls in (IntervalError, IndicatorSpecError, ClockError, PayloadError):
        assert issubclass(cls, ValueError)
