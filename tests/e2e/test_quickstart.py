"""The README's quick start ("Run your first backtest on real data") works from any folder: its commands,
with their paths given as seen from an unrelated folder, run there (the session file's plugin
`examples.breakout` imports from beside the session file, for `run` and again for `verify`)."""

import os
import re
import shlex
import shutil
import subprocess
import sys

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def quick_start() -> list[list[str]]:
    section = README.split("## Run your first backtest on real data", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [shlex.split(line.split(" #")[0]) for line in block.group(1).strip().splitlines()]


def test_the_quick_start_works_from_another_folder(tmp_path, lean_root):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    shutil.copytree(REPO_ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere.mkdir()
    paths = {
        "../shared/data/lean": str(lean_root),
        "./lean-store": str(project / "lean-store"),
        "examples/lean-oct-2013.yaml": str(project / "examples" / "lean-oct-2013.yaml"),
        "sqlite:///lean-oct-2013.db": f"sqlite:///{project / 'lean-oct-2013.db'}",
        "lean-oct-2013.html": str(project / "lean-oct-2013.html"),  # the report's --out, as the user names it
    }
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DAYTAPE_LOG_URL")}
    run_id = None
    commands = quick_start()
    assert commands[0][:2] == [".venv/bin/daytape", "data"] and len(commands) >= 6
    for command in commands:
        assert command[0] == ".venv/bin/daytape", command
        args = [paths.get(arg, arg) for arg in command[1:]]
        if "RUN" in args:
            assert run_id is not None, "the run comes before the commands that read it"
            args = [run_id if arg == "RUN" else arg for arg in args]
        result = subprocess.run(
            [sys.executable, "-m", "daytape.cli", *args], capture_output=True, text=True, cwd=elsewhere, env=env
        )
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
        if command[1] == "run":
            run_id = result.stdout.strip()
        if command[1] == "verify":
            assert result.stdout.startswith(f"deterministic: run {run_id}"), result.stdout
    assert run_id is not None
    assert not list(elsewhere.iterdir()), "nothing is written to the folder it was run from"
