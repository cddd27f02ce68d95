"""A Parquet store imported from the real LEAN data once per test session, and a session file on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from marketdata.importers import import_lean
from marketdata.store import BarStore
from tests.conftest import REPO_ROOT

OCTOBER_SYMBOLS = ["SPY", "AIG", "BAC", "IBM"]


@pytest.fixture(scope="session")
def lean_store_root(tmp_path_factory: pytest.TempPathFactory, lean_root: Path) -> Path:
    root = tmp_path_factory.mktemp("lean-store")
    import_lean(lean_root, BarStore(root), symbols=OCTOBER_SYMBOLS)
    return root


def october_session(store: Path | str, log_url: str, **overrides: object) -> dict:
    """Config symbols SPY, AIG, BAC over 2013-10-08..10; the scanner and the strategy both want IBM."""
    session = {
        "name": "lean-oct-2013",
        "exchange": "XNYS",
        "start": "2013-10-08",
        "end": "2013-10-10",
        "store": str(store),
        "log": log_url,
        "symbols": ["SPY", "AIG", "BAC"],
        "streams": ["1m"],
        "derived": ["5m", "15m"],
        "historical": {"enabled": True, "trailing_days": 2},
        "indicators": [
            {"type": "sma", "period": 20, "interval": "5m"},
            {"type": "rsi", "period": 14, "interval": "1m"},
        ],
        "warmup_multiplier": 2.0,
        "scanner": {
            "class": "daytape.examples:ListScanner",
            "params": {"symbols": ["IBM"], "at": "10:00", "indicator": {"type": "sma", "period": 20, "interval": "5m"}},
        },
        "strategy": {"class": "daytape.examples:UpgradeStrategy", "params": {"symbols": ["IBM"], "at": "11:00"}},
    }
    session.update(overrides)
    return session


def write_session(path: Path, session: dict) -> Path:
    path.write_text(yaml.safe_dump(session, sort_keys=False))
    return path


def daytape(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as a user or a CI script runs it."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    full_env.pop("DAYTAPE_LOG_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "daytape.cli", *args], capture_output=True, text=True, env=full_env, cwd=cwd or REPO_ROOT
    )
