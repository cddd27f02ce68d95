"""The lifecycle tables drawn as diagrams: Mermaid through `transitions`, DOT from the same rows."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from specs.lifecycle import (
    SESSION_INITIAL,
    SESSION_STATES,
    SESSION_TRANSITIONS,
    SYMBOL_INITIAL,
    SYMBOL_STATES,
    SYMBOL_TRANSITIONS,
    Transition,
)
from statemachine.machines import transition_dicts

MACHINES: dict[str, tuple[tuple[str, ...], tuple[Transition, ...], str]] = {
    "symbol": (SYMBOL_STATES, SYMBOL_TRANSITIONS, SYMBOL_INITIAL),
    "session": (SESSION_STATES, SESSION_TRANSITIONS, SESSION_INITIAL),
}


class _Drawn:
    """A model for GraphMachine to attach `get_graph` to."""


def mermaid(name: str) -> str:
    states, table, initial = MACHINES[name]
    machine = GraphMachine(
        model=None,
        states=list(states),
        transitions=transition_dicts(table),
        initial=initial,
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"{name} lifecycle",
        show_state_attributes=False,
    )
    model = _Drawn()
    machine.add_model(model)
    return str(model.get_graph().draw(None))  # type: ignore[attr-defined]


def dot(name: str) -> str:
    states, table, initial = MACHINES[name]
    lines = [f'digraph "{name}" {{', "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    lines.append('  "__start" [shape=point];')
    lines += [f'  "{state}";' for state in states]
    lines.append(f'  "__start" -> "{initial}";')
    for row in table:
        lines += [f'  "{source}" -> "{row.dest}" [label="{row.trigger}"];' for source in row.sources]
    lines.append("}")
    return "\n".join(lines)


def render(fmt: str = "mermaid") -> str:
    """Both machines, one after the other, in `mermaid` or `dot`."""
    if fmt == "mermaid":
        return "\n".join(f"```mermaid\n{mermaid(name).strip()}\n```\n" for name in MACHINES)
    if fmt == "dot":
        return "\n\n".join(dot(name) for name in MACHINES) + "\n"
    raise ValueError(f"unknown diagram format {fmt!r}: use mermaid or dot")
