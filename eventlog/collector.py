"""Pausing Python's cyclic garbage collector around bulk reads of the log.

A replay builds a day's state out of tens of thousands of small containers that all stay alive, so
the collector's generation sweeps keep re-scanning a growing heap that holds no cycles to free:
about a third of a replay's time. Reference counting still frees everything as usual while paused.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; re-enable it after if it was enabled before
    (so nested pauses, and callers that disabled it themselves, are left as they were)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
