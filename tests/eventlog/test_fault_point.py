"""The fault-injection point's setting (the kill itself is what tests/faults/ run in subprocesses)."""

from __future__ import annotations

import pytest

from eventlog import faults


@pytest.mark.parametrize(
    ("text", "parsed"), [(None, None), ("", None), ("before:1", ("before", 1)), ("after:12", ("after", 12))]
)
def test_a_kill_point_is_a_phase_and_an_append_number(text, parsed):
    assert faults._parse(text) == parsed


@pytest.mark.parametrize("text", ["during:1", "before", "before:", "before:0", "after:-1", "after:x", "1"])
def test_a_bad_kill_point_is_refused_naming_the_variable_and_the_value(text):
    with pytest.raises(ValueError, match=rf"DAYTAPE_FAULT_KILL must be before:N or after:N with N >= 1, not {text!r}"):
        faults._parse(text)


def test_appends_are_counted_at_before_only_and_nothing_is_killed_when_unset(monkeypatch):
    monkeypatch.setattr(faults, "KILL_AT", None)
    monkeypatch.setattr(faults, "_appends", 0)
    for _ in range(3):
        faults.append_point("before")
        faults.append_point("after")
    assert faults._appends == 3


def test_a_kill_point_not_reached_yet_lets_the_process_live(monkeypatch):
    monkeypatch.setattr(faults, "KILL_AT", ("after", 5))
    monkeypatch.setattr(faults, "_appends", 0)
    for _ in range(4):
        faults.append_point("before")
        faults.append_point("after")
    assert faults._appends == 4
