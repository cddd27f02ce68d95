"""dev.py: its help, which needs only the standard library, and `--python PATH`, which interpreter
`.venv/` is built on. Only the refusals are run here (they stop before `.venv/` is touched);
building on another interpreter is what the README's bench note does by hand."""

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

DEV_PY = str(REPO_ROOT / "dev.py")


def _dev_py(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-S", DEV_PY, *args], capture_output=True, text=True, cwd=REPO_ROOT)


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
