"""Shared parts of the fault tests: a five-day session on the real LEAN data, the CLI in a subprocess
(the process a fault hits) and in this process (the resumes and checks that follow, without paying
the interpreter's start-up for each), and an independent reading of a SQLite log."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import yaml

from daytape.cli import main
from eventlog.kinds import KIND_NAMES
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import lean_store_root  # noqa: F401 (a fixture the fault tests share)

FIVE_DAYS = ("2013-10-07", "2013-10-08", "2013-10-09", "2013-10-10", "2013-10-11")
#: Kinds that begin an append: one per request, one per phase event, one for the day's end batch.
BATCH_OPENING_KINDS = (
    "RequestReceived",
    "TeardownStarted",
    "LoadingStarted",
    "StreamingStarted",
    "SessionEnded",
    "SessionFailed",
    "SessionAborted",
)


def five_day_session(store: Path, log_url: str, **overrides: object) -> dict:
    """SPY and AIG from the config, a scanner wanting RSI on IBM at 10:00, a strategy wanting BAC at 11:00."""
    session = {
        "name": "five-days",
        "exchange": "XNYS",
        "start": FIVE_DAYS[0],
        "end": FIVE_DAYS[-1],
        "store": str(store),
        "log": log_url,
        "symbols": ["SPY", "AIG"],
        "streams": ["1m"],
        "derived": ["5m"],
        "historical": {"enabled": True, "trailing_days": 1},
        "indicators": [{"type": "sma", "period": 20, "interval": "5m"}],
        "scanner": {
            "class": "daytape.examples:ListScanner",
            "params": {"symbols": ["IBM"], "at": "10:00", "indicator": {"type": "rsi", "period": 14, "interval": "1m"}},
        },
        "strategy": {"class": "tests.faults.plugins:PausingStrategy", "params": {"symbols": ["BAC"], "at": "11:00"}},
    }
    session.update(overrides)
    return session


def write_session(path: Path, session: dict) -> Path:
    path.write_text(yaml.safe_dump(session, sort_keys=False))
    return path


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **extra}
    env.pop("DAYTAPE_LOG_URL", None)
    return env


def daytape_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "daytape.cli", *args]


def run_daytape(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real CLI in its own process."""
    return subprocess.run(
        daytape_command(*args),
        capture_output=True,
        text=True,
        env=env or subprocess_env(),
        cwd=REPO_ROOT,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def cli(*args: str) -> Outcome:
    """The CLI's `main` in this process, as the console script calls it."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Outcome(code, out.getvalue(), err.getvalue())


def run_ids(log_url: str) -> list[str]:
    listed = cli("runs", "--json", "--log", log_url)
    assert listed.code == 0, listed.stderr
    return [run["run_id"] for run in listed.json()]  # type: ignore[union-attr]


def run_status(log_url: str, run_id: str) -> str:
    listed = cli("runs", "--json", "--log", log_url)
    assert listed.code == 0, listed.stderr
    return next(run["status"] for run in listed.json() if run["run_id"] == run_id)  # type: ignore[union-attr]


def assert_equal_to_clean_and_audited(log_url: str, run_id: str, clean_id: str) -> None:
    """`daytape diff` finds the run event for event equal to the clean one, and `daytape audit` clean."""
    diff = cli("diff", clean_id, run_id, "--log", log_url, "--json")
    assert diff.code == 0, diff.stdout + diff.stderr
    assert diff.json()["same"] is True  # type: ignore[index]
    audit = cli("audit", run_id, "--log", log_url)
    assert audit.code == 0, audit.stdout + audit.stderr


def sqlite_rows(path: Path, run_id: str) -> list[tuple]:
    """(run key, session_date, seq, kind, hash, request_id, symbol) of a run's events, read with the sqlite3
    module (not daytape) in the stored layout: the date as days since 1970 (given back as ISO text), the
    kind by its number (given back by name), the hash as 32 bytes (given back in hex)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT e.run_key, e.session_date, e.seq, e.kind, e.hash, e.request_id, e.symbol FROM events AS e "
            "JOIN runs AS r ON r.run_key = e.run_key WHERE r.run_id = ? ORDER BY e.session_date, e.seq",
            (run_id,),
        ).fetchall()
    epoch = dt.date(1970, 1, 1)
    return [
        (key, (epoch + dt.timedelta(days=day)).isoformat(), seq, KIND_NAMES[kind - 1], digest.hex(), request, symbol)
        for key, day, seq, kind, digest, request, symbol in rows
    ]


def appends_of(rows: list[tuple]) -> int:
    """How many appends wrote these rows: each append begins with one of BATCH_OPENING_KINDS."""
    return sum(1 for row in rows if row[3] in BATCH_OPENING_KINDS)


def audit_allowing_open(log_url: str, run_id: str) -> Outcome:
    """`daytape audit` of a run a fault stopped mid-day. An audit that checks runs for open days says
    they are not clean unless told `--allow-open`; where this daytape's audit has the flag, pass it."""
    allow_open = "--allow-open" in cli("audit", "--help").stdout
    return cli("audit", run_id, "--log", log_url, *(["--allow-open"] if allow_open else []))


def assert_only_clean_events(rows: list[tuple], clean_rows: list[tuple]) -> None:
    """Every event the stopped run wrote is the clean run's event at the same (date, seq): the same hash,
    so the same payload and the same chain. Nothing acknowledged was lost or changed."""
    clean = {(row[1], row[2]): (row[3], row[4]) for row in clean_rows}
    assert rows, "the run wrote nothing before the fault"
    for row in rows:
        assert clean.get((row[1], row[2])) == (row[3], row[4]), f"event {row[1]} seq {row[2]} differs from a clean run"
    for day in {row[1] for row in rows}:
        seqs = [row[2] for row in rows if row[1] == day]
        assert seqs == list(range(1, len(seqs) + 1)), f"the stream of {day} has a gap"


def finished_days(rows: list[tuple], clean_rows: list[tuple]) -> set[str]:
    """Days whose stream holds as many events as the clean run's."""
    count = {day: sum(1 for row in clean_rows if row[1] == day) for day in {row[1] for row in clean_rows}}
    return {day for day in {row[1] for row in rows} if sum(1 for row in rows if row[1] == day) == count[day]}
