"""A strategy for the interruption tests: it pauses mid-request when the test asks it to.

It is an UpgradeStrategy (at `at`, it asks for its symbols in full). With DAYTAPE_TEST_PAUSE_ON=YYYY-MM-DD
and DAYTAPE_TEST_PAUSE_MARKER=PATH in the environment, at `at` on that day it first writes the marker
and sleeps DAYTAPE_TEST_PAUSE_S seconds (1 by default; the test signals the run meanwhile), then makes
its request: a request begun after the signal, which must still be logged whole. The pause changes no
event, so a clean run and an interrupted-then-resumed run write the same log.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from daytape.examples import UpgradeStrategy
from daytape.plugins import PluginContext


class PausingStrategy(UpgradeStrategy):
    def on_step(self, ctx: PluginContext) -> None:
        pause_on = os.environ.get("DAYTAPE_TEST_PAUSE_ON")
        marker = os.environ.get("DAYTAPE_TEST_PAUSE_MARKER")
        if not self._fired and pause_on == ctx.view.session_date.isoformat() and marker and ctx.local_time >= self.at:
            Path(marker).write_text(ctx.now.isoformat())
            time.sleep(float(os.environ.get("DAYTAPE_TEST_PAUSE_S", "1")))
        super().on_step(ctx)
