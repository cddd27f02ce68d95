"""Many `daytape run` processes writing different runs to one log at once, from a log that does not exist
yet: 4 on one SQLite file, 8 on one PostgreSQL database. Every run completes, none is lost, every one
audits clean and equals the others event for event, and no "database is locked" reaches the user."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.eventlog.conftest import _pg_schema_url
from tests.faults.conftest import (
    FIVE_DAYS,
    assert_equal_to_clean_and_audited,
    daytape_command,
    five_day_session,
    run_ids,
    subprocess_env,
    write_session,
)

TWO_DAYS = {"start": FIVE_DAYS[0], "end": FIVE_DAYS[1]}


def run_at_once(session: Path, processes: int) -> list[str]:
    """Start `processes` runs of `session` together; return their run ids once all have finished."""
    started = [
        subprocess.Popen(
            daytape_command("run", str(session), "--json", "--quiet"),
            cwd=REPO_ROOT,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    ids = []
    for process in started:
        stdout, stderr = process.communicate(timeout=600)
        assert "locked" not in stderr, stderr
        assert process.returncode == 0, stderr
        document = json.loads(stdout)
        assert document["status"] == "completed"
        assert [s["status"] for s in document["sessions"]] == ["ended", "ended"]
        ids.append(document["run_id"])
    return ids


def check_all(log_url: str, ids: list[str]) -> None:
    assert sorted(run_ids(log_url)) == sorted(ids), "a run is missing from the log"
    for run_id in ids:
        assert_equal_to_clean_and_audited(log_url, run_id, ids[0])


def test_four_processes_write_four_runs_to_one_new_sqlite_file(tmp_path: Path, lean_store_root: Path) -> None:
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = write_session(tmp_path / "s.yaml", five_day_session(lean_store_root, log_url, **TWO_DAYS))
    check_all(log_url, run_at_once(session, 4))


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_schema_url()


@pytest.mark.postgres
def test_eight_processes_write_eight_runs_to_one_new_postgresql_log(
    pg_url: str, tmp_path: Path, lean_store_root: Path
) -> None:
    session = write_session(tmp_path / "s.yaml", five_day_session(lean_store_root, pg_url, **TWO_DAYS))
    check_all(pg_url, run_at_once(session, 8))
