"""The lifecycle lookups against the tables written out in docs (ARCHITECTURE.md's symbol lifecycle)."""

from __future__ import annotations

import pytest

from specs.lifecycle import SESSION_TRANSITIONS, Transition, symbol_transition, symbol_trigger_for


def session_transition(trigger: str) -> Transition:
    """The session lifecycle's row for `trigger`, read straight from the table."""
    for row in SESSION_TRANSITIONS:
        if row.trigger == trigger:
            return row
    raise KeyError(trigger)


#: The symbol lifecycle as the architecture guide's table states it: trigger -> (from, to).
SYMBOL_TABLE = {
    "create_full": ({"absent"}, "full"),
    "create_adhoc": ({"absent"}, "adhoc"),
    "upgrade": ({"adhoc"}, "full"),
    "tear_down": ({"adhoc", "full"}, "absent"),
}
#: The session day: idle -> tearing_down -> loading -> streaming -> ended, ended -> tearing_down,
#: loading -> failed, and aborted on an unexpected error.
SESSION_TABLE = {
    "TeardownStarted": "tearing_down",
    "LoadingStarted": "loading",
    "StreamingStarted": "streaming",
    "SessionEnded": "ended",
    "SessionFailed": "failed",
    "SessionAborted": "aborted",
}


@pytest.mark.parametrize(
    ("kind", "mode", "trigger"),
    [
        ("SymbolCreated", "full", "create_full"),
        ("SymbolCreated", "adhoc", "create_adhoc"),
        ("SymbolCreated", None, "create_adhoc"),
        ("SymbolUpgraded", None, "upgrade"),
        ("SymbolTornDown", None, "tear_down"),
        ("IntervalAdded", None, None),
        ("QualityCalculated", "full", None),
    ],
)
def test_an_event_kind_names_the_symbol_trigger_it_causes(kind, mode, trigger):
    assert symbol_trigger_for(kind, mode) == trigger


@pytest.mark.parametrize("trigger", sorted(SYMBOL_TABLE))
def test_each_symbol_trigger_moves_as_the_guide_says(trigger):
    row = symbol_transition(trigger)
    sources, dest = SYMBOL_TABLE[trigger]
    assert (set(row.sources), row.dest) == (sources, dest)


@pytest.mark.parametrize("trigger", sorted(SESSION_TABLE))
def test_each_session_trigger_ends_where_the_guide_says(trigger):
    assert session_transition(trigger).dest == SESSION_TABLE[trigger]


def test_the_session_can_begin_again_after_it_ended_but_only_load_after_a_teardown():
    assert "ended" in session_transition("TeardownStarted").sources
    assert session_transition("LoadingStarted").sources == ("tearing_down",)
    assert "aborted" not in session_transition("SessionAborted").sources


def test_an_unknown_trigger_is_a_key_error_naming_it():
    with pytest.raises(KeyError, match="promote"):
        symbol_transition("promote")
    with pytest.raises(KeyError, match="SymbolCreated"):
        session_transition("SymbolCreated")
