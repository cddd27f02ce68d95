#!/usr/bin/env python3
"""Set up `.venv/` if needed, then run the demo, the tests, the benchmarks or the CLI.

    python3 dev.py demo        set up, then `daytape demo`
    python3 dev.py test        set up, then ruff, import-linter, mypy and the whole test suite, with the
                               line and branch coverage of the packages printed at the end
                               (DAYTAPE_TEST_COVERAGE=0 leaves coverage out)
    python3 dev.py bench       set up, then `python -m benchmarks` (pass --quick for the short one)
    python3 dev.py daytape ..  set up, then any daytape command

    python3 dev.py --python PATH COMMAND ..
                               build .venv/ on the interpreter at PATH (3.11 or newer) instead
                               of the one running dev.py; .venv/ keeps it until another is named

Only the Python standard library is used here, so this works on a fresh machine.

`.venv/` gets the versions `constraints.txt` pins (what the tests last passed on), so a fresh clone
installs today's set next month too. To move the pins: install the newer versions into `.venv/`, run
`python3 dev.py test`, then `.venv/bin/python -m pip freeze --exclude-editable` into constraints.txt
(below its header), leaving daytape itself out.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".daytape-installed"
#: The exact versions CI installed when the tests last passed; pip installs the project within them.
CONSTRAINTS = ROOT / "constraints.txt"


def _requirements_digest() -> str:
    """What the install depends on: pyproject.toml and the constraints file, so a change to either
    installs again."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(CONSTRAINTS.read_bytes())
    return digest.hexdigest()


def install_command() -> list[str]:
    """The pip command that installs daytape (editable) with its dev extras, every distribution
    pinned by `constraints.txt`."""
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    return [*pip, "install", "--quiet", "-c", str(CONSTRAINTS), "-e", ".[dev]"]


def _venv_base() -> str | None:
    """The interpreter `.venv/` was made from, as its pyvenv.cfg records it."""
    try:
        lines = (VENV / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "executable":
            return os.path.realpath(value.strip())
    return None


def _checked_interpreter(path: str) -> str:
    """The real path of the interpreter `--python` names, if it runs and is Python 3.11 or newer."""
    # One string to print, so that a Python 2 answers too and is refused for its version.
    check = (
        "import os, sys; "
        "print('%d.%d %s' % (sys.version_info[0], sys.version_info[1], os.path.realpath(sys.executable)))"
    )
    try:
        result = subprocess.run([path, "-c", check], capture_output=True, text=True)
    except OSError as exc:
        sys.exit(f"dev.py: --python {path}: cannot run it ({exc.strerror})")
    version, _, executable = result.stdout.strip().partition(" ")
    try:
        major, minor = (int(part) for part in version.split("."))
    except ValueError:
        major = minor = -1
    if result.returncode or major < 0 or not executable:
        said = (result.stderr.strip() or result.stdout.strip())[-300:]
        sys.exit(f"dev.py: --python {path}: it did not run as Python: {said}")
    if (major, minor) < (3, 11):
        sys.exit(f"dev.py: --python {path}: daytape needs Python 3.11 or newer; it is {version}")
    return executable


def _create_venv(python: str | None) -> None:
    """A new `.venv/`: on `python` if given (replacing whatever is there), else on this interpreter."""
    if python is None:
        print("dev.py: creating .venv/", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
        return
    print(f"dev.py: creating .venv/ on {python}", file=sys.stderr)
    if subprocess.run([python, "-m", "venv", "--clear", str(VENV)]).returncode:
        sys.exit(f"dev.py: {python} -m venv failed (on Debian, its venv module is the python3.X-venv package)")


def ensure_environment(python: str | None = None) -> None:
    """Create `.venv/` (on `python` if given) and install the project with its dev extras within
    `constraints.txt`, once per change of pyproject.toml or the constraints; a `.venv/` made from
    another interpreter than `python` is made again."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"daytape needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = None if python is None else _checked_interpreter(python)
    if wanted is not None and (not PYTHON.exists() or _venv_base() != wanted):
        _create_venv(wanted)
    elif not PYTHON.exists():
        _create_venv(None)
    if not CONSTRAINTS.is_file():
        sys.exit(f"dev.py: {CONSTRAINTS.name} is missing: it pins what .venv/ installs (restore it from git)")
    digest = _requirements_digest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    print("dev.py: installing daytape and its dev dependencies into .venv/", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run(install_command(), check=True, cwd=ROOT)
    STAMP.write_text(digest)


def run(*args: str) -> int:
    return subprocess.run(list(args), cwd=ROOT).returncode


def coverage_summary(report: dict) -> str:
    """One line of a `coverage json` report's totals: lines and branches, each as percent (covered/all)."""
    totals = report["totals"]

    def part(covered: int, total: int) -> str:
        percent = 100.0 * covered / total if total else 100.0
        return f"{percent:.1f}% ({covered}/{total})"

    lines = part(totals["covered_lines"], totals["num_statements"])
    branches = part(totals["covered_branches"], totals["num_branches"])
    return f"coverage of the packages: lines {lines}, branches {branches}"


def run_tests(extra: list[str]) -> int:
    tool = lambda name: str(BIN / name)  # noqa: E731
    steps = [
        [tool("ruff"), "check", "."],
        [tool("ruff"), "format", "--check", "."],
        [tool("lint-imports")],
        [tool("mypy")],
    ]
    for step in steps:
        print("dev.py: " + " ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)), file=sys.stderr)
        code = run(*step)
        if code:
            return code
    workers = os.environ.get("DAYTAPE_TEST_WORKERS", "2")
    pytest = [str(PYTHON), "-m", "pytest", "-n", workers, "--dist", "loadfile"]
    if os.environ.get("CI"):
        pytest += ["--hypothesis-profile", "ci"]
    if os.environ.get("DAYTAPE_TEST_COVERAGE", "1") == "0":
        return run(*pytest, *extra)
    with tempfile.TemporaryDirectory(prefix="daytape-coverage-") as folder:
        summary = Path(folder) / "coverage.json"
        # The sources, branch measurement and the subprocess patch are in pyproject's [tool.coverage.run].
        code = run(*pytest, "--cov", "--cov-report=term", f"--cov-report=json:{summary}", *extra)
        if summary.exists():
            print("dev.py: " + coverage_summary(json.loads(summary.read_text())))
    return code


def _split_python(argv: list[str]) -> tuple[str | None, list[str]]:
    """`--python PATH` (or `--python=PATH`) before the command, and the rest."""
    if argv and argv[0].startswith("--python="):
        return argv[0].split("=", 1)[1], argv[1:]
    if argv and argv[0] == "--python":
        if len(argv) < 2:
            sys.exit("dev.py: --python needs the path of an interpreter, e.g. --python /usr/bin/python3.11")
        return argv[1], argv[2:]
    return None, argv


def main(argv: list[str]) -> int:
    python, argv = _split_python(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    ensure_environment(python)
    if command == "demo":
        return run(str(BIN / "daytape"), "demo", *rest)
    if command == "test":
        return run_tests(rest)
    if command == "bench":
        return run(str(PYTHON), "-m", "benchmarks", *rest)
    if command == "daytape":
        return run(str(BIN / "daytape"), *rest)
    print(f"dev.py: unknown command {command!r}; try demo, test, bench or daytape", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
