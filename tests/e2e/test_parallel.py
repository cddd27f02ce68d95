"""Days in a process pool or on a Dask cluster write exactly the events of a serial run."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

from daytape.configfile import load_session_file
from daytape.runner import RunOptions, run_session
from eventlog.diff import diff_runs
from eventlog.store import open_store
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import daytape, october_session, write_session
from tests.eventlog.conftest import _pg_schema_url

FOUR_DAYS = {"start": "2013-10-08", "end": "2013-10-11"}


def run(session, *args: str) -> str:
    result = daytape("run", str(session), "--json", "--quiet", *args)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "completed"
    assert [s["date"] for s in document["sessions"]] == ["2013-10-08", "2013-10-09", "2013-10-10", "2013-10-11"]
    return document["run_id"]


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory, lean_store_root):
    folder = tmp_path_factory.mktemp("parallel")
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = write_session(folder / "s.yaml", october_session(lean_store_root, log_url, **FOUR_DAYS))
    return session, log_url, run(session)


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_parallel_days_on_one_sqlite_file_equal_the_serial_run(serial_run, executor):
    session, log_url, serial_id = serial_run
    parallel_id = run(session, "--workers", "2", "--executor", executor)
    diff = daytape("diff", serial_id, parallel_id, "--log", log_url, "--json")
    assert diff.returncode == 0, diff.stdout
    report = json.loads(diff.stdout)
    assert report["same"] is True and report["streams"] == 4
    assert daytape("audit", parallel_id, "--log", log_url).returncode == 0


@pytest.mark.postgres
def test_a_process_pool_writing_to_postgresql_equals_the_serial_run(serial_run, lean_store_root, tmp_path):
    _session, sqlite_url, serial_id = serial_run
    for pg_url in _pg_schema_url():
        pg_session = write_session(tmp_path / "pg.yaml", october_session(lean_store_root, pg_url, **FOUR_DAYS))
        parallel_id = run(pg_session, "--workers", "2", "--executor", "process")
        with open_store(sqlite_url, create=False) as serial_log, open_store(pg_url, create=False) as pg_log:
            report = diff_runs(serial_log, serial_id, parallel_id, store_b=pg_log)
        assert report.same, report.first
        assert report.streams == 4
        assert daytape("audit", parallel_id, "--log", pg_url).returncode == 0


def test_an_unknown_executor_is_bad_input(serial_run):
    session, _, _ = serial_run
    result = daytape("run", str(session), "--executor", "threads")
    assert result.returncode == 2
    assert result.stderr.strip() == "--executor: unknown executor 'threads'; use serial, process or dask"


def test_an_in_process_pool_run_equals_serial_and_leaves_the_collector_as_it_was(serial_run, tmp_path):
    """The process backend called from Python (as `daytape.run` does): the same events as the serial run,
    and the garbage collector's freeze (taken so the forked workers do not copy what they inherit) undone."""
    session, log_url, serial_id = serial_run
    config = load_session_file(session)
    with open_store(f"sqlite:///{tmp_path / 'pool.db'}") as log:
        result = run_session(log, config, RunOptions(workers=2, backend="process"))
        assert result.status == "completed"
        with open_store(log_url, create=False) as serial_log:
            report = diff_runs(serial_log, serial_id, result.run_id, store_b=log)
    assert report.same, report.first
    assert report.streams == 4
    assert gc.get_freeze_count() == 0


def test_a_pool_worker_learns_it_is_not_on_dask_without_importing_dask():
    """`watching_dask_stop` in a process that has not imported distributed (a forked pool worker) changes
    nothing and imports nothing: importing distributed cost each worker about 0.4 s of CPU."""
    probe = (
        "import sys\n"
        "from daytape import interrupt\n"
        "with interrupt.watching_dask_stop('r'):\n"
        "    assert not interrupt.in_dask_task()\n"
        "assert 'distributed' not in sys.modules, 'distributed was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
