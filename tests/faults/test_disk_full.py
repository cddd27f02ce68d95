"""The disk fills up under a real `daytape run`: one line on stderr, exit 1, every event it had logged
still there and equal to a clean run's, the log audits clean, and once there is room the resume
finishes the run as a clean run.

Two ways to fill it: the log on a tiny tmpfs (needs the right to mount, as root in a container has;
grown with a remount afterwards), and a file-size limit (RLIMIT_FSIZE with SIGXFSZ ignored, so the
write fails with EFBIG instead of killing the process; lifted for the resume).
"""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.faults.conftest import (
    assert_equal_to_clean_and_audited,
    assert_only_clean_events,
    audit_allowing_open,
    cli,
    daytape_command,
    finished_days,
    five_day_session,
    run_daytape,
    run_ids,
    sqlite_rows,
    subprocess_env,
    write_session,
)

#: Room for the schema and a day or two of the five-day run, not for all of it (~370 KB of WAL).
TMPFS_SIZE = "300k"
FILE_SIZE_LIMIT = 200 * 1024


def _mount(folder: Path, size: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A 300 KB tmpfs, and a function that grows it to 64 MB."""
    folder = tmp_path / "tmpfs"
    folder.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    mounted = _mount(folder, TMPFS_SIZE)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip() or 'mount failed'}")

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=64m", str(folder)], check=True, capture_output=True)

    try:
        yield folder, grow
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def check_full_then_resume(folder: Path, stopped: subprocess.CompletedProcess, make_room: Callable[[], None]) -> None:
    db = folder / "log.db"
    log_url = f"sqlite:///{db}"
    session = folder.parent / "five.yaml"
    assert stopped.returncode == 1, stopped.stderr
    (run_id,) = run_ids(log_url)
    message = stopped.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith(f"daytape: cannot write to the event log {log_url}: "), message
    assert message.endswith(f"resume with: daytape run {session} --resume {run_id}"), message
    written = sqlite_rows(db, run_id)
    audit = audit_allowing_open(log_url, run_id)
    assert audit.code == 0, audit.stdout + audit.stderr

    make_room()
    resumed = cli("run", str(session), "--resume", run_id, "--json", "--quiet")
    assert resumed.code == 0, resumed.stderr
    clean = cli("run", str(session), "--json", "--quiet")
    assert clean.code == 0, clean.stderr
    clean_rows = sqlite_rows(db, clean.json()["run_id"])  # type: ignore[index]
    assert_only_clean_events(written, clean_rows)
    done = finished_days(written, clean_rows)
    assert [r for r in sqlite_rows(db, run_id) if r[1] in done] == [r for r in written if r[1] in done]
    assert_equal_to_clean_and_audited(log_url, run_id, clean.json()["run_id"])  # type: ignore[index]


def test_a_full_tmpfs_stops_the_run_with_one_line_and_the_resume_finishes_it(
    tiny_tmpfs: tuple[Path, Callable[[], None]], lean_store_root: Path
) -> None:
    folder, grow = tiny_tmpfs
    session = write_session(
        folder.parent / "five.yaml", five_day_session(lean_store_root, f"sqlite:///{folder / 'log.db'}")
    )
    stopped = run_daytape("run", str(session), "--quiet")
    check_full_then_resume(folder, stopped, grow)


def unmeasured(env: dict[str, str]) -> dict[str, str]:
    """The environment without coverage's subprocess settings: under the file size limit coverage could not
    write its data file at exit and would add its own traceback to the one line this test reads."""
    return {k: v for k, v in env.items() if k not in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")}


def test_a_file_size_limit_stops_the_run_with_one_line_and_the_resume_finishes_it(
    tmp_path: Path, lean_store_root: Path
) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    session = write_session(tmp_path / "five.yaml", five_day_session(lean_store_root, f"sqlite:///{folder / 'log.db'}"))
    stopped = subprocess.run(
        daytape_command("run", str(session), "--quiet"),
        capture_output=True,
        text=True,
        env=unmeasured(subprocess_env()),
        cwd=REPO_ROOT,
        preexec_fn=_limit_file_size,
    )
    check_full_then_resume(folder, stopped, lambda: None)
