"""cli.main maps each room's errors to exit 2 and one line: it catches their one root, `DaytapeError`
(in `specs.errors`, which imports nothing, so start-up stays light)."""

from __future__ import annotations

import pytest
import typer

from daytape import cli
from eventlog.errors import PayloadError, UnknownRun
from marketdata.errors import CalendarError
from specs.intervals import IntervalError
from statemachine.errors import IllegalTransition, SessionPhaseError


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (UnknownRun("abc"), "daytape: unknown run id 'abc'"),
        (CalendarError("unknown exchange 'XXXX'"), "daytape: unknown exchange 'XXXX'"),
        (
            SessionPhaseError("add a symbol", "ended", ["loading", "streaming"]),
            "daytape: cannot add a symbol: the session is ended; allowed only while loading or streaming",
        ),
        (IntervalError("not an interval: '7x'"), "daytape: not an interval: '7x'"),
        (PayloadError("unknown event kind 'Nope'"), "daytape: unknown event kind 'Nope'"),
        (
            IllegalTransition("AIG", "absent", "upgrade"),
            "daytape: AIG: cannot upgrade from state absent (nothing is allowed from absent)",
        ),
    ],
)
def test_a_room_error_is_exit_2_with_one_line(monkeypatch, capsys, error, line):
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.command()
    def fail() -> None:
        raise error

    monkeypatch.setattr(cli, "build_app", lambda: app)
    assert cli.main([]) == 2
    assert capsys.readouterr().err == line + "\n"


def test_an_error_that_is_no_room_s_is_not_swallowed(monkeypatch):
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.command()
    def fail() -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "build_app", lambda: app)
    with pytest.raises(KeyError):
        cli.main([])


@pytest.mark.parametrize("args", [[], ["data"], ["db"]])
def test_a_group_given_no_command_prints_its_help_and_exits_2(capsys, args):
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out.startswith("Usage: ") and "Commands:" in out
    assert err == ""
