"""The lifecycle machines, built with `transitions` from the tables in `specs.lifecycle`.

One Machine serves every symbol: models are not registered with it (no
`add_model`, whose list scan is O(n) per symbol); a transition is fired with
`machine.events[trigger].trigger(model)`, which reads and writes the model's
`state` attribute. `auto_transitions` is off, so there is no `to_<state>()`
shortcut around the table.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from transitions import Machine, MachineError

from specs.lifecycle import (
    SESSION_INITIAL,
    SESSION_STATES,
    SESSION_TRANSITIONS,
    SYMBOL_INITIAL,
    SYMBOL_STATES,
    SYMBOL_TRANSITIONS,
    Transition,
)


class IllegalTransition(Exception):
    """A trigger that the lifecycle table does not allow from the current state."""

    def __init__(self, subject: str, state: str, trigger: str, allowed: list[str] | None = None) -> None:
        self.subject, self.state, self.trigger = subject, state, trigger
        hint = f" (allowed from {state}: {', '.join(allowed)})" if allowed else f" (nothing is allowed from {state})"
        super().__init__(f"{subject}: cannot {trigger} from state {state}{hint}")


class HasState(Protocol):
    state: str


def _build(states: tuple[str, ...], table: tuple[Transition, ...], initial: str) -> Machine:
    return Machine(
        model=None,
        states=list(states),
        transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest} for t in table],
        initial=initial,
        auto_transitions=False,
        send_event=False,
    )


@cache
def symbol_machine() -> Machine:
    return _build(SYMBOL_STATES, SYMBOL_TRANSITIONS, SYMBOL_INITIAL)


@cache
def session_machine() -> Machine:
    return _build(SESSION_STATES, SESSION_TRANSITIONS, SESSION_INITIAL)


def allowed_triggers(table: tuple[Transition, ...], state: str) -> list[str]:
    return [t.trigger for t in table if state in t.sources]


def fire(machine: Machine, table: tuple[Transition, ...], model: HasState, trigger: str, subject: str) -> str:
    """Fire `trigger` on `model`; raise IllegalTransition naming subject, state and trigger."""
    state = model.state
    event = machine.events.get(trigger)
    if event is None:
        raise IllegalTransition(subject, state, trigger, allowed_triggers(table, state))
    try:
        event.trigger(model)
    except MachineError:
        raise IllegalTransition(subject, state, trigger, allowed_triggers(table, state)) from None
    return model.state


def fire_symbol(model: HasState, trigger: str, symbol: str) -> str:
    return fire(symbol_machine(), SYMBOL_TRANSITIONS, model, trigger, symbol)


def fire_session(model: HasState, trigger: str, subject: str = "session") -> str:
    return fire(session_machine(), SESSION_TRANSITIONS, model, trigger, subject)
