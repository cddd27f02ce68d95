"""`config check` refuses exactly what `run` refuses before its first session, with the same one line, and
a refused run leaves nothing in the log (issue 16, finding 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daytape.cli import main
from tests.e2e.conftest import october_session, write_session

DAY = "2013-10-08"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


NOT_A_STRATEGY = "daytape.examples:ListScanner"  # a Scanner named as the strategy

CASES = {
    "unknown exchange": (
        {"exchange": "XNOPE"},
        "exchange: unknown exchange 'XNOPE': use an exchange_calendars code such as XNYS, XNAS, XLON",
    ),
    "plugin module does not import": (
        {"strategy": {"class": "nosuch.module:Strategy", "params": {}}},
        "strategy: nosuch.module:Strategy: cannot import module 'nosuch.module': No module named 'nosuch'",
    ),
    "plugin class missing": (
        {"scanner": {"class": "daytape.examples:NoSuchScanner", "params": {}}},
        "scanner: daytape.examples:NoSuchScanner: module 'daytape.examples' has no class 'NoSuchScanner'",
    ),
    "plugin of the wrong kind": (
        {"strategy": {"class": NOT_A_STRATEGY, "params": {}}},
        f"strategy: {NOT_A_STRATEGY}: is not a Strategy (subclass daytape.plugins.Strategy)",
    ),
    "plugin param at 25:99": (
        {"strategy": {"class": "daytape.examples:UpgradeStrategy", "params": {"symbols": ["IBM"], "at": "25:99"}}},
        "strategy: daytape.examples:UpgradeStrategy: bad params: at must be HH:MM exchange time, got '25:99'",
    ),
    "store does not exist": ({"store": "{tmp}/nostore"}, "store: {tmp}/nostore: no such folder"),
    "store is a file": ({"store": "{tmp}/s.yaml"}, "store: {tmp}/s.yaml: not a folder"),
    "no sessions in the range": (
        {"start": "2013-10-12", "end": "2013-10-13"},
        "(file): no XNYS sessions between 2013-10-12 and 2013-10-13",
    ),
    "dates outside the calendar": (
        {"start": "1970-01-05", "end": "1970-01-06"},
        "(file): 1970-01-05 is outside the XNYS calendar's range 1990-01-02..2035-12-31",
    ),
    "a boolean period": (
        {"indicators": [{"type": "sma", "period": True, "interval": "5m"}]},
        "indicators[0].period: Input should be a valid integer, got True",
    ),
    "a log URL of no known database": (
        {"log": "mysql://nowhere/x"},
        "log: unsupported log URL scheme 'mysql' in 'mysql://nowhere/x': use sqlite:/// or postgresql://",
    ),
}


def _filled(value, tmp: Path):
    if isinstance(value, str):
        return value.replace("{tmp}", str(tmp))
    if isinstance(value, dict):
        return {k: _filled(v, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, tmp) for v in value]
    return value


@pytest.mark.parametrize("case", list(CASES))
def test_config_check_refuses_what_run_refuses_with_the_same_line(capsys, tmp_path, lean_store_root, case):
    overrides, problem = CASES[case]
    log = tmp_path / "log.db"
    session = october_session(lean_store_root, f"sqlite:///{log}", start=DAY, end=DAY)
    path = write_session(tmp_path / "s.yaml", {**session, **_filled(overrides, tmp_path)})
    expected = f"{path}: {_filled(problem, tmp_path)}\n"

    code, out, err = cli(capsys, "config", "check", str(path))
    assert (code, out, err) == (2, "", expected)
    code, out, err = cli(capsys, "run", str(path), "--quiet", "--json")
    assert (code, out, err) == (2, "", expected)
    assert not log.exists(), "a run refused before its first session writes no log"


def test_a_file_config_check_passes_is_a_file_run_accepts(capsys, tmp_path, lean_store_root):
    log = tmp_path / "log.db"
    path = write_session(tmp_path / "s.yaml", october_session(lean_store_root, f"sqlite:///{log}", start=DAY, end=DAY))
    code, out, err = cli(capsys, "config", "check", str(path))
    assert (code, err) == (0, "") and out == f"{path}: ok (3 symbols, 1 session {DAY} .. {DAY})\n"
    assert not log.exists(), "checking writes nothing"
    code, out, err = cli(capsys, "run", str(path), "--quiet", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"


def test_a_relative_store_is_checked_where_run_looks_for_it(capsys, tmp_path, lean_store_root):
    """Both anchor a relative `store` to the session file's folder, not the current one."""
    (tmp_path / "data").symlink_to(lean_store_root)
    session = october_session("./data", "sqlite:///log.db", start=DAY, end=DAY, scanner=None, strategy=None)
    path = write_session(tmp_path / "s.yaml", session)
    assert cli(capsys, "config", "check", str(path))[0] == 0
    code, _, err = cli(capsys, "run", str(path), "--quiet")
    assert code == 0, err
    assert (tmp_path / "log.db").exists()
