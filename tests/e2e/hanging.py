"""A strategy for the kill-and-resume test: it hangs mid-session when the test asks it to.

With DAYTAPE_TEST_HANG_ON=YYYY-MM-DD and DAYTAPE_TEST_HANG_MARKER=PATH in the environment it writes
the marker file at 12:00 of that session and then sleeps until it is killed; otherwise it is an
UpgradeStrategy. The hang changes no event, so a clean run and a resumed run write the same log.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from daytape.examples import UpgradeStrategy
from daytape.plugins import PluginContext, parse_clock_time


class HangingStrategy(UpgradeStrategy):
    def __init__(self, symbols: list[str], at: str, hang_at: str = "12:00") -> None:
        super().__init__(symbols=symbols, at=at)
        self.hang_at = parse_clock_time(hang_at, "hang_at")

    def on_step(self, ctx: PluginContext) -> None:
        super().on_step(ctx)
        hang_on = os.environ.get("DAYTAPE_TEST_HANG_ON")
        marker = os.environ.get("DAYTAPE_TEST_HANG_MARKER")
        if hang_on and marker and ctx.view.session_date.isoformat() == hang_on and ctx.local_time >= self.hang_at:
            Path(marker).write_text(ctx.now.isoformat())
            while True:
                time.sleep(1)
