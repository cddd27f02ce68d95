"""Reports of a run on the real LEAN data and of the demo, written once per test module by the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.conftest import daytape, lean_store_root, october_session, write_session

__all__ = ["lean_store_root", "log_dir"]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """Where a test leaves what a person may want to look at (screenshots): $DAYTAPE_TEST_LOG_DIR, else tmp."""
    chosen = os.environ.get("DAYTAPE_TEST_LOG_DIR")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def made_report(folder: Path, log_url: str, run_id: str, *dates: str) -> tuple[Path, str]:
    out = folder / "report.html"
    flags = [arg for day in dates for arg in ("--date", day)]
    result = daytape("report", run_id, *flags, "--out", str(out), "--log", log_url)
    assert result.returncode == 0, result.stderr
    return out, result.stderr


@pytest.fixture(scope="module")
def october_report(tmp_path_factory, lean_store_root):
    folder = tmp_path_factory.mktemp("report-october")
    log_url = f"sqlite:///{folder / 'log.db'}"
    session = write_session(folder / "session.yaml", october_session(lean_store_root, log_url))
    run = json.loads(daytape("run", str(session), "--json", "--quiet").stdout)
    page, said = made_report(folder, log_url, run["run_id"])
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
