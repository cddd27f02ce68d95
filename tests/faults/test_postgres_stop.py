"""The PostgreSQL server stops (`pg_ctl stop -m immediate`) under a real `daytape run`: one clear line and
exit 1; once the server is back, the resume ends event for event as a clean run.

The server is a throwaway one this test starts (initdb + pg_ctl in a temporary folder, on a free port),
never the machine's server. initdb refuses to run as root, so as root the server runs as the
`postgres` OS user in a folder it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.faults.conftest import (
    assert_equal_to_clean_and_audited,
    cli,
    daytape_command,
    five_day_session,
    run_ids,
    subprocess_env,
    write_session,
)


def _server_tools() -> tuple[Path, list[str]] | str:
    """(the PostgreSQL bin folder, the command prefix that runs a tool as the server's owner), or why not."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not folders or not Path(folders[-1], "initdb").exists():
        return "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    if os.geteuid() != 0:
        return Path(folders[-1]), []
    runuser = shutil.which("runuser")
    if runuser is None:
        return "running as root without runuser: initdb refuses root and cannot be run as postgres"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "running as root and there is no postgres OS user to own a throwaway server"
    return Path(folders[-1]), [runuser, "-u", "postgres", "--"]


class Server:
    def __init__(self, bin_folder: Path, as_owner: list[str], folder: Path) -> None:
        self.bin, self.as_owner, self.folder = bin_folder, as_owner, folder
        self.data = folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._tool("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _tool(self, name: str, *args: str) -> None:
        done = subprocess.run([*self.as_owner, str(self.bin / name), *args], capture_output=True, text=True)
        assert done.returncode == 0, f"{name} failed: {done.stdout}{done.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._tool("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop_immediately(self) -> None:
        self._tool("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


@pytest.fixture
def server() -> Iterator[Server]:
    tools = _server_tools()
    if isinstance(tools, str):
        pytest.skip(tools)
    folder = Path(tempfile.mkdtemp(prefix="daytape-pg-"))
    if tools[1]:
        shutil.chown(folder, "postgres", "postgres")
    server = Server(tools[0], tools[1], folder)
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            [*server.as_owner, str(server.bin / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_a_server_stopping_mid_run_gives_one_line_and_the_resume_equals_a_clean_run(
    server: Server, lean_store_root: Path, tmp_path: Path
) -> None:
    session = write_session(tmp_path / "five.yaml", five_day_session(lean_store_root, server.url))
    marker = tmp_path / "paused"
    process = subprocess.Popen(
        daytape_command("run", str(session), "--quiet"),
        cwd=REPO_ROOT,
        env=subprocess_env(DAYTAPE_TEST_PAUSE_ON="2013-10-09", DAYTAPE_TEST_PAUSE_MARKER=str(marker)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), process.communicate()[1] if process.poll() is not None else "never paused"
    server.stop_immediately()
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 1, stderr
    message = stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith(f"daytape: cannot write to the event log {server.url}: "), message

    server.start()
    (run_id,) = run_ids(server.url)
    assert message.endswith(f"resume with: daytape run {session} --resume {run_id}"), message
    resumed = cli("run", str(session), "--resume", run_id, "--json", "--quiet")
    assert resumed.code == 0, resumed.stderr
    clean = cli("run", str(session), "--json", "--quiet")
    assert clean.code == 0, clean.stderr
    assert_equal_to_clean_and_audited(server.url, run_id, clean.json()["run_id"])  # type: ignore[index]
