"""Run backends: how a run's days are run, one module each (`--executor NAME` picks the module NAME).

A backend module defines

    RANK: int        where it is listed in help and errors (lowest first)
    check(workers: int, scheduler: str | None) -> None
                     raise UserError for a flag it would ignore, or one that cannot work (before a run is
                     recorded: a run that says `--workers 2` but runs one day at a time misstates what ran)
    run(log, run_id, config, days, options) -> list[DayResult]
                     run `days` of the run `run_id`, in the order given back; each day writes its own
                     stream (a backend that runs days elsewhere calls `worker.run_days_in_worker` there)

and nothing else is needed: a new backend is one new module in this package. Modules whose names start
with `_` and `worker` (what the parallel backends share) are not backends. Heavy imports (dask,
multiprocessing) stay inside `run`, so listing the backends costs no start-up time.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, cast

from daytape.errors import UserError

if TYPE_CHECKING:
    from daytape.day import DayResult
    from daytape.runner import RunOptions
    from eventlog.store import EventStore
    from specs.config import SessionConfig

#: Modules of this package that are not backends.
NOT_BACKENDS = frozenset({"worker"})


class Backend(Protocol):
    """What a backend module provides (see the package docstring)."""

    RANK: int

    def check(self, workers: int, scheduler: str | None) -> None: ...

    def run(
        self, log: EventStore, run_id: str, config: SessionConfig, days: list[dt.date], options: RunOptions
    ) -> list[DayResult]: ...


@cache
def _modules() -> dict[str, ModuleType]:
    found = {
        info.name: importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name not in NOT_BACKENDS
    }
    return dict(sorted(found.items(), key=lambda item: (item[1].RANK, item[0])))


def backend_names() -> tuple[str, ...]:
    """Every backend's name, in listing order (`serial`, `process`, `dask`, ...)."""
    return tuple(_modules())


def get_backend(name: str) -> Backend:
    """The backend called `name`; UserError naming the ones there are when there is none."""
    modules = _modules()
    if name not in modules:
        names = backend_names()
        raise UserError(f"--executor: unknown executor {name!r}; use {', '.join(names[:-1])} or {names[-1]}")
    return cast(Backend, modules[name])


def refuse_scheduler(name: str, scheduler: str | None) -> None:
    """For a backend that uses no scheduler: a `--scheduler` it would ignore is an error."""
    if scheduler is not None:
        raise UserError(
            f"--scheduler: only the dask executor uses a scheduler; add --executor dask ({name} would ignore it)"
        )


def check_backend_options(name: str, workers: int, scheduler: str | None) -> None:
    """Refuse a backend that does not exist, a worker count below one, and the flags `name` would ignore."""
    backend = get_backend(name)
    if workers < 1:
        raise UserError(f"--workers: must be at least 1, got {workers}")
    backend.check(workers, scheduler)
