"""A real Dask cluster of separate processes on 127.0.0.1, and a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.eventlog.conftest import PG_URL, postgres_unavailable

DASK = Path(sys.executable).parent / "dask"
#: How long the processes may take to start on a loaded machine.
START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def kill_worker(self, index: int) -> None:
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait()

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.Popen(
        [str(DASK), *args], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def start_cluster(workers: int, env: dict[str, str] | None = None) -> Cluster:
    """`dask scheduler` and `workers` × `dask worker` (no nanny: a killed worker stays dead), one thread each;
    `env` adds to the workers' environment (an object store's endpoint and credentials)."""
    if not DASK.exists():
        pytest.skip(f"no dask command at {DASK}")
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    cluster = Cluster(
        address, _process("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard")
    )
    try:
        for number in range(workers):
            cluster.workers.append(
                _process(
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--name",
                    f"worker-{number}",
                    env=env,
                )
            )
        with Client(address, timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextmanager
def running_cluster(workers: int, env: dict[str, str] | None = None) -> Iterator[Cluster]:
    cluster = start_cluster(workers, env)
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """The URL of a database created for this test (and dropped after it)."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"daytape_cluster_{uuid.uuid4().hex[:12]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def wait_for(condition: object, what: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
