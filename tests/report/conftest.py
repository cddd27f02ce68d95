"""Reports of a run on the real LEAN data and of the demo, written once per test module by the real CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from marketdata.calendar import get_calendar
from marketdata.generator import write_sample_store
from marketdata.store import BarStore
from tests.e2e.conftest import daytape, lean_store_root, october_session, write_session

__all__ = ["lean_store_root", "log_dir"]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """Where a test leaves what a person may want to look at (screenshots): $DAYTAPE_TEST_LOG_DIR, else tmp."""
    chosen = os.environ.get("DAYTAPE_TEST_LOG_DIR")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


#: The look-ahead proof's moments in the October report: two a day, seed 7.
OCTOBER_LOOKAHEAD = ("--lookahead", "--samples", "2", "--seed", "7")
#: The failing run's: enough moments that some fall while its strategy reads a bar not closed yet.
PEEKING_LOOKAHEAD = ("--lookahead", "--samples", "8", "--seed", "1")
#: The failing run's day.
PEEKING_DAY = dt.date(2024, 3, 12)


def made_report(folder: Path, log_url: str, run_id: str, *dates: str, flags: tuple[str, ...] = ()) -> tuple[Path, str]:
    out = folder / "report.html"
    chosen = [arg for day in dates for arg in ("--date", day)]
    result = daytape("report", run_id, *chosen, *flags, "--out", str(out), "--log", log_url)
    assert result.returncode == 0, result.stderr
    return out, result.stderr


@pytest.fixture(scope="module")
def october_report(tmp_path_factory, lean_store_root):
    folder = tmp_path_factory.mktemp("report-october")
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = write_session(folder / "session.yaml", october_session(lean_store_root, log_url))
    run = json.loads(daytape("run", str(session), "--json", "--quiet").stdout)
    page, said = made_report(folder, log_url, run["run_id"], flags=OCTOBER_LOOKAHEAD)
    return page, said, log_url, run["run_id"]


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-demo")
    made = daytape("demo", "--dir", str(folder), "--days", "3", "--quiet")
    assert made.returncode == 0, made.stderr
    log_url = f"sqlite:///{folder / 'daytape.db'}"
    run_id = json.loads(daytape("runs", "--json", "--log", log_url).stdout)[0]["run_id"]
    page, said = made_report(folder, log_url, run_id, "2023-11-24")
    return page, said, log_url, run_id


@pytest.fixture(scope="module")
def peeking_report(tmp_path_factory):
    """A run that fails both proofs: its EMA warmed up over half what it needs (warm-up multiplier 0.5) and
    its strategy reads, at 10:00, the bar that closes five hours later from the store's files."""
    folder = tmp_path_factory.mktemp("report-peeking")
    calendar = get_calendar("XNYS")
    first = calendar.previous_sessions(PEEKING_DAY, 8)[0]
    write_sample_store(BarStore(folder / "data", calendar), ["AAA", "BBB"], first, PEEKING_DAY, calendar, seed=11)
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = {
        "name": "peeking",
        "start": PEEKING_DAY.isoformat(),
        "end": PEEKING_DAY.isoformat(),
        "store": str(folder / "data"),
        "log": log_url,
        "symbols": ["AAA"],
        "streams": ["1m"],
        "derived": ["5m"],
        "historical": {"enabled": False, "trailing_days": 0},
        "indicators": [{"type": "ema", "period": 20, "interval": "5m"}],
        "warmup_multiplier": 0.5,
        "strategy": {
            "class": "tests.api.backdoor:BackDoorPeeker",
            "params": {
                "store": str(folder / "data"),
                "symbol": "AAA",
                "at": "10:00",
                "minutes_ahead": 300,
                "add": ["BBB", "BBB"],
            },
        },
    }
    run = json.loads(daytape("run", str(write_session(folder / "session.yaml", session)), "--json", "--quiet").stdout)
    page, said = made_report(folder, log_url, run["run_id"], flags=PEEKING_LOOKAHEAD)
    return page, said, log_url, run["run_id"]
