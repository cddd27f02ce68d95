"""The command line as people meet it: in a terminal of 80 and of 200 columns (a real pseudo-terminal whose
size is set with TIOCSWINSZ) and from a pipe."""

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

#: CSI sequences (colours, cursor moves, erase line) and the other escapes rich writes to a terminal.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "DAYTAPE_LOG_URL", "NO_COLOR")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["TERM"] = "xterm-256color"
    return {**env, **extra}


def in_terminal(args: list[str], columns: int, cwd: Path) -> tuple[int, str]:
    """Run daytape with stdin, stdout and stderr on a pseudo-terminal `columns` wide; what it showed."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "daytape.cli", *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=_env()
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every end of the slave is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return process.wait(), b"".join(chunks).decode("utf-8", "replace")


def screen_lines(text: str) -> list[str]:
    """The lines as drawn: escapes removed, split at newlines and carriage returns."""
    return [line for line in re.split(r"\r\n|\n|\r", ESCAPES.sub("", text)) if line.strip()]


def piped(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "daytape.cli", *args], capture_output=True, text=True, cwd=cwd, env=_env(**env)
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    result = piped(["demo", "--dir", str(folder / "d"), "--days", "2", "--quiet"], cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "d"


@pytest.mark.parametrize("columns", [80, 200])
def test_the_demo_fits_the_terminal_with_one_progress_display(tmp_path, columns):
    code, shown = in_terminal(["demo", "--dir", str(tmp_path / "d"), "--days", "2"], columns, tmp_path)
    assert code == 0, shown
    lines = screen_lines(shown)
    too_wide = [line for line in lines if len(line) > columns]
    assert not too_wide, too_wide[:3]
    assert "\x1b[" in shown, "a terminal gets rich's drawing"
    # the progress bar's lines (a wrapped plan summary may also start with the word "sessions")
    progress = [line for line in lines if line.lstrip().startswith("sessions") and ("━" in line or "ETA" in line)]
    assert progress and "2/2" in progress[-1] and "ETA" in progress[-1], progress[-3:]
    assert not any(re.match(r"\s*session \d{4}-\d\d-\d\d", line) for line in lines), "no bar per session"
    assert "3 sessions, 1,170 rows" not in shown
    if columns == 200:  # a state table's row on one line: every column of TSLA, none wrapped
        assert any(re.search(r"TSLA\s.*full\s.*strategy\s.*yes\s.*yes\s.*1m 5m 15m", line) for line in lines), (
            "\n".join(lines)
        )


def test_piped_output_is_plain_and_does_not_depend_on_the_terminal(demo_dir):
    narrow = piped(["data", "check", "--store", str(demo_dir / "data")], cwd=demo_dir, COLUMNS="60")
    wide = piped(["data", "check", "--store", str(demo_dir / "data")], cwd=demo_dir, COLUMNS="300")
    assert narrow.returncode == wide.returncode == 0, narrow.stderr
    assert narrow.stdout == wide.stdout and "\x1b" not in narrow.stdout
    rows = [line for line in narrow.stdout.splitlines() if "2023-11-21" in line]
    assert len(rows) == 5 and all(len(row.split("│")) == 12 and re.search(r" 390 .*%", row) for row in rows), (
        narrow.stdout
    )
    assert narrow.stderr == ""


def test_a_piped_run_writes_no_progress_and_verbose_a_line_per_day(demo_dir):
    session = str(demo_dir / "session.yaml")
    plain = piped(["run", session], cwd=demo_dir)
    assert plain.returncode == 0, plain.stderr
    assert re.fullmatch(r"[0-9a-f]{32}\n", plain.stdout)
    assert re.fullmatch(r"  seal [0-9a-f]{64}\n", plain.stderr), plain.stderr
    verbose = piped(["run", session, "--verbose"], cwd=demo_dir)
    days = [line for line in verbose.stderr.splitlines() if not line.startswith("  seal")]
    assert [line.split(" ", 1)[0] for line in days] == ["2023-11-21", "2023-11-22"], verbose.stderr
    assert all(" ended: " in line for line in days)
    quiet = piped(["run", session, "--quiet"], cwd=demo_dir)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_verdicts_go_to_stdout_and_errors_to_stderr(demo_dir):
    log = f"sqlite:///{demo_dir / 'daytape.db'}"
    run_id = piped(["run", str(demo_dir / "session.yaml"), "--quiet"], cwd=demo_dir).stdout.strip()
    audit = piped(["audit", run_id[:8], "--log", log], cwd=demo_dir)
    assert (audit.returncode, audit.stderr) == (0, "") and audit.stdout.startswith(f"audit: run {run_id}: 2 streams")
    diff = piped(["diff", run_id, run_id, "--log", log], cwd=demo_dir)
    assert (diff.returncode, diff.stderr) == (0, "") and "diff: same events" in diff.stdout
    runs = piped(["runs", "--log", log], cwd=demo_dir)
    header, *rows = runs.stdout.splitlines()
    assert header.split() == ["run_id", "status", "sessions", "started_at", "name"]
    assert any(row.startswith(run_id) and " completed " in row for row in rows)
    unknown = piped(["audit", "ffffffff", "--log", log], cwd=demo_dir)
    assert unknown.returncode == 2 and unknown.stdout == "" and len(unknown.stderr.splitlines()) == 1


def test_replay_text_tells_quality_indicator_values_and_rejections(demo_dir):
    log = f"sqlite:///{demo_dir / 'daytape.db'}"
    run_id = piped(["runs", "--log", log, "--json"], cwd=demo_dir).stdout.split('"run_id": "')[1][:32]
    text = piped(["replay", run_id, "--log", log, "--date", "2023-11-21"], cwd=demo_dir).stdout
    assert re.search(r"1m \(390 bars, quality 1\.0000, 0 gaps\)", text), text
    assert re.search(r"sma_20_5m=\d+\.\d{4}", text) and re.search(r"rsi_14_1m=\d+\.\d{4}", text), text
    assert re.search(r"NOSUCH\s+rejected: ", text), text
    exported = piped(["export", run_id, "--log", log, "--format", "csv"], cwd=demo_dir).stdout
    _, *rows = exported.splitlines()
    assert rows and all(",true," in row or ",false," in row for row in rows) and "True" not in exported
