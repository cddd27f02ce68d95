"""The demo: sample data, a session file and a log under one folder, then a run and an account of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from daytape.configfile import dump_session_yaml
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.checks import DayCheck, check_day
from marketdata.generator import write_sample_store
from marketdata.store import BarStore
from specs.config import SessionConfig

DEMO_SEED = 20231121
#: The Thanksgiving week of 2023: a holiday (11-23) and an early close (11-24) within the first three sessions.
DEMO_FIRST_SESSION = dt.date(2023, 11, 21)
CONFIG_SYMBOLS = ("SPY", "AAPL", "MSFT")
SCANNED_SYMBOLS = ("TSLA", "NVDA")
UPGRADED_SYMBOL = "TSLA"
#: Listed by the scanner but absent from the store: shows a rejection with its reason.
UNKNOWN_SYMBOL = "NOSUCH"
TRAILING_DAYS = 3


@dataclass(frozen=True)
class DemoLayout:
    root: Path

    @property
    def store(self) -> Path:
        return self.root / "data"

    @property
    def session_file(self) -> Path:
        return self.root / "session.yaml"

    @property
    def log_path(self) -> Path:
        return self.root / "daytape.db"

    @property
    def log_url(self) -> str:
        return f"sqlite:///{self.log_path}"


def demo_sessions(calendar: TradingCalendar, days: int) -> list[dt.date]:
    sessions = [DEMO_FIRST_SESSION]
    while len(sessions) < days:
        sessions.append(calendar.next_session(sessions[-1]))
    return sessions


def demo_config(layout: DemoLayout, sessions: list[dt.date]) -> SessionConfig:
    return SessionConfig.model_validate(
        {
            "name": "demo",
            "exchange": "XNYS",
            "start": sessions[0],
            "end": sessions[-1],
            "store": str(layout.store),
            "log": layout.log_url,
            "symbols": list(CONFIG_SYMBOLS),
            "streams": ["1m"],
            "derived": ["5m", "15m"],
            "historical": {"enabled": True, "trailing_days": TRAILING_DAYS},
            "indicators": [
                {"type": "sma", "period": 20, "interval": "5m"},
                {"type": "rsi", "period": 14, "interval": "1m"},
                {"type": "vwap", "interval": "1m"},
            ],
            "warmup_multiplier": 2.0,
            "scanner": {
                "class": "daytape.examples:ListScanner",
                "params": {
                    "symbols": [*SCANNED_SYMBOLS, UNKNOWN_SYMBOL],
                    "at": "10:00",
                    "indicator": {"type": "sma", "period": 20, "interval": "5m"},
                },
            },
            "strategy": {
                "class": "daytape.examples:UpgradeStrategy",
                "params": {"symbols": [UPGRADED_SYMBOL], "at": "11:30"},
            },
        }
    )


def prepare_demo(root: Path, days: int) -> tuple[DemoLayout, SessionConfig, list[DayCheck]]:
    """Write the sample store (with the history the first session needs) and the session file."""
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    layout = DemoLayout(root)
    layout.root.mkdir(parents=True, exist_ok=True)
    calendar = get_calendar("XNYS")
    sessions = demo_sessions(calendar, days)
    first_data_day = calendar.previous_sessions(sessions[0], TRAILING_DAYS)[0]
    store = BarStore(layout.store, calendar)
    write_sample_store(
        store, [*CONFIG_SYMBOLS, *SCANNED_SYMBOLS], first_data_day, sessions[-1], calendar, seed=DEMO_SEED
    )
    config = demo_config(layout, sessions)
    layout.session_file.write_text(dump_session_yaml(config), encoding="utf-8")
    checks = [check_day(store, symbol, day) for symbol in store.symbols("1m") for day in sessions]
    return layout, config, checks
