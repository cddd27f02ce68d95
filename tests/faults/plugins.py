"""A strategy for the interruption tests: it pauses mid-request when the test asks it to.

It is an UpgradeStrategy (at `at`, it asks for its symbols in full). With DAYTAPE_TEST_PAUSE_ON=YYYY-MM-DD
and DAYTAPE_TEST_PAUSE_MARKER=PATH in the environment, at `at` on that day it first writes the marker
and sleeps DAYTAPE_TEST_PAUSE_S seconds (1 by default; the test signals the run meanwhile), then makes
its request: a request begun after the signal, which must still be logged whole. With
DAYTAPE_TEST_PAUSE_UNTIL=PATH it first waits for that file (the test writes it once its signals are sent),
so a loaded machine cannot let the pause end before the signal arrives. The pause changes no event, so a
clean run and an interrupted-then-resumed run write the same log.
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
            until = os.environ.get("DAYTAPE_TEST_PAUSE_UNTIL")
            deadline = time.monotonic() + 120
            while until and not Path(until).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(float(os.environ.get("DAYTAPE_TEST_PAUSE_S", "1")))
        super().on_step(ctx)
