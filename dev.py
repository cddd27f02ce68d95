#!/usr/bin/env python3
"""Set up `.venv/` if needed, then run the demo, the tests, the benchmarks or the CLI.

    python3 dev.py demo        set up, then `daytape demo`
    python3 dev.py test        set up, then ruff, import-linter, mypy and the whole test suite
    python3 dev.py bench       set up, then `python -m benchmarks` (pass --quick for the short one)
    python3 dev.py daytape ..  set up, then any daytape command

Only the Python standard library is used here, so this works on a fresh machine.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".daytape-installed"


def _requirements_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    """Create `.venv/` and install the project with its dev extras, once per pyproject change."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"daytape needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("dev.py: creating .venv/", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    digest = _requirements_digest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    print("dev.py: installing daytape and its dev dependencies into .venv/", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "install", "--quiet", "-e", ".[dev]"], check=True, cwd=ROOT)
    STAMP.write_text(digest)


def run(*args: str) -> int:
    return subprocess.run(list(args), cwd=ROOT).returncode


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
    return run(*pytest, *extra)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    ensure_environment()
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
