"""dev.py: its help, which needs only the standard library; `--python PATH`, which interpreter
`.venv/` is built on (only the refusals are run here: they stop before `.venv/` is touched; building
on another interpreter is what the README's bench note does by hand); and the install within
`constraints.txt`, run against a copy of dev.py whose `.venv/` python only records what it is asked."""

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


# --- the constraints file ----------------------------------------------------------------------------


def _pins() -> dict[str, str]:
    """constraints.txt as {normalized name: version}; every line that is not a comment is NAME==VERSION."""
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and name.strip() == name and version.strip() == version and version, f"not NAME==VERSION: {line!r}"
        key = canonicalize_name(name)
        assert key not in pins, f"{name} is pinned twice"
        pins[key] = version
    return pins


def _declared_requirements() -> list[str]:
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def test_constraints_pin_every_declared_requirement_within_its_range():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = _pins()
    assert "daytape" not in pins, "the project itself is installed editable, never pinned"
    for text in _declared_requirements():
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} (pyproject.toml) has no pin in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {requirement.name}=={pins[name]}, outside pyproject's {requirement.specifier}"
        )


def test_the_environment_the_tests_run_in_is_the_pinned_one():
    """dev.py installed .venv/ within the constraints: every pinned distribution that is installed has
    the pinned version, and every declared requirement is installed."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = _pins()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    for text in _declared_requirements():
        assert canonicalize_name(Requirement(text).name) in installed, text
    differing = {
        name: (pins[name], installed[name]) for name in pins if name in installed and pins[name] != installed[name]
    }
    assert differing == {}, "installed versions differ from constraints.txt (pinned, installed)"


def _fake_venv(root, tmp_path):
    """A copy of dev.py beside the project files, with a `.venv/` whose python records its arguments."""
    import shutil

    for name in ("dev.py", "pyproject.toml", "constraints.txt"):
        shutil.copy(REPO_ROOT / name, root / name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    calls = tmp_path / "calls.txt"
    (bin_dir / "python").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (bin_dir / "daytape").write_text('#!/bin/sh\necho daytape-fake "$@"\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    return calls


def _pip_installs(calls) -> list[str]:
    if not calls.exists():
        return []
    return [line for line in calls.read_text().splitlines() if " install " in f" {line} "]


@pytest.mark.skipif(sys.platform == "win32", reason="the fake interpreter is a shell script")
def test_dev_py_installs_within_the_constraints_once_per_change(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    calls = _fake_venv(root, tmp_path)

    def dev(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-S", str(root / "dev.py"), *args], capture_output=True, text=True)

    first = dev("daytape", "--version")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "daytape-fake --version"
    upgrade, project = _pip_installs(calls)
    assert upgrade.endswith("install --quiet --upgrade pip")
    assert project.endswith(f"install --quiet -c {root / 'constraints.txt'} -e .[dev]")
    assert (root / ".venv" / ".daytape-installed").exists()

    assert dev("daytape", "--version").returncode == 0
    assert len(_pip_installs(calls)) == 2, "nothing changed, so nothing is installed again"

    with (root / "constraints.txt").open("a") as constraints:
        constraints.write("# moved\n")
    assert dev("daytape", "--version").returncode == 0
    assert len(_pip_installs(calls)) == 4, "a changed constraints file installs again"

    (root / "constraints.txt").unlink()
    missing = dev("daytape", "--version")
    assert missing.returncode == 1
    assert "constraints.txt is missing: it pins what .venv/ installs" in missing.stderr
    assert len(_pip_installs(calls)) == 4


def test_benchmarks_is_not_installed_but_runs_from_the_repository_root(tmp_path):
    """`benchmarks` is no top-level package of the distribution: outside the checkout it cannot be
    imported, from its root `python -m benchmarks` finds it."""
    outside = subprocess.run([sys.executable, "-c", "import benchmarks"], capture_output=True, text=True, cwd=tmp_path)
    assert outside.returncode == 1 and "No module named 'benchmarks'" in outside.stderr
    inside = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert inside.returncode == 0 and "python -m benchmarks" in inside.stdout


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
