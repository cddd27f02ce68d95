"""SIGINT and SIGTERM during a real `daytape run` and `daytape verify`: exit 130, the run marked
`interrupted`, the request in flight logged whole, one line on stderr, and a resume that ends event for
event as a clean run. Ctrl-C from a terminal goes to the whole process group (the workers of a process
pool too); `kill PID` or a CI timeout sends SIGTERM to daytape alone."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.faults.conftest import (
    assert_equal_to_clean_and_audited,
    cli,
    daytape_command,
    five_day_session,
    run_ids,
    run_status,
    sqlite_rows,
    subprocess_env,
    write_session,
)

PAUSE_DAY = "2013-10-08"


class Clean:
    def __init__(self, folder: Path, store: Path) -> None:
        self.folder = folder
        self.db = folder / "log.db"
        self.log_url = f"sqlite:///{self.db}"
        self.session = write_session(folder / "five.yaml", five_day_session(store, self.log_url))
        clean = cli("run", str(self.session), "--json", "--quiet")
        assert clean.code == 0, clean.stderr
        self.run_id: str = clean.json()["run_id"]  # type: ignore[index]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, lean_store_root: Path) -> Clean:
    return Clean(tmp_path_factory.mktemp("interrupt"), lean_store_root)


def _as_from_a_terminal() -> None:
    """daytape leaves a signal its parent ignored ignored (as `nohup` expects); a test started from a
    background job inherits SIGINT ignored, so the child gets the default dispositions a terminal gives."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def signalled(
    args: list[str], marker: Path, signals: list[signal.Signals], to_group: bool, pause_s: float = 1.0
) -> subprocess.CompletedProcess:
    """Run the CLI in a new process group; when the strategy pauses mid-session on PAUSE_DAY, send
    `signals` (to the group, as a terminal's Ctrl-C does, or to daytape alone)."""
    sent = marker.with_name(marker.name + ".sent")
    env = subprocess_env(
        DAYTAPE_TEST_PAUSE_ON=PAUSE_DAY,
        DAYTAPE_TEST_PAUSE_MARKER=str(marker),
        DAYTAPE_TEST_PAUSE_S=str(pause_s),
        DAYTAPE_TEST_PAUSE_UNTIL=str(sent),
    )
    process = subprocess.Popen(
        daytape_command(*args),
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_as_from_a_terminal,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the run never reached the pause"
            time.sleep(0.05)
        for number in signals:
            if to_group:
                os.killpg(process.pid, number)
            else:
                process.send_signal(number)
            time.sleep(0.2)
        sent.write_text("sent")
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def interrupted_run(clean: Clean, tmp_path: Path, *args: str, **how: object) -> tuple[str, subprocess.CompletedProcess]:
    before = set(run_ids(clean.log_url))
    stopped = signalled(["run", str(clean.session), "--quiet", *args], tmp_path / "paused", **how)  # type: ignore[arg-type]
    (run_id,) = set(run_ids(clean.log_url)) - before
    return run_id, stopped


def assert_resumes_to_the_clean_run(clean: Clean, run_id: str) -> None:
    resumed = cli("run", str(clean.session), "--resume", run_id, "--json", "--quiet")
    assert resumed.code == 0, resumed.stderr
    assert resumed.json()["status"] == "completed"  # type: ignore[index]
    assert_equal_to_clean_and_audited(clean.log_url, run_id, clean.run_id)


def paused_day_tail(clean: Clean, run_id: str) -> list[tuple[str, str]]:
    """(kind, request id) of the last events of the paused day's stream."""
    return [(row[3], row[5]) for row in sqlite_rows(clean.db, run_id) if row[1] == PAUSE_DAY][-2:]


@pytest.mark.parametrize(
    ("executor", "number", "to_group"),
    [
        ("serial", signal.SIGINT, True),
        ("serial", signal.SIGTERM, False),
        ("process", signal.SIGINT, True),
        ("process", signal.SIGTERM, False),
        ("dask", signal.SIGTERM, False),
    ],
    ids=["serial-ctrl-c", "serial-sigterm", "process-ctrl-c", "process-sigterm", "dask-sigterm"],
)
def test_a_signalled_run_stops_after_the_request_in_flight_and_resumes_to_the_clean_run(
    clean: Clean, tmp_path: Path, executor: str, number: signal.Signals, to_group: bool
) -> None:
    workers = ["--workers", "2"] if executor != "serial" else []  # serial refuses a --workers it would ignore
    run_id, stopped = interrupted_run(
        clean, tmp_path, "--executor", executor, *workers, signals=[number], to_group=to_group
    )
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr.strip() == f"interrupted; resume with: daytape run {clean.session} --resume {run_id}"
    assert stopped.stdout == ""
    assert run_status(clean.log_url, run_id) == "interrupted"
    # the strategy asked for BAC after the signal had arrived: that request is in the log whole, and nothing after it
    (_, last_kind_request), (last_kind, request) = paused_day_tail(clean, run_id)
    assert last_kind == "RequestCompleted" and last_kind_request == request
    bac = [row for row in sqlite_rows(clean.db, run_id) if row[1] == PAUSE_DAY and row[5] == request]
    assert bac[0][3] == "RequestReceived" and bac[0][6] == "BAC"

    assert_resumes_to_the_clean_run(clean, run_id)


def test_a_second_signal_stops_at_once_and_the_run_still_resumes(clean: Clean, tmp_path: Path) -> None:
    """The strategy sleeps for a minute after the first signal; the second one does not wait for it."""
    started = time.monotonic()
    run_id, stopped = interrupted_run(
        clean, tmp_path, signals=[signal.SIGINT, signal.SIGINT], to_group=True, pause_s=60.0
    )
    assert time.monotonic() - started < 45, "the second signal waited for the plugin"
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr.strip() == f"interrupted; resume with: daytape run {clean.session} --resume {run_id}"
    assert run_status(clean.log_url, run_id) == "interrupted"
    assert paused_day_tail(clean, run_id)[-1][0] != "RequestReceived", "a request was cut in half"
    assert_resumes_to_the_clean_run(clean, run_id)


def test_the_resume_command_names_the_log_given_on_the_command_line(clean: Clean, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.db"
    url = f"sqlite:///{db}"
    stopped = signalled(
        ["run", str(clean.session), "--quiet", "--log", url], tmp_path / "paused", [signal.SIGTERM], to_group=False
    )
    assert stopped.returncode == 130, stopped.stderr
    (run_id,) = run_ids(url)
    assert (
        stopped.stderr.strip() == f"interrupted; resume with: daytape run {clean.session} --resume {run_id} --log {url}"
    )


def test_an_interrupted_verify_exits_130_and_never_says_deterministic(clean: Clean, tmp_path: Path) -> None:
    stopped = signalled(
        ["verify", clean.run_id, "--log", clean.log_url, "--quiet"], tmp_path / "paused", [signal.SIGINT], to_group=True
    )
    assert stopped.returncode == 130, stopped.stderr
    assert "deterministic" not in stopped.stdout + stopped.stderr
    assert stopped.stderr.strip() == f"interrupted; verify of run {clean.run_id} did not finish (nothing was checked)"
