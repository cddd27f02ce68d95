"""Start-up: each command loads only what it needs. These tests check which libraries a real `daytape`
process has imported when the command returns (its sys.modules), never how long it took; the times are
measured by benchmarks/bench_startup.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eventlog.store import open_store
from tests.eventlog.conftest import write_run

#: What neither --version nor --help may load.
HEAVY = ("pandas", "exchange_calendars", "sqlalchemy", "alembic", "pyarrow", "numpy", "dask")

#: The libraries a read of the log has no use for (it needs SQLAlchemy and pydantic, not the market's).
NOT_FOR_READING = ("pandas", "exchange_calendars", "alembic", "pyarrow", "numpy", "dask")

HOW_TO_FIX = (
    "a module the CLI imports to register its commands imports it at its top; import it inside the function "
    "that uses it (`python -X importtime -m daytape.cli --help` shows the chain)"
)

#: Runs `daytape.cli.main` on argv[2:] as the console script does, then writes its exit code and the
#: top-level packages it loaded to the file argv[1].
PROBE = """
import json, sys
from daytape.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "loaded": sorted({name.split(".")[0] for name in sys.modules})}, out)
"""


def loaded_by(tmp_path, *args: str) -> set[str]:
    report = tmp_path / "loaded.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(report.read_text())
    assert found["code"] == 0, result.stderr
    return set(found["loaded"])


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["data", "bars", "--help"], ["run", "--help"], ["db", "--help"]]
)
def test_version_and_help_load_no_heavy_library(tmp_path, args):
    heavy = sorted(loaded_by(tmp_path, *args) & set(HEAVY))
    assert not heavy, f"daytape {' '.join(args)} loaded {heavy}: {HOW_TO_FIX}"


def test_the_top_level_help_loads_no_pydantic(tmp_path):
    """pydantic (and every model of specs) costs more than the rest of `daytape --help`; the option
    parsers the command modules register use `specs.symbols` and `specs.intervals`, which do without it.
    (A group's `--help` runs typer's callback machinery, which loads pydantic itself.)"""
    assert "pydantic" not in loaded_by(tmp_path, "--help"), HOW_TO_FIX


def test_the_version_is_printed_before_typer_loads(tmp_path):
    assert "typer" not in loaded_by(tmp_path, "--version")


def test_the_read_commands_load_neither_alembic_nor_the_market_libraries(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with open_store(url) as store:
        run_id = write_run(store, days=2)
    for args in (
        ["runs", "--log", url],
        ["replay", run_id, "--log", url],
        ["explain", run_id, "SPY", "--log", url],
        ["diff", run_id, run_id, "--log", url],
        ["export", run_id, "--format", "json", "--log", url],
    ):
        needless = sorted(loaded_by(tmp_path, *args) & set(NOT_FOR_READING))
        assert not needless, f"daytape {args[0]} loaded {needless}: {HOW_TO_FIX}"


def test_audit_loads_the_calendar_but_not_alembic(tmp_path):
    """audit asks the exchange calendar which sessions the run's config names (a day missing from both
    tables is found that way), so it may load the calendar's libraries; it still needs no Alembic."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with open_store(url) as store:
        run_id = write_run(store, days=2)
    assert "alembic" not in loaded_by(tmp_path, "audit", run_id, "--log", url)
