"""dev.py: its help, which needs only the standard library, and `--python PATH`, which interpreter
`.venv/` is built on. Only the refusals are run here (they stop before `.venv/` is touched);
building on another interpreter is what the README's bench note does by hand."""

import importlib.util
import json
import subprocess
import sys
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

DEV_PY = str(REPO_ROOT / "dev.py")


def _dev_py(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-S", DEV_PY, *args], capture_output=True, text=True, cwd=REPO_ROOT)


def _dev_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", DEV_PY)
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    return dev


def _fake_interpreter(tmp_path, prints: str) -> str:
    script = tmp_path / "python-fake"
    script.write_text(f"#!/bin/sh\necho '{prints}'\n")
    script.chmod(0o755)
    return str(script)


def test_a_missing_interpreter_is_named():
    result = _dev_py("--python", "/nonexistent/python3", "daytape", "--version")
    assert result.returncode == 1
    assert "--python /nonexistent/python3: cannot run it" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="the fake interpreter is a shell script")
def test_an_interpreter_older_than_3_11_is_refused_with_its_version(tmp_path):
    fake = _fake_interpreter(tmp_path, "3.10 /opt/python3.10")
    result = _dev_py(f"--python={fake}", "daytape", "--version")
    assert result.returncode == 1
    assert "daytape needs Python 3.11 or newer; it is 3.10" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="the fake interpreter is a shell script")
@pytest.mark.parametrize("prints", ["", "hello world"])
def test_a_program_that_is_not_python_is_refused(tmp_path, prints):
    fake = _fake_interpreter(tmp_path, prints)
    result = _dev_py("--python", fake, "test")
    assert result.returncode == 1
    assert "it did not run as Python" in result.stderr


def test_python_needs_a_path():
    result = _dev_py("--python")
    assert result.returncode == 1
    assert "--python needs the path of an interpreter" in result.stderr


def test_help_runs_with_only_the_standard_library_and_lists_the_commands():
    result = _dev_py("--help")
    assert result.returncode == 0
    assert "python3 dev.py test" in result.stdout
    assert "python3 dev.py --python PATH COMMAND" in result.stdout


def test_the_coverage_line_gives_lines_and_branches_of_a_real_coverage_report(tmp_path):
    """A small program measured by coverage itself: 4 of its 5 statements and 1 of its 2 branches run."""
    (tmp_path / "program.py").write_text("def f(x):\n    if x > 0:\n        return 1\n    return 2\n\n\nf(1)\n")
    (tmp_path / "empty.toml").write_text("")
    coverage = [sys.executable, "-m", "coverage"]
    run = [*coverage, "run", "--branch", "--rcfile=empty.toml", "program.py"]
    subprocess.run(run, cwd=tmp_path, check=True, capture_output=True, env={"PATH": "/usr/bin:/bin"})
    subprocess.run([*coverage, "json", "--rcfile=empty.toml", "-o", "report.json"], cwd=tmp_path, check=True)
    dev = _dev_module()
    line = dev.coverage_summary(json.loads((tmp_path / "report.json").read_text()))
    assert line == "coverage of the packages: lines 80.0% (4/5), branches 50.0% (1/2)"


def test_the_coverage_line_of_code_without_branches_says_all_of_none():
    dev = _dev_module()
    totals = {"covered_lines": 3, "num_statements": 3, "covered_branches": 0, "num_branches": 0}
    assert (
        dev.coverage_summary({"totals": totals})
        == "coverage of the packages: lines 100.0% (3/3), branches 100.0% (0/0)"
    )
