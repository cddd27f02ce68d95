"""fdatasync failing under a real `daytape run` (Debian's fiu-utils: `fiu-run` preloads libfiu's POSIX
wrappers; `fiu-ctrl` turns a failure point on in a running process).

On SQLite in WAL mode with synchronous=NORMAL a commit does not sync: the syncs are the folder's when a
process first writes (the WAL file is created) and the checkpoint's when the last connection closes. So
a failing fdatasync either stops a run at its first write with one line and exit 1, or hits a
checkpoint, which SQLite retries later and daytape never sees: the run completes and nothing is lost.
Either way every run in the log audits clean, and a run that had started resumes to a clean run's
events, whatever its last append was reported as.

libfiu's wrappers take their own locks inside malloc and mmap, which can deadlock against the dynamic
loader when another thread allocates while a library loads; pyarrow's jemalloc background thread and
OpenBLAS's threads are turned off in the wrapped process to keep that from happening.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.faults.conftest import (
    assert_equal_to_clean_and_audited,
    assert_only_clean_events,
    cli,
    daytape_command,
    five_day_session,
    run_ids,
    sqlite_rows,
    subprocess_env,
    write_session,
)

pytestmark = pytest.mark.skipif(
    shutil.which("fiu-run") is None or shutil.which("fiu-ctrl") is None,
    reason="fiu-run/fiu-ctrl (Debian's fiu-utils) are not installed; .ci/run installs them with apt-get",
)

FDATASYNC = "posix/io/sync/fdatasync"
#: Keep the wrapped process's threads from allocating while libraries load (see the module docstring).
QUIET_THREADS = {"JE_ARROW_MALLOC_CONF": "background_thread:false", "OPENBLAS_NUM_THREADS": "1"}


class Log:
    def __init__(self, folder: Path, store: Path) -> None:
        self.db = folder / "log.db"
        self.url = f"sqlite:///{self.db}"
        self.session = write_session(folder / "five.yaml", five_day_session(store, self.url))
        clean = cli("run", str(self.session), "--json", "--quiet")
        assert clean.code == 0, clean.stderr
        self.clean_id: str = clean.json()["run_id"]  # type: ignore[index]
        self.clean_rows = sqlite_rows(self.db, self.clean_id)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, lean_store_root: Path) -> Log:
    return Log(tmp_path_factory.mktemp("sync"), lean_store_root)


def under_fiu(log: Log, *fiu_args: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["fiu-run", "-x", *fiu_args, *daytape_command("run", str(log.session), "--quiet")],
        cwd=REPO_ROOT,
        env=subprocess_env(**QUIET_THREADS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    try:
        stdout, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the run under fiu-run hung (libfiu's wrappers deadlocked, or daytape did)")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def check_outcome(log: Log, known: set[str], done: subprocess.CompletedProcess) -> None:
    """Completed and equal to a clean run, or stopped with one line and resumed to a clean run."""
    new = set(run_ids(log.url)) - known
    assert done.returncode in (0, 1), done.stderr
    if done.returncode == 1:
        message = done.stderr.strip()
        assert "\n" not in message and "Traceback" not in message, message
        assert message.startswith(f"daytape: cannot write to the event log {log.url}: disk I/O error"), message
    for run_id in new:
        if done.returncode == 1:
            written = sqlite_rows(log.db, run_id)
            if written:
                assert_only_clean_events(written, log.clean_rows)
            resumed = cli("run", str(log.session), "--resume", run_id, "--json", "--quiet")
            assert resumed.code == 0, resumed.stderr
        assert_equal_to_clean_and_audited(log.url, run_id, log.clean_id)
    for run_id in run_ids(log.url):
        audit = cli("audit", run_id, "--log", log.url)
        assert audit.code == 0, audit.stdout + audit.stderr


def test_every_fdatasync_failing_stops_the_run_with_one_line_and_loses_nothing(log: Log) -> None:
    known = set(run_ids(log.url))
    done = finish(under_fiu(log, "-c", f"enable name={FDATASYNC}"))
    assert done.returncode == 1, done.stderr
    check_outcome(log, known, done)


def test_fdatasync_failing_at_random_never_loses_or_damages_a_run(log: Log) -> None:
    for _ in range(2):
        known = set(run_ids(log.url))
        check_outcome(log, known, finish(under_fiu(log, "-c", f"enable_random name={FDATASYNC},probability=0.5")))


def test_fdatasync_failing_from_mid_run_on_loses_nothing(log: Log, tmp_path: Path) -> None:
    """The failure is turned on while the run is streaming its second day, so every checkpoint after fails."""
    known = set(run_ids(log.url))
    marker = tmp_path / "paused"
    process = subprocess.Popen(
        ["fiu-run", "-x", *daytape_command("run", str(log.session), "--quiet")],
        cwd=REPO_ROOT,
        env=subprocess_env(**QUIET_THREADS, DAYTAPE_TEST_PAUSE_ON="2013-10-08", DAYTAPE_TEST_PAUSE_MARKER=str(marker)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the run never reached the pause"
    enabled = subprocess.run(["fiu-ctrl", "-c", f"enable name={FDATASYNC}", str(process.pid)], capture_output=True)
    assert enabled.returncode == 0, enabled.stderr
    check_outcome(log, known, finish(process))
