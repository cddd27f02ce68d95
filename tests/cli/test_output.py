"""daytape.output: JSON documents on stdout, plugin output moved to stderr, the lazy consoles."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import sys

import numpy as np
import pytest

from daytape import output
from specs.intervals import Interval
from specs.plan import IntervalRequirement


def test_print_json_writes_one_document_with_dates_numbers_and_models_spelled_out(capsys):
    document = {
        "day": dt.date(2013, 10, 8),
        "at": dt.datetime(2013, 10, 8, 13, 30, tzinfo=dt.UTC),
        "count": np.int64(7),
        "price": np.float64(144.5),
        "interval": Interval("5m"),
    }
    output.print_json(document)
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == {
        "day": "2013-10-08",
        "at": "2013-10-08T13:30:00+00:00",
        "count": 7,
        "price": 144.5,
        "interval": "5m",
    }
    assert out.endswith("}\n") and out.count("\n{") == 0


def test_print_json_refuses_nan_rather_than_write_invalid_json(capsys):
    with pytest.raises(ValueError, match="Out of range float"):
        output.print_json({"value": float("nan")})


def test_a_pydantic_model_is_dumped_in_json_mode(capsys):
    output.print_json([IntervalRequirement(interval=Interval("5m"), derived=True, base=Interval("1m"))])
    assert json.loads(capsys.readouterr().out) == [{"interval": "5m", "derived": True, "base": "1m"}]


@pytest.mark.parametrize(("count", "text"), [(0, "0 sessions"), (1, "1 session"), (2, "2 sessions")])
def test_plural(count, text):
    assert output.plural(count, "session") == text


def test_plugin_output_goes_to_stderr_from_python_and_from_the_file_descriptor(capfd):
    print("before")
    with output.plugin_output_to_stderr():
        print("from a plugin")
        os.write(1, b"from C code\n")
    print("after")
    out, err = capfd.readouterr()
    assert out == "before\nafter\n"
    assert err == "from a plugin\nfrom C code\n"


def test_with_no_file_descriptor_1_python_output_still_moves(capfd, monkeypatch):
    saved = os.dup(1)
    os.close(1)
    try:
        with output.plugin_output_to_stderr():
            print("from a plugin")
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert capfd.readouterr().err == "from a plugin\n"


def test_a_copy_of_a_lazy_console_does_not_make_the_console():
    lazy = output._LazyConsole(lambda: pytest.fail("the console was made"))
    copied = copy.copy(lazy)
    assert isinstance(copied, output._LazyConsole)


def test_the_stdout_console_of_a_pipe_has_the_fixed_width_and_no_colour(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    console = output._stdout_console()
    assert console.width == output.PIPE_WIDTH
    assert console.no_color
