"""`daytape demo --live`: the demo's sample store played by the local Alpaca-protocol feed on a thread of this
process, a live session rehearsed on it through alpaca-py at high speed (the demo's scanner and strategy), and
the run verified from its tape. Nothing leaves the machine: the feed is local, the credentials are the demo's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from daytape.configfile import dump_session_yaml
from daytape.demo import DemoLayout, demo_config, demo_sessions, prepare_demo
from daytape.rehearsal import run_rehearsal
from daytape.runner import RunResult
from daytape.verify import Verification, verify_run
from eventlog.store import EventStore
from marketdata.calendar import get_calendar
from marketdata.feedserver import FeedOptions, serve_in_thread
from marketdata.live.credentials import AlpacaCredentials
from specs.config import SessionConfig

#: The demo's sessions up to the live day, so that the store holds its history
DEMO_DAYS = 3
DEFAULT_SPEED = 2400.0
#: seconds of the session clock a step waits for a late bar: at the demo's pace, a few hundredths of a second
GRACE_SECONDS = 60.0
#: handed to the local feed, which takes any non-empty pair; never Alpaca's
DEMO_CREDENTIALS = AlpacaCredentials("DAYTAPE_DEMO_KEY", "DAYTAPE_DEMO_SECRET", "demo-key", "demo-secret")


@dataclass(frozen=True)
class LiveDemo:
    layout: DemoLayout
    config: SessionConfig
    feed_url: str
    result: RunResult
    verification: Verification

    @property
    def session_file(self) -> Path:
        return live_session_file(self.layout)


def live_day() -> dt.date:
    """The last of the demo's sessions: the Thanksgiving week's early close, so the live day ends at the
    calendar's early close."""
    return demo_sessions(get_calendar("XNYS"), DEMO_DAYS)[-1]


def live_session_file(layout: DemoLayout) -> Path:
    return layout.root / "live-session.yaml"


def live_demo_config(layout: DemoLayout) -> SessionConfig:
    """The demo's session as a live one on the live day (its feed section: the local feed's pace)."""
    base = demo_config(layout, [live_day()]).to_yaml_dict()
    return SessionConfig.model_validate(
        {**base, "name": "demo-live", "mode": "live", "feed": {"grace_seconds": GRACE_SECONDS}}
    )


def run_live_demo(log: EventStore, root: Path, speed: float = DEFAULT_SPEED) -> LiveDemo:
    """Sample data and a live session file under `root`, the day rehearsed on the local feed, then verified."""
    layout, _, _ = prepare_demo(root, DEMO_DAYS)
    config = live_demo_config(layout)
    live_session_file(layout).write_text(dump_session_yaml(config), encoding="utf-8")
    day = live_day()
    with serve_in_thread(FeedOptions(store=layout.store, day=day, speed=speed)) as feed:
        url = feed.ws_url()
        result = run_rehearsal(log, config, url, day, speed, credentials=DEMO_CREDENTIALS)
    return LiveDemo(layout, config, url, result, verify_run(log, result.run_id))
