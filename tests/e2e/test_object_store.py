"""The bar store on an S3-compatible server (moto's server mode on 127.0.0.1, signatures enforced):
import, check, run and verify on it, with the same bars, digest and events as the local store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlog.store import open_store
from tests.e2e.conftest import OCTOBER_SYMBOLS, daytape, october_session, write_session
from tests.s3server import S3Server, running_s3

PREFIX = "stores/lean"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture(scope="module")
def s3_store(s3: S3Server, lean_root: Path) -> str:
    """The LEAN bars imported straight into the bucket by the CLI."""
    url = s3.url(PREFIX)
    result = daytape(
        "data", "import-lean", str(lean_root), "--store", url, "--symbols", ",".join(OCTOBER_SYMBOLS), env=s3.env
    )
    assert result.returncode == 0, result.stderr
    return url


def local_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_import_lean_into_s3_writes_the_local_stores_files_byte_for_byte(s3, s3_store, lean_store_root):
    assert s3.keys(PREFIX) == local_files(lean_store_root)


def test_data_check_on_s3_reports_what_it_reports_on_the_local_store(s3, s3_store, lean_store_root):
    args = ("data", "check", "--symbol", "SPY", "--from", "2013-10-07", "--to", "2013-10-11", "--json")
    remote = daytape(*args, "--store", s3_store, env=s3.env)
    local = daytape(*args, "--store", str(lean_store_root))
    assert remote.returncode == local.returncode == 0, remote.stderr
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    assert len(json.loads(remote.stdout)) == 5


def events(db: Path, run_id: str, store: str) -> list[tuple[str, str, int, str, str]]:
    """The run's events in order, the store's name in them replaced by `<store>`."""
    with open_store(f"sqlite:///{db}") as log:
        rows = log.events(run_id)
    return [
        (str(row.session_date), row.kind, row.seq, str(row.symbol), row.payload_json.replace(store, "<store>"))
        for row in rows
    ]


def run_id_of(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "completed"
    return str(document["run_id"])


def test_a_run_on_s3_records_the_local_runs_events_and_data_digest_and_verifies(
    s3, s3_store, lean_store_root, tmp_path
):
    db = tmp_path / "log.db"
    log = f"sqlite:///{db}"
    remote_file = write_session(tmp_path / "remote.yaml", october_session(s3_store, log))
    local_file = write_session(tmp_path / "local.yaml", october_session(lean_store_root, log))
    remote_id = run_id_of(daytape("run", str(remote_file), "--json", "--quiet", env=s3.env))
    local_id = run_id_of(daytape("run", str(local_file), "--json", "--quiet"))

    # the same events apart from the store each validation names as its data source
    remote_events = events(db, remote_id, f"parquet:{s3_store}")
    assert remote_events == events(db, local_id, f"parquet:{lean_store_root}")
    assert {kind for _, kind, *_ in remote_events} >= {"SessionBarsLoaded", "HistoricalLoaded", "SymbolStreamed"}
    assert any('"data_source":"<store>"' in payload for *_, payload in remote_events)

    diff = daytape("diff", local_id, remote_id, "--log", log, "--json")
    report = json.loads(diff.stdout)
    # the same data digest (the same bytes); only the config differs, in its store, and the first event
    # that differs is the first that names it
    assert set(report["manifest_differences"]) == {"config_hash"}
    listed = {run["run_id"]: run for run in json.loads(daytape("runs", "--log", log, "--json").stdout)}
    assert listed[remote_id]["data_scope"] == listed[local_id]["data_scope"]
    assert listed[remote_id]["data_scope"]["scope"] == "run" and listed[remote_id]["data_scope"]["files"] > 0
    first = report["first_divergence"]
    assert first["a"]["kind"] == "SymbolValidated"
    assert f"parquet:{s3_store}" in json.dumps(first["b"])
    assert f"parquet:{lean_store_root}" in json.dumps(first["a"])

    verified = daytape("verify", remote_id, "--log", log, env=s3.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("deterministic")
    lookahead = daytape("verify", remote_id, "--lookahead", "--log", log, env=s3.env)
    assert lookahead.returncode == 2
    assert f"the store {s3_store} is an object store" in lookahead.stderr.strip().splitlines()[-1]


def test_changing_one_object_changes_the_digest_verify_reports(s3, lean_store_root, lean_root, tmp_path, monkeypatch):
    from marketdata.store import BarStore

    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    url = s3.url("stores/changed")
    client = s3.client()
    for relative, body in local_files(lean_store_root).items():
        client.put_object(Bucket=s3.bucket, Key=f"stores/changed/{relative}", Body=body)
    assert BarStore(url).digest() == BarStore(lean_store_root).digest()

    db = tmp_path / "log.db"
    session = write_session(tmp_path / "s.yaml", october_session(url, f"sqlite:///{db}", end="2013-10-08"))
    run_id = run_id_of(daytape("run", str(session), "--json", "--quiet", env=s3.env))
    key = "stores/changed/1m/symbol=SPY/2013-10-08.parquet"
    client.put_object(
        Bucket=s3.bucket, Key=key, Body=(lean_store_root / "1m/symbol=SPY/2013-10-09.parquet").read_bytes()
    )
    assert BarStore(url).digest() != BarStore(lean_store_root).digest()
    verified = daytape("verify", run_id, "--log", f"sqlite:///{db}", env=s3.env)
    assert verified.returncode == 1
    assert (
        "the bar store changed since the run: its data digest differs: 1m/symbol=SPY/2013-10-08.parquet changed"
        in verified.stdout
    )


@pytest.mark.parametrize(
    ("store", "env_change", "expected"),
    [
        ("ftp://bars/lean", {}, "ftp://bars/lean: unsupported store URL scheme 'ftp'"),
        ("s3:///lean", {}, "s3:///lean: no bucket"),
        ("s3://Bad_Bucket/lean", {}, "'Bad_Bucket' is not a valid bucket name"),
        ("s3://no-such-bucket/lean", {}, "s3://no-such-bucket/lean: the bucket no-such-bucket does not exist"),
        ("<bucket>/lean", {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN"}, "the access key is not known there"),
        ("<bucket>/lean", {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "the secret key is refused"),
        ("<bucket>/lean", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "no S3 server answers at http://127.0.0.1:9"),
        ("<bucket>/empty", {}, "nothing stored under this prefix"),
    ],
)
def test_a_store_that_cannot_be_read_is_one_line_naming_why(s3, s3_store, store, env_change, expected):
    store = store.replace("<bucket>", f"s3://{s3.bucket}")
    result = daytape("data", "check", "--store", store, env={**s3.env, **env_change})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert expected in line
    assert s3.secret_key not in result.stderr + result.stdout


def test_a_session_whose_store_bucket_is_missing_is_refused_before_a_run(s3, lean_store_root, tmp_path):
    db = tmp_path / "log.db"
    session = write_session(tmp_path / "s.yaml", october_session("s3://no-such-bucket/lean", f"sqlite:///{db}"))
    result = daytape("run", str(session), env=s3.env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "store: s3://no-such-bucket/lean: the bucket no-such-bucket does not exist" in line
    assert not db.exists()
