"""Stopping `daytape run` and `verify` on SIGINT or SIGTERM where the log is whole.

The first signal only asks to stop: the request in flight finishes (its events are one append, so a
batch is in the log whole or not at all) and the runner stops at its next check, the next step of
the clock or the start of the next day, by raising `Interrupted`. A second signal raises it at once;
an append it cuts is rolled back whole. Days running in worker processes stop at their own next
check: the parent's handler sets a flag in memory the workers share (a lock-free byte, safe to write
from a signal handler), and the workers' own handlers (the
terminal sends Ctrl-C to every process of the group) only note the signal, so no worker prints a
traceback; their `Interrupted` travels back to the parent as the result of their task. Days running on
Dask workers (on this machine or others) stop alike: the parent sets a cluster-wide `distributed.Event`
named for the run, which a worker's checks look at twice a second at most.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)

#: The stop signals this process has received while `stop_on_signals` was active.
_received: list[int] = []
#: The flag shared with worker processes (a RawValue byte): set by the parent, read by the workers' checks.
_workers_flag: Any = None
_in_worker = False


class Interrupted(BaseException):
    """A stop signal ended the work; the CLI exits 130. A BaseException, so that no `except Exception`
    (a day's abort, a plugin's error handling) can take it for a failure and write more events."""

    exit_code = 130


def requested() -> bool:
    """Whether a stop signal has arrived (in a worker: here or in the parent)."""
    if _received:
        return True
    return _in_worker and _workers_flag is not None and bool(_workers_flag.value)


def check() -> None:
    """Raise `Interrupted` if a stop signal has arrived: called where stopping leaves the log whole."""
    if _received or (_in_worker and _workers_flag is not None and _workers_flag.value):
        raise Interrupted("interrupted")


def forced() -> bool:
    """More than one stop signal: the user does not want to wait for the next check."""
    return len(_received) > 1


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)
    if _workers_flag is not None:
        _workers_flag.value = 1
    if len(_received) > 1:
        raise Interrupted("interrupted")


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While active, SIGINT and SIGTERM ask the work to stop (see the module docstring). A SIGINT that
    the process inherited as ignored (a background job, nohup) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    _received.clear()
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received.clear()


@contextmanager
def sharing_with_workers(flag: Any) -> Iterator[None]:
    """While the parent waits for worker processes, its stop signals also set `flag` (a RawValue) for them."""
    global _workers_flag
    _workers_flag = flag
    if _received:
        flag.value = 1
    try:
        yield
    finally:
        _workers_flag = None


def _on_worker_signal(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)


def init_worker(flag: Any) -> None:
    """Initializer of a worker process: stop signals are noted (never raised) and the parent's flag read."""
    global _workers_flag, _in_worker
    _received.clear()
    _workers_flag = flag
    _in_worker = True
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_worker_signal)


def dask_stop_event_name(run_id: str) -> str:
    """The cluster-wide event the parent sets to stop the run's days on Dask workers."""
    return f"daytape-stop-{run_id}"


class _DaskStopFlag:
    """A worker's view of the parent's stop event, read as the process pool's shared byte is (`.value`);
    asked of the scheduler at most every `POLL_S` seconds, since `check` runs at every clock step."""

    POLL_S = 0.5

    def __init__(self, name: str) -> None:
        from distributed import Event

        self._event = Event(name)
        self._set = False
        self._next = 0.0

    @property
    def value(self) -> int:
        now = time.monotonic()
        if not self._set and now >= self._next:
            self._next = now + self.POLL_S
            self._set = bool(self._event.is_set())
        return int(self._set)


@contextmanager
def watching_dask_stop(run_id: str) -> Iterator[None]:
    """Inside a task on a Dask worker, `check` also stops when the parent sets the run's stop event;
    elsewhere (a pool process, the parent) this changes nothing."""
    global _workers_flag, _in_worker
    if not _on_dask_worker():
        # outside the except clause: an Interrupted raised here must not carry distributed's error (and
        # its unpicklable context) back to a pool's parent
        yield
        return
    previous = (_workers_flag, _in_worker)
    _workers_flag, _in_worker = _DaskStopFlag(dask_stop_event_name(run_id)), True
    try:
        yield
    finally:
        _workers_flag, _in_worker = previous


def _on_dask_worker() -> bool:
    """Whether this thread runs on a Dask worker. A process that has not imported distributed is none,
    and is not made to import it (a pool worker would spend 0.4 s of CPU on the import, for nothing)."""
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def in_dask_task() -> bool:
    """Whether this thread runs a task of a Dask worker (whose `Interrupted` is a stop, not an error)."""
    return isinstance(_workers_flag, _DaskStopFlag)
