"""The line a finished day writes with --verbose: status, symbols, and whatever was rejected, failed or broke."""

from __future__ import annotations

import datetime as dt

from daytape.day import DayResult
from daytape.progress import day_line, run_progress

DAY = dt.date(2013, 10, 9)


def test_a_clean_day_says_its_status_and_how_many_symbols():
    assert day_line(DayResult(DAY, "ended", symbols=["SPY", "IBM"])) == "2013-10-09 ended: 2 symbols"


def test_rejections_failures_and_the_error_are_named_in_that_order():
    result = DayResult(
        DAY,
        "aborted",
        symbols=["SPY", "AIG"],
        rejected={"NOPE": "no 1m bars in the store"},
        failed={"IBM": "history short"},
        error="plugin raised KeyError",
    )
    assert day_line(result) == (
        "2013-10-09 aborted: 2 symbols, rejected: NOPE (no 1m bars in the store), "
        "failed: IBM (history short), plugin raised KeyError"
    )


def test_without_a_terminal_verbose_writes_a_line_per_day_and_quiet_writes_none(capsys):
    with run_progress(enabled=True, verbose=True) as options:
        assert options.on_day_done is not None
        options.on_day_done(DayResult(DAY, "ended", symbols=["SPY", "IBM", "AIG"]))
    assert capsys.readouterr().err == "2013-10-09 ended: 3 symbols\n"
    with run_progress(enabled=False, verbose=True) as options:
        assert options.on_day_done is None
