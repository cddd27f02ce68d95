"""`fire`'s lookup of (state, trigger) agrees with `transitions` firing the same Machine, move for move."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from transitions import Machine, MachineError

from specs.lifecycle import SESSION_STATES, SESSION_TRANSITIONS, SYMBOL_STATES, SYMBOL_TRANSITIONS, Transition
from statemachine.machines import IllegalTransition, fire, moves, session_machine, symbol_machine


@dataclass
class Model:
    state: str


def _model(machine: Machine, state: str) -> SimpleNamespace:
    """A model holding `state` where `machine` keeps it (a symbol's `state`, the session's `phase`)."""
    return SimpleNamespace(**{machine.model_attribute: state})


def _by_transitions(machine: Machine, state: str, trigger: str) -> str | None:
    """The state transitions itself leaves a model in, or None when it refuses the trigger."""
    model = _model(machine, state)
    event = machine.events.get(trigger)
    if event is None:
        return None
    try:
        event.trigger(model)
    except MachineError:
        return None
    return str(getattr(model, machine.model_attribute))


MACHINES = [
    pytest.param(symbol_machine, SYMBOL_STATES, SYMBOL_TRANSITIONS, id="symbol"),
    pytest.param(session_machine, SESSION_STATES, SESSION_TRANSITIONS, id="session"),
]


@pytest.mark.parametrize(("build", "states", "table"), MACHINES)
def test_every_state_and_trigger_fires_as_transitions_does(build, states, table: tuple[Transition, ...]):
    machine = build()
    triggers = [*dict.fromkeys(t.trigger for t in table), "no_such_trigger"]
    assert moves(machine) == {(source, t.trigger): t.dest for t in table for source in t.sources}
    for state in states:
        for trigger in triggers:
            expected = _by_transitions(machine, state, trigger)
            model = _model(machine, state)
            if expected is None:
                with pytest.raises(IllegalTransition) as error:
                    fire(machine, table, model, trigger, "subject")
                allowed = [t.trigger for t in table if state in t.sources]
                assert str(error.value) == str(IllegalTransition("subject", state, trigger, allowed))
                assert getattr(model, machine.model_attribute) == state
            else:
                fired = fire(machine, table, model, trigger, "subject")
                assert fired == expected == getattr(model, machine.model_attribute)


def test_the_session_keeps_its_phase_and_a_symbol_its_state():
    assert (session_machine().model_attribute, symbol_machine().model_attribute) == ("phase", "state")


def test_a_transition_with_a_callback_is_left_to_transitions():
    """The lookup covers plain moves only: a machine with a condition or a callback keeps transitions' path."""
    entered: list[str] = []
    machine = Machine(
        model=None,
        states=["a", {"name": "b", "on_enter": lambda: entered.append("b")}, "c"],
        transitions=[
            {"trigger": "go", "source": "a", "dest": "b"},
            {"trigger": "hop", "source": "a", "dest": "c", "conditions": lambda: False},
            {"trigger": "back", "source": "c", "dest": "a"},
        ],
        initial="a",
        auto_transitions=False,
    )
    table = (Transition("go", ("a",), "b", ""), Transition("hop", ("a",), "c", ""), Transition("back", ("c",), "a", ""))
    assert moves(machine) == {("c", "back"): "a"}
    model = Model("a")
    assert fire(machine, table, model, "go", "m") == "b" and entered == ["b"]
    model = Model("a")
    assert fire(machine, table, model, "hop", "m") == "a"  # the condition said no: transitions leaves it
    assert fire(machine, table, Model("c"), "back", "m") == "a"
