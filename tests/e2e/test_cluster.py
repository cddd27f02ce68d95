"""`run --executor dask --scheduler` on a cluster of separate processes (a scheduler and two workers talking
TCP), the log on PostgreSQL: the events equal a serial run's, also when a worker is killed mid-run, and
when the workers read the bars from an object store (an S3-compatible server on 127.0.0.1)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.cluster import Cluster, fresh_pg_database, running_cluster, wait_for
from tests.e2e.conftest import daytape, october_session, write_session
from tests.s3server import running_s3

pytestmark = pytest.mark.postgres

FOUR_DAYS = {"start": "2013-10-08", "end": "2013-10-11"}
DATES = ["2013-10-08", "2013-10-09", "2013-10-10", "2013-10-11"]


@pytest.fixture
def dask_cluster() -> Iterator[Cluster]:
    with running_cluster(2) as cluster:
        yield cluster


@pytest.fixture
def pg_database() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def completed_run(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "completed"
    assert [s["date"] for s in document["sessions"]] == DATES
    return str(document["run_id"])


def assert_same_events(log_url: str, serial_id: str, other_id: str) -> None:
    diff = daytape("diff", serial_id, other_id, "--log", log_url, "--json")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    report = json.loads(diff.stdout)
    assert report["same"] is True and report["streams"] == 4
    assert daytape("audit", other_id, "--log", log_url).returncode == 0


def pg_rows(log_url: str, sql: str, *params: object) -> list[tuple]:
    import psycopg

    with psycopg.connect(log_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(sql, params).fetchall()


def test_days_on_a_cluster_of_processes_write_the_serial_runs_events(
    dask_cluster, pg_database, lean_store_root, tmp_path
):
    session = write_session(tmp_path / "s.yaml", october_session(lean_store_root, pg_database, **FOUR_DAYS))
    serial_id = completed_run(daytape("run", str(session), "--json", "--quiet"))
    cluster_id = completed_run(
        daytape("run", str(session), "--json", "--quiet", "--executor", "dask", "--scheduler", dask_cluster.address)
    )
    assert_same_events(pg_database, serial_id, cluster_id)


def test_a_worker_killed_mid_run_loses_no_day_and_writes_none_twice(
    dask_cluster, pg_database, lean_store_root, tmp_path
):
    session = write_session(tmp_path / "s.yaml", october_session(lean_store_root, pg_database, **FOUR_DAYS))
    serial_id = completed_run(daytape("run", str(session), "--json", "--quiet"))
    command = [sys.executable, "-m", "daytape.cli", "run", str(session), "--json", "--quiet"]
    command += ["--executor", "dask", "--scheduler", dask_cluster.address]
    run = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(
            lambda: (
                run.poll() is not None
                or pg_rows(
                    pg_database,
                    "SELECT count(*) FROM events WHERE run_key <> (SELECT run_key FROM runs WHERE run_id = %s)",
                    serial_id,
                )[0][0]
                > 0
            ),
            "the cluster run's first events",
        )
        assert run.poll() is None, "the run ended before a worker could be killed"
        dask_cluster.kill_worker(0)
        stdout, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    (cluster_id,) = [row[0] for row in pg_rows(pg_database, "SELECT run_id FROM runs WHERE run_id <> %s", serial_id)]
    # the dead worker's days go to the other worker: finished days kept, the cut-off day redone from its start
    assert completed_run(subprocess.CompletedProcess(command, run.returncode, stdout, stderr)) == cluster_id
    sessions = pg_rows(
        pg_database, "SELECT session_date, count(*) FROM sessions WHERE run_id = %s GROUP BY 1", cluster_id
    )
    assert sorted((str(day), n) for day, n in sessions) == [(day, 1) for day in DATES]
    assert_same_events(pg_database, serial_id, cluster_id)


def test_workers_on_a_cluster_read_the_bars_from_object_storage(pg_database, lean_store_root, tmp_path):
    """The store in a bucket, the workers given only its URL and the AWS variables: the cluster run's events
    are the serial local run's apart from the store each validation names, and its data digest is the same."""
    with running_s3() as s3:
        client = s3.client()
        for path in (p for p in lean_store_root.rglob("*") if p.is_file()):
            client.put_object(Bucket=s3.bucket, Key=f"lean/{path.relative_to(lean_store_root)}", Body=path.read_bytes())
        url = s3.url("lean")
        local = write_session(tmp_path / "local.yaml", october_session(lean_store_root, pg_database, **FOUR_DAYS))
        remote = write_session(tmp_path / "remote.yaml", october_session(url, pg_database, **FOUR_DAYS))
        serial_id = completed_run(daytape("run", str(local), "--json", "--quiet"))
        with running_cluster(2, env=s3.env) as cluster:
            cluster_id = completed_run(
                daytape(
                    "run",
                    str(remote),
                    "--json",
                    "--quiet",
                    "--executor",
                    "dask",
                    "--scheduler",
                    cluster.address,
                    env=s3.env,
                )
            )
    digests = dict(pg_rows(pg_database, "SELECT run_id, data_digest FROM runs"))
    assert digests[serial_id] == digests[cluster_id]

    def events(run_id: str, store: str) -> list[tuple]:
        from eventlog.store import open_store

        with open_store(pg_database) as log:
            rows = log.events(run_id)
        return [(str(row.session_date), row.seq, row.kind, row.payload_json.replace(store, "<store>")) for row in rows]

    remote_events = events(cluster_id, f"parquet:{url}")
    assert remote_events == events(serial_id, f"parquet:{lean_store_root}")
    assert {day for day, *_ in remote_events} == set(DATES)
    assert any("<store>" in payload for *_, payload in remote_events)
