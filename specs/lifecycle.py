"""The lifecycle tables, as data.

`statemachine` builds its `transitions` machines from these rows, the audit
checks every logged transition against them, the property tests draw moves
from them and `daytape graph` draws them. A session trigger is the `kind` of
the event that causes it; a symbol trigger is a verb (`create_full`,
`create_adhoc`, `upgrade`, `tear_down`) that `symbol_trigger_for` finds from
the event's kind (and a SymbolCreated's mode). Events that extend a symbol
(IntervalAdded, IndicatorRegistered, ...) fire no trigger.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SymbolState(StrEnum):
    ABSENT = "absent"
    ADHOC = "adhoc"
    FULL = "full"


class SessionPhase(StrEnum):
    IDLE = "idle"
    TEARING_DOWN = "tearing_down"
    LOADING = "loading"
    STREAMING = "streaming"
    ENDED = "ended"
    FAILED = "failed"
    ABORTED = "aborted"


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    when: str


SYMBOL_STATES: tuple[str, ...] = tuple(s.value for s in SymbolState)
SYMBOL_INITIAL = SymbolState.ABSENT.value

SYMBOL_TRANSITIONS: tuple[Transition, ...] = (
    Transition("create_full", ("absent",), "full", "config symbol at load, or a strategy adds a new symbol"),
    Transition("create_adhoc", ("absent",), "adhoc", "a scanner or ad hoc request for an unknown symbol"),
    Transition("upgrade", ("adhoc",), "full", "a strategy or config asks for a symbol that is adhoc"),
    Transition("tear_down", ("adhoc", "full"), "absent", "session teardown; nothing survives a day"),
)

SESSION_STATES: tuple[str, ...] = tuple(p.value for p in SessionPhase)
SESSION_INITIAL = SessionPhase.IDLE.value

SESSION_TRANSITIONS: tuple[Transition, ...] = (
    Transition("TeardownStarted", ("idle", "ended", "failed"), "tearing_down", "every symbol goes to absent"),
    Transition("LoadingStarted", ("tearing_down",), "loading", "config symbols are analyzed, validated, loaded"),
    Transition("StreamingStarted", ("loading",), "streaming", "the clock steps through the session"),
    Transition("SessionEnded", ("streaming",), "ended", "the session closed"),
    Transition("SessionFailed", ("loading",), "failed", "every configured symbol failed validation"),
    Transition(
        "SessionAborted",
        ("idle", "tearing_down", "loading", "streaming", "ended"),
        "aborted",
        "an unexpected error",
    ),
)

#: Session phases in which symbols may be added or extended.
SYMBOL_ADDING_PHASES: tuple[str, ...] = (SessionPhase.LOADING.value, SessionPhase.STREAMING.value)
#: Session phase in which symbols are torn down.
SYMBOL_TEARDOWN_PHASES: tuple[str, ...] = (SessionPhase.TEARING_DOWN.value,)


def symbol_trigger_for(kind: str, mode: str | None = None) -> str | None:
    """The symbol machine trigger an event kind causes, or None for an extending event."""
    if kind == "SymbolCreated":
        return "create_full" if mode == SymbolState.FULL.value else "create_adhoc"
    if kind == "SymbolUpgraded":
        return "upgrade"
    if kind == "SymbolTornDown":
        return "tear_down"
    return None


def symbol_transition(trigger: str) -> Transition:
    for row in SYMBOL_TRANSITIONS:
        if row.trigger == trigger:
            return row
    raise KeyError(trigger)
