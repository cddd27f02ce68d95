"""A fault-injection point for the fault tests (tests/faults/): the process SIGKILLs itself at one append.

`DAYTAPE_FAULT_KILL=before:N` kills the process at its Nth append after the batch's rows are written
and before they are committed (a crash inside a request); `after:N` kills it right after the Nth
commit, before the events are applied (a crash between append and apply). Appends are counted per
process. The variable is read once, at import; unset, an append pays one `is None` test.
"""

from __future__ import annotations

import os
import signal

PHASES = ("before", "after")


def _parse(text: str | None) -> tuple[str, int] | None:
    if not text:
        return None
    phase, _, number = text.partition(":")
    if phase not in PHASES or not number.isdigit() or int(number) < 1:
        raise ValueError(f"DAYTAPE_FAULT_KILL must be before:N or after:N with N >= 1, not {text!r}")
    return phase, int(number)


KILL_AT = _parse(os.environ.get("DAYTAPE_FAULT_KILL"))
_appends = 0


def append_point(phase: str) -> None:
    """Count the appends (at `before`) and SIGKILL this process at the chosen one."""
    global _appends
    if phase == "before":
        _appends += 1
    if (phase, _appends) == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
