"""Flags and inputs that used to be taken silently to mean something else (issue 16, finding 8): a naive
`replay --until`, `--workers`/`--scheduler` the executor ignores, plugins printing into `run --json`, a
resume with another file, and a resume with nothing left to do."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from daytape.cli import main
from eventlog.schema import runs
from eventlog.store import open_store
from tests.e2e.conftest import daytape, october_session, write_session

DAY = "2013-10-08"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def two_day_run(tmp_path_factory, lean_store_root) -> tuple[Path, str, str]:
    """(session file, log URL, run id) of a finished run over 2013-10-08..09: the scanner asks for IBM at 10:00
    exchange time, the strategy for IBM in full at 11:00."""
    folder = tmp_path_factory.mktemp("two-days")
    log_url = f"sqlite:///{folder / 'log.db'}"
    path = write_session(folder / "s.yaml", october_session(lean_store_root, log_url, end="2013-10-09"))
    result = daytape("run", str(path), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    return path, log_url, json.loads(result.stdout)["run_id"]


def replay(capsys, run_id: str, log_url: str, until: str) -> dict:
    code, out, err = cli(capsys, "replay", run_id, "--date", DAY, "--until", until, "--log", log_url, "--json")
    assert code == 0, err
    return json.loads(out)


# -- replay --until: a time without an offset is the exchange's time, the time plugins see -----------------


def test_a_naive_until_is_exchange_time_as_plugins_see_it(capsys, two_day_run):
    _, log_url, run_id = two_day_run
    at_1030 = replay(capsys, run_id, log_url, f"{DAY}T10:30")
    ibm = at_1030["symbols"]["IBM"]
    assert ibm["state"] == "adhoc" and ibm["metadata"]["added_by"] == "scanner"
    assert ibm["metadata"]["added_at"] == f"{DAY}T14:00:00+00:00"  # 10:00 in New York (EDT, UTC-4)
    for same in ("10:30", f"{DAY}T10:30:00-04:00", f"{DAY}T14:30Z", f"{DAY} 10:30"):
        assert replay(capsys, run_id, log_url, same) == at_1030, same
    assert replay(capsys, run_id, log_url, "11:00")["symbols"]["IBM"]["metadata"]["added_by"] == "strategy"
    before_the_scanner = replay(capsys, run_id, log_url, "09:59")
    assert "IBM" not in before_the_scanner["symbols"] and before_the_scanner["session_state"] == "streaming"


def test_an_until_that_is_no_time_names_what_is_expected(capsys, two_day_run):
    _, log_url, run_id = two_day_run
    code, out, err = cli(capsys, "replay", run_id, "--until", "25:00", "--log", log_url)
    assert (code, out) == (2, "")
    assert err.startswith("--until '25:00': expected a seq (e.g. 42), a time of day in exchange time (e.g. 14:00)")
    assert len(err.splitlines()) == 1


# -- executor flags that would be ignored are refused --------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--workers", "2"],
            "--workers 2: the serial executor runs one day at a time; "
            "add --executor process (or dask) to run days in parallel",
        ),
        (
            ["--scheduler", "tcp://127.0.0.1:8786"],
            "--scheduler: only the dask executor uses a scheduler; add --executor dask (serial would ignore it)",
        ),
        (
            ["--executor", "process", "--scheduler", "tcp://127.0.0.1:8786"],
            "--scheduler: only the dask executor uses a scheduler; add --executor dask (process would ignore it)",
        ),
        (["--executor", "threads"], "--executor: unknown executor 'threads'; use serial, process or dask"),
        (["--executor", "process", "--workers", "0"], "--workers: must be at least 1, got 0"),
    ],
)
def test_executor_flags_that_would_be_ignored_are_refused(capsys, tmp_path, lean_store_root, flags, message):
    log = tmp_path / "log.db"
    path = write_session(tmp_path / "s.yaml", october_session(lean_store_root, f"sqlite:///{log}", end=DAY))
    code, out, err = cli(capsys, "run", str(path), "--quiet", *flags)
    assert (code, out, err) == (2, "", message + "\n")
    assert not log.exists()


# -- what plugins print goes to stderr ----------------------------------------------------------------------

NOISY_PLUGIN = """
import os
import subprocess

from daytape.plugins import Strategy


class Noisy(Strategy):
    def __init__(self, **params):
        super().__init__(**params)
        print("noisy: built")

    def on_session_start(self, ctx):
        print(f"noisy: session start {ctx.now.date()}")  # one write: two workers' lines may interleave
        os.write(1, b"noisy: straight to fd 1\\n")
        subprocess.run(["echo", "noisy: a child process"], check=True)

    def on_step(self, ctx):
        if ctx.local_time.minute == 0 and ctx.local_time.hour == 12:
            print("noisy: noon")
"""


@pytest.fixture
def noisy_session(tmp_path, lean_store_root) -> tuple[Path, str]:
    (tmp_path / "noisy_plugin.py").write_text(textwrap.dedent(NOISY_PLUGIN))
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = october_session(
        lean_store_root, log_url, end="2013-10-09", strategy={"class": "noisy_plugin:Noisy", "params": {}}
    )
    return write_session(tmp_path / "s.yaml", session), log_url


@pytest.mark.parametrize("executor", [[], ["--executor", "process", "--workers", "2"]], ids=["serial", "process"])
def test_what_plugins_print_goes_to_stderr_and_run_json_stays_one_document(tmp_path, noisy_session, executor):
    path, _ = noisy_session
    result = daytape("run", str(path), "--json", "--quiet", *executor, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    for day in ("2013-10-08", "2013-10-09"):
        assert f"noisy: session start {day}" in result.stderr
    for line in ("noisy: built", "noisy: straight to fd 1", "noisy: a child process", "noisy: noon"):
        assert line in result.stderr
    assert "noisy" not in result.stdout


def test_without_json_stdout_is_the_run_id_alone_and_verify_json_is_one_document(tmp_path, noisy_session):
    path, log_url = noisy_session
    result = daytape("run", str(path), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    assert len(run_id) == 32 and result.stdout == run_id + "\n"
    assert "noisy: noon" in result.stderr
    verified = daytape("verify", run_id, "--log", log_url, "--json", "--quiet", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["deterministic"] is True and "noisy: noon" in verified.stderr


def test_config_check_json_stays_one_document_when_a_plugin_prints(tmp_path, noisy_session):
    path, _ = noisy_session
    result = daytape("config", "check", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["strategy"]["class"] == "noisy_plugin:Noisy"
    assert "noisy: built" in result.stderr


# -- resume: the file it started with, and a word when there is nothing to do ------------------------------


def run_row(log_url: str, run_id: str) -> tuple:
    with open_store(log_url) as store, store.engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.run_id == run_id)).one()
        count = len(store.events(run_id))
    return tuple(row), count


def test_resume_with_another_file_or_other_dates_is_refused_and_the_run_kept(capsys, tmp_path, two_day_run):
    path, log_url, run_id = two_day_run
    before = run_row(log_url, run_id)
    other_file = write_session(tmp_path / "other.yaml", {**yaml.safe_load(path.read_text()), "symbols": ["SPY"]})
    code, out, err = cli(capsys, "run", str(other_file), "--resume", run_id, "--quiet")
    assert (code, out) == (2, "")
    assert err == (
        f"{other_file}: differs from the config run {run_id} recorded (symbols); --resume finishes a run as it "
        "started: give the session file (and --from/--to) it started with, or start a new run\n"
    )
    code, out, err = cli(capsys, "run", str(path), "--resume", run_id, "--from", "2013-10-09", "--quiet")
    assert (code, out) == (2, "") and "recorded (start (--from)); " in err and len(err.splitlines()) == 1
    assert run_row(log_url, run_id) == before


def test_resume_of_a_run_started_with_from_and_to_needs_no_dates_again(capsys, tmp_path, lean_store_root):
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    path = write_session(tmp_path / "s.yaml", october_session(lean_store_root, log_url, scanner=None, strategy=None))
    code, out, err = cli(capsys, "run", str(path), "--from", DAY, "--to", DAY, "--quiet", "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    for dates in ([], ["--from", DAY, "--to", DAY], ["--to", DAY]):
        code, out, err = cli(capsys, "run", str(path), "--resume", run_id, "--quiet", *dates)
        assert (code, out) == (0, run_id + "\n"), err


def test_resuming_a_finished_run_says_so_and_changes_nothing(capsys, two_day_run):
    path, log_url, run_id = two_day_run
    before = run_row(log_url, run_id)
    code, out, err = cli(capsys, "run", str(path), "--resume", run_id, "--json")
    assert code == 0
    assert err == f"run {run_id} is completed: every session has finished; nothing to resume\n"
    document = json.loads(out)
    assert document["run_id"] == run_id and document["status"] == "completed"
    assert [s["date"] for s in document["sessions"]] == ["2013-10-08", "2013-10-09"]
    assert run_row(log_url, run_id) == before, "not even the finish time changes"


def test_resuming_a_failed_run_with_nothing_left_says_so_and_exits_1(capsys, tmp_path, lean_store_root):
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = october_session(lean_store_root, log_url, end=DAY, symbols=["NOPE"], scanner=None, strategy=None)
    path = write_session(tmp_path / "s.yaml", session)
    code, out, _ = cli(capsys, "run", str(path), "--quiet", "--json")
    assert code == 1
    run_id = json.loads(out)["run_id"]
    before = run_row(log_url, run_id)
    code, out, err = cli(capsys, "run", str(path), "--resume", run_id)
    assert (code, out) == (1, run_id + "\n")
    assert err.splitlines()[0] == f"run {run_id} is failed: every session has finished; nothing to resume"
    assert run_row(log_url, run_id) == before


# -- an infinite price is a bad bar in a run too ---------------------------------------------------------------


def test_a_run_flags_an_infinite_open_and_scores_the_day_without_it(capsys, tmp_path):
    minutes = [f"2013-10-09 {9 + (30 + m) // 60:02d}:{(30 + m) % 60:02d}" for m in range(390)]
    rows = [f"{ts},{'inf' if m == 10 else '10'},10.5,9.5,10.1,100" for m, ts in enumerate(minutes)]
    (tmp_path / "bars.csv").write_text("ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    store = tmp_path / "store"
    code, _, err = cli(
        capsys, "data", "import-csv", str(tmp_path / "bars.csv"), "--symbol", "XYZ", "--interval", "1m",
        "--tz", "America/New_York", "--store", str(store),
    )  # fmt: skip
    assert code == 0, err
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = october_session(
        store, log_url, start="2013-10-09", end="2013-10-09", symbols=["XYZ"], derived=["5m"], indicators=[],
        historical={"enabled": False}, scanner=None, strategy=None,
    )  # fmt: skip
    code, out, err = cli(capsys, "run", str(write_session(tmp_path / "s.yaml", session)), "--quiet", "--json")
    assert code == 0, err
    code, out, err = cli(capsys, "export", json.loads(out)["run_id"], "--log", log_url, "--format", "json")
    assert code == 0, err
    bars = json.loads(out)["symbols"]["XYZ"]["bars"]
    assert bars["1m"]["flagged"] == {"inf_price": 1}
    assert bars["1m"]["count"] == 389 and bars["1m"]["quality"] == pytest.approx(389 / 390)
    assert bars["1m"]["gaps"] == [
        {"start": "2013-10-09T13:40:00+00:00", "end": "2013-10-09T13:40:00+00:00", "missing": 1}
    ]
