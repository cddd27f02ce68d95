"""The lifecycle machines, built with `transitions` from the tables in `specs.lifecycle`.

One Machine serves every symbol: models are not registered with it (no
`add_model`, whose list scan is O(n) per symbol). `auto_transitions` is off,
so there is no `to_<state>()` shortcut around the table.

The Machine is the source of truth, and its transitions are plain moves (no
conditions, no callbacks), so firing one means: look up the destination of
(state, trigger) and set the model's attribute (a symbol's `state`, the session's `phase`). `moves(machine)` reads that
lookup out of the built Machine once (`machine.events[trigger].transitions`);
`fire` uses it and leaves anything it does not cover to `transitions'`
`event.trigger(model)`, which costs about 8 µs a transition against a fraction
of one for the lookup (a replay fires one for every symbol it creates, upgrades
or tears down, and one per session phase).
"""

from __future__ import annotations

from functools import cache
from typing import Any

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
from statemachine.errors import IllegalTransition


def transition_dicts(table: tuple[Transition, ...]) -> list[dict[str, object]]:
    """The table's rows in the form `transitions` takes."""
    return [{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest} for t in table]


def _build(states: tuple[str, ...], table: tuple[Transition, ...], initial: str, attribute: str) -> Machine:
    return Machine(
        model=None,
        model_attribute=attribute,
        states=list(states),
        transitions=transition_dicts(table),
        initial=initial,
        auto_transitions=False,
        send_event=False,
    )


@cache
def symbol_machine() -> Machine:
    return _build(SYMBOL_STATES, SYMBOL_TRANSITIONS, SYMBOL_INITIAL, "state")


@cache
def session_machine() -> Machine:
    return _build(SESSION_STATES, SESSION_TRANSITIONS, SESSION_INITIAL, "phase")


_MACHINE_CALLBACKS = ("before_state_change", "after_state_change", "prepare_event", "finalize_event", "on_final")


def moves(machine: Machine) -> dict[tuple[str, str], str]:
    """(state, trigger) -> destination, for every transition of `machine` that only changes the state.

    A transition with conditions or callbacks (its own, its states' or the machine's) is left out, and
    so is an internal one (no destination): `fire` hands those to transitions. Cached on the machine.
    """
    cached: dict[tuple[str, str], str] | None = machine.__dict__.get("_daytape_moves")
    if cached is not None:
        return cached
    table: dict[tuple[str, str], str] = {}
    plain_machine = not machine.has_queue and not any(getattr(machine, name, None) for name in _MACHINE_CALLBACKS)
    for trigger, event in machine.events.items():
        for source, candidates in event.transitions.items():
            if not plain_machine or len(candidates) != 1:
                continue
            move = candidates[0]
            if move.dest is None or move.conditions or move.prepare or move.before or move.after:
                continue
            ends = (machine.get_state(source), machine.get_state(move.dest))
            if any(end.on_exit or end.on_enter for end in ends):
                continue
            table[(source, trigger)] = str(ends[1].value)
    machine.__dict__["_daytape_moves"] = table
    return table


def allowed_triggers(table: tuple[Transition, ...], state: str) -> list[str]:
    return [t.trigger for t in table if state in t.sources]


def fire(machine: Machine, table: tuple[Transition, ...], model: Any, trigger: str, subject: str) -> str:
    """Fire `trigger` on `model` (its `machine.model_attribute` holds its state); raise IllegalTransition
    naming subject, state and trigger."""
    attribute = machine.model_attribute
    state = getattr(model, attribute)
    dest = moves(machine).get((state, trigger))
    if dest is not None:
        setattr(model, attribute, dest)
        return dest
    event = machine.events.get(trigger)
    if event is None:
        raise IllegalTransition(subject, state, trigger, allowed_triggers(table, state))
    try:
        event.trigger(model)
    except MachineError:
        raise IllegalTransition(subject, state, trigger, allowed_triggers(table, state)) from None
    return str(getattr(model, attribute))


def fire_symbol(model: Any, trigger: str, symbol: str) -> str:
    return fire(symbol_machine(), SYMBOL_TRANSITIONS, model, trigger, symbol)


def fire_session(model: Any, trigger: str, subject: str = "session") -> str:
    return fire(session_machine(), SESSION_TRANSITIONS, model, trigger, subject)
