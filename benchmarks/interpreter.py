"""The interpreter the figures were measured on: which build it is, and how fast it runs two fixed
pieces of work.

Python-bound figures, the event log's above all, depend on how CPython was compiled as much as on
the CPU. On one machine, in seven interleaved pairs of runs, the same code replayed 236k-264k
events/s on pyenv's CPython 3.11.7 (built from source without `--enable-optimizations`) and
269k-308k events/s on Debian's python3.11 package. The reference figures let runs on different
interpreters and machines be compared: a slower `python_reference_us` means slower Python-bound
figures, whatever the code.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import sysconfig
import time
from collections.abc import Callable
from typing import Any

#: Configure options that change CPython's speed: profile-guided and link-time optimization, and
#: a shared libpython. A distribution may optimize its build without passing them (Debian's
#: python3.11 lists only --enable-shared), so their absence alone proves nothing.
_SPEED_OPTIONS = ("--enable-optimizations", "--with-lto", "--enable-shared")

_PAYLOAD = (
    '{"digest":"9f2c","interval":"1m","kind":"HistoricalLoaded","request_id":"20100104-0001",'
    '"rows":1950,"schema_version":1,"sessions":5,"sim_time":null,"start":"2009-12-28",'
    '"end":"2010-01-01","symbol":"S0000"}'
)


class _Bar:
    __slots__ = ("interval", "rows", "valid")

    def __init__(self, interval: str, rows: int) -> None:
        self.interval = interval
        self.rows = rows
        self.valid = rows > 0


def _best_cpu_us(work: Callable[[int], None], loops: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        work(loops)
        best = min(best, time.process_time() - start)
    return round(best / loops * 1e6, 3)


def _json_loads(loops: int) -> None:
    loads, payload = json.loads, _PAYLOAD
    for _ in range(loops):
        loads(payload)


def _python_objects(loops: int) -> None:
    bars: dict[str, _Bar] = {}
    intervals = ("1m", "5m", "15m", "1h")
    for i in range(loops):
        interval = intervals[i & 3]
        bars[f"S{i & 255}_{interval}"] = _Bar(interval, i)


def reference_us(quick: bool = False) -> dict[str, float]:
    """CPU microseconds per `json.loads` of an event payload, and per small Python object made and
    stored in a dictionary under a formatted key."""
    loops = 20_000 if quick else 200_000
    return {"json_loads": _best_cpu_us(_json_loads, loops), "python_objects": _best_cpu_us(_python_objects, loops)}


def build() -> str:
    """The interpreter's version, compiler and speed-relevant configure options, e.g.
    `CPython 3.11.7, GCC 12.2.0, configure: --enable-shared`."""
    config = sysconfig.get_config_var("CONFIG_ARGS") or ""
    options = [option for option in _SPEED_OPTIONS if option in config]
    return (
        f"{platform.python_implementation()} {platform.python_version()}, {platform.python_compiler()}, "
        f"configure: {' '.join(options) or 'none of ' + ' '.join(_SPEED_OPTIONS)}"
    )


def describe(quick: bool = False) -> dict[str, Any]:
    base = getattr(sys, "_base_executable", sys.executable)
    return {
        "python_executable": os.path.realpath(base),
        "python_build": build(),
        "python_reference_us": reference_us(quick),
    }
