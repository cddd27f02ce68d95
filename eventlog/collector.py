"""Pausing Python's cyclic garbage collector around bulk reads of the log.

A replay builds a day's state out of tens of thousands of small containers that stay alive, so the
collector's sweeps keep walking a growing heap that holds no cycles to free. The walk chases
pointers across the heap, so its cost is cache misses rather than instructions (valgrind's counts
hardly see it): in CPU time it is 15-20% of a replay. Reference counting frees everything as usual
while the collector is paused.

The collector's switch is one per process, so pauses are counted: with several threads replaying at
once, the collector comes back when the last of them finishes, and only if it was on when the first
began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0
_enable_after = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; afterwards it is as it was before the first of
    the pauses that overlap (so nested pauses, and callers that disabled it themselves, keep theirs)."""
    global _active, _enable_after
    with _lock:
        if _active == 0:
            _enable_after = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _enable_after:
                gc.enable()
