"""`daytape verify RUN --lookahead`: does anything the plugins did up to a moment t depend on a later bar?

For N moments t per session day (drawn from the day's clock steps by a seeded generator; the seed and the
moments are in the report), the day runs twice up to t with the run's recorded config and plugins: once
on the run's bar store, once on a temporary copy of it in which every bar that closes after t is removed
(the session day's file filtered, later days left out; the user's store is never written); plugin params
that name the store's folder name the copy's in that run. In both runs
every plugin call is recorded through the plugin-visible surface: each read of the view (`symbols`,
`intervals`, `indicators`, `bars`, `indicator`, `indicator_ready`, `state`, ...) with a digest of what it
returned, and each `add_symbol`, `add_bar` and `add_indicator` with its outcome; at t itself everything the
view offers is recorded as well. The two records must be identical; the first call that differs is
named. A plugin that reads a future bar through a back door (the store's files, found through its params or the
session's internals) changes what it asks for or reads, and a view that leaks later metadata changes what
it returns: both show up here. A plugin that reads bars from a path the run does not know of (a copy of
the store elsewhere) reads the same in both runs and cannot be caught this way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from daytape.day import build_plugins, plugin_name, run_day
from daytape.errors import UserError
from daytape.plugins import Plugin, PluginContext
from marketdata.bars import SessionBars
from marketdata.cutoff import write_store_until
from marketdata.store import BarStore, is_url
from marketdata.timestamps import utc_datetime
from specs.config import SessionConfig
from specs.intervals import Interval
from statemachine.sink import InMemorySink

DEFAULT_SAMPLES = 3
DEFAULT_SEED = 0
HOOKS = ("on_session_start", "on_step", "on_session_end")
#: The `plugin` of the calls that record everything the view offers at the moment checked.
SNAPSHOT = "view at t"


@dataclass(frozen=True)
class Call:
    """One plugin call: who, in which hook, at what clock time, what it called and a digest of what it got."""

    plugin: str
    hook: str
    now: dt.datetime
    call: str
    result: str

    def where(self) -> str:
        if self.plugin == SNAPSHOT:
            return f"{self.call} as the view offered it at t ({self.hook} at {self.now.isoformat()})"
        return f"{self.plugin}.{self.hook} at {self.now.isoformat()}: {self.call}"


@dataclass(frozen=True)
class MomentCheck:
    date: str
    moment: dt.datetime
    calls: int
    first_difference: str | None  # None when both runs made the same calls and got the same values

    @property
    def ok(self) -> bool:
        return self.first_difference is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "t": self.moment.isoformat(),
            "calls_compared": self.calls,
            "identical": self.ok,
            "first_difference": self.first_difference,
        }


@dataclass
class LookaheadReport:
    run_id: str
    samples: int
    seed: int
    checks: list[MomentCheck] = field(default_factory=list)
    plugins: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def first(self) -> MomentCheck | None:
        return next((check for check in self.checks if not check.ok), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "samples": self.samples,
            "seed": self.seed,
            "plugins": self.plugins,
            "moments": [check.as_dict() for check in self.checks],
        }

    def lines(self) -> list[str]:
        if not self.plugins:
            return [f"run {self.run_id}: no scanner or strategy: nothing could look ahead"]
        out = [
            f"{check.date} t={check.moment.isoformat()}: "
            + (f"identical ({check.calls} calls)" if check.ok else f"DIFFERS at {check.first_difference}")
            for check in self.checks
        ]
        verdict = (
            f"no look-ahead: run {self.run_id}: {len(self.checks)} moments (seed {self.seed}), every plugin call "
            "and every value the view offered identical with the later bars removed"
            if self.ok
            else f"look-ahead: run {self.run_id}: first at {self.first.first_difference if self.first else ''}"
        )
        return [*out, verdict]


# --- what a plugin sees, recorded -----------------------------------------------------------------------


def digest(value: Any) -> str:
    """What a call returned, as its JSON text when short, else a digest (of bars: of their columns' bytes)."""
    sha = hashlib.sha256()
    if not isinstance(value, SessionBars):
        text = json.dumps(value, sort_keys=True, default=repr)
        if len(text) <= 40:
            return text
    if isinstance(value, SessionBars):
        for name in ("ts", "open", "high", "low", "close", "volume", "bar_close"):
            sha.update(np.ascontiguousarray(getattr(value, name)).tobytes())
    else:
        sha.update(json.dumps(value, sort_keys=True, default=repr).encode())
    return sha.hexdigest()[:16]


def outcome_text(outcome: Any) -> str:
    plan = getattr(outcome, "plan", None)
    steps = getattr(plan, "step_labels", None) if plan is not None else None
    fields = ("status", "request_id", "reason", "failed_step")
    return json.dumps([repr(getattr(outcome, name, None)) for name in fields] + [repr(steps)])


class StopHere(Exception):
    """Raised in the first hook after the moment checked: the rest of the day is not needed."""


class Recorder:
    """The calls of one day's plugins up to `until` (and, at the moments in `snapshots`, the whole view)."""

    def __init__(self, until: dt.datetime, snapshots: set[dt.datetime]) -> None:
        self.until = until
        self.snapshots = snapshots
        self.calls: list[Call] = []
        self._taken: set[dt.datetime] = set()

    def record(self, plugin: str, hook: str, now: dt.datetime, call: str, result: str) -> None:
        self.calls.append(Call(plugin, hook, now, call, result))


class RecordingView:
    """The session view as a plugin gets it, with every read recorded."""

    def __init__(self, view: Any, recorder: Recorder, plugin: str, hook: str) -> None:
        self._view, self._recorder, self._plugin, self._hook = view, recorder, plugin, hook

    def _read(self, call: str, read: Callable[[], Any]) -> Any:
        try:
            value = read()
        except KeyError as exc:
            self._recorder.record(self._plugin, self._hook, self._view.now, call, f"KeyError({exc})")
            raise
        self._recorder.record(self._plugin, self._hook, self._view.now, call, digest(value))
        return value

    @property
    def now(self) -> dt.datetime:
        return self._view.now  # type: ignore[no-any-return]

    @property
    def session_date(self) -> dt.date | None:
        return self._read("view.session_date", lambda: self._view.session_date)  # type: ignore[no-any-return]

    @property
    def phase(self) -> str:
        return self._read("view.phase", lambda: self._view.phase)  # type: ignore[no-any-return]

    def symbols(self) -> dict[str, str]:
        return self._read("view.symbols()", self._view.symbols)  # type: ignore[no-any-return]

    def intervals(self, symbol: str) -> list[str]:
        return self._read(f"view.intervals({symbol!r})", lambda: self._view.intervals(symbol))  # type: ignore[no-any-return]

    def indicators(self, symbol: str) -> list[str]:
        return self._read(f"view.indicators({symbol!r})", lambda: self._view.indicators(symbol))  # type: ignore[no-any-return]

    def bars(self, symbol: str, interval: str | Interval) -> SessionBars:
        text = f"view.bars({symbol!r}, {str(interval)!r})"
        return self._read(text, lambda: self._view.bars(symbol, interval))  # type: ignore[no-any-return]

    def history(self, symbol: str, interval: str | Interval) -> SessionBars:
        text = f"view.history({symbol!r}, {str(interval)!r})"
        return self._read(text, lambda: self._view.history(symbol, interval))  # type: ignore[no-any-return]

    def indicator(self, symbol: str, key: str) -> Any:
        return self._read(f"view.indicator({symbol!r}, {key!r})", lambda: self._view.indicator(symbol, key))

    def indicator_ready(self, symbol: str, key: str) -> bool:
        text = f"view.indicator_ready({symbol!r}, {key!r})"
        return self._read(text, lambda: self._view.indicator_ready(symbol, key))  # type: ignore[no-any-return]

    @property
    def state(self) -> dict[str, Any]:
        state = self._view.state
        for path, value in leaves("view.state", state):
            self._recorder.record(self._plugin, self._hook, self._view.now, path, digest(value))
        return state  # type: ignore[no-any-return]


class RecordingContext:
    """A PluginContext whose view records reads and whose entry points record what they were asked and gave."""

    def __init__(self, ctx: PluginContext, recorder: Recorder, plugin: str, hook: str) -> None:
        self._ctx, self._recorder, self._plugin, self._hook = ctx, recorder, plugin, hook
        self.view = RecordingView(ctx.view, recorder, plugin, hook)

    def __getattr__(self, name: str) -> Any:
        """Anything else a plugin reaches for (even the context's internals) is the real context's."""
        return getattr(self._ctx, name)

    @property
    def now(self) -> dt.datetime:
        return self._ctx.now

    @property
    def local_time(self) -> dt.time:
        return self._ctx.local_time

    def _ask(self, call: str, ask: Callable[[], Any]) -> Any:
        try:
            outcome = ask()
        except Exception as exc:
            self._recorder.record(self._plugin, self._hook, self._ctx.now, call, f"{type(exc).__name__}: {exc}")
            raise
        self._recorder.record(self._plugin, self._hook, self._ctx.now, call, outcome_text(outcome))
        return outcome

    def add_symbol(self, symbol: str) -> Any:
        return self._ask(f"add_symbol({symbol!r})", lambda: self._ctx.add_symbol(symbol))

    def add_bar(self, symbol: str, interval: str | Interval, days: int = 0, scope: str = "both") -> Any:
        text = f"add_bar({symbol!r}, {str(interval)!r}, days={days}, scope={str(scope)!r})"
        return self._ask(text, lambda: self._ctx.add_bar(symbol, interval, days, scope))

    def add_indicator(self, symbol: str, spec: Any) -> Any:
        return self._ask(f"add_indicator({symbol!r}, {spec!r})", lambda: self._ctx.add_indicator(symbol, spec))


def snapshot(view: Any) -> list[tuple[str, str]]:
    """Everything the view offers at this moment, read by read: (what, digest of what it returned)."""
    reads: list[tuple[str, Any]] = [("view.phase", view.phase), ("view.symbols()", view.symbols())]
    for symbol in view.symbols():
        reads += [(f"view.intervals({symbol!r})", view.intervals(symbol))]
        reads += [(f"view.indicators({symbol!r})", view.indicators(symbol))]
        reads += [(f"view.bars({symbol!r}, {i!r})", view.bars(symbol, i)) for i in view.intervals(symbol)]
        for key in view.indicators(symbol):
            reads.append((f"view.indicator({symbol!r}, {key!r})", view.indicator(symbol, key)))
            reads.append((f"view.indicator_ready({symbol!r}, {key!r})", view.indicator_ready(symbol, key)))
    reads += leaves("view.state", view.state)
    return [(what, digest(value)) for what, value in reads]


def leaves(path: str, value: Any) -> list[tuple[str, Any]]:
    """A JSON document as (path, value) pairs of its leaves, so that a difference names its field."""
    if isinstance(value, dict) and value:
        return [pair for key in sorted(value) for pair in leaves(f"{path}[{key!r}]", value[key])]
    return [(path, value)]


def instrument(plugin: Plugin, recorder: Recorder) -> None:
    """Give the plugin's hooks a recording context (on the instance: its class and name stay as they are)."""
    name = plugin_name(plugin)
    for hook in HOOKS:
        original = getattr(plugin, hook)

        def wrapped(ctx: PluginContext, original: Any = original, hook: str = hook) -> None:
            now = ctx.now
            if now > recorder.until:
                raise StopHere()
            if now in recorder.snapshots and now not in recorder._taken:
                recorder._taken.add(now)
                for what, value in snapshot(ctx.view):
                    recorder.record(SNAPSHOT, hook, now, what, value)
            try:
                original(RecordingContext(ctx, recorder, name, hook))
            except Exception as exc:
                recorder.record(name, hook, now, "raised", f"{type(exc).__name__}: {exc}")
                raise

        setattr(plugin, hook, wrapped)


# --- the store with every bar after t removed ------------------------------------------------------------


@contextmanager
def store_until(root: Path, day: dt.date, moment: dt.datetime, store: BarStore) -> Iterator[Path]:
    """A temporary store that reads as `root` without the bars that close after `moment` on `day` and
    without every later day (marketdata's `write_store_until` fills it; `root` is only read)."""
    with tempfile.TemporaryDirectory(prefix="daytape-lookahead-") as folder:
        yield write_store_until(root, Path(folder) / "bars", day, moment, store.calendar)


# --- the proof ---------------------------------------------------------------------------------------------


def record_day(config: SessionConfig, day: dt.date, until: dt.datetime, snapshots: set[dt.datetime]) -> list[Call]:
    """Run the day up to `until` (its first hook after it stops the day) and return the plugins' calls."""
    recorder = Recorder(until, snapshots)
    plugins = build_plugins(config)
    for plugin in plugins:
        instrument(plugin, recorder)
    from daytape.day import run_store

    run_day(config, run_store(config), InMemorySink(), day, plugins=plugins)
    return recorder.calls


def moved_store(config: SessionConfig, copy: Path) -> SessionConfig:
    """The config reading `copy` instead of its store, and plugin params naming the store (or a path in it)
    naming the same place in the copy, so that a plugin given the store's path reads the copy too."""
    root = str(Path(config.store))

    def moved(value: Any) -> Any:
        if isinstance(value, str) and (value == root or value.startswith(root + "/")):
            return str(copy) + value[len(root) :]
        if isinstance(value, dict):
            return {key: moved(item) for key, item in value.items()}
        if isinstance(value, list):
            return [moved(item) for item in value]
        return value

    update: dict[str, Any] = {"store": str(copy)}
    for role in ("scanner", "strategy"):
        ref = getattr(config, role)
        if ref is not None:
            update[role] = ref.model_copy(update={"params": moved(ref.params)})
    return config.model_copy(update=update)


def first_difference(full: list[Call], cut: list[Call]) -> str | None:
    for a, b in zip(full, cut, strict=False):
        if a != b:
            if (a.plugin, a.hook, a.now, a.call) != (b.plugin, b.hook, b.now, b.call):
                return f"{a.where()} with the later bars; without them: {b.where()}"
            return f"{a.where()} (got {a.result} with the later bars, {b.result} without)"
    if len(full) != len(cut):
        longer, label = (full, "only with the later bars") if len(full) > len(cut) else (cut, "only without them")
        return f"{longer[min(len(full), len(cut))].where()} ({label})"
    return None


def step_moments(config: SessionConfig, day: dt.date) -> list[dt.datetime]:
    """The day's clock steps (UTC): the close of each base-interval bar, as the coordinator steps."""
    from marketdata.calendar import get_calendar

    calendar = get_calendar(config.exchange)
    step = config.base_interval.seconds * 1_000_000_000
    _, close_ns = calendar.open_close_ns(day)
    opens = calendar.minutes(day, config.base_interval.seconds).view("int64")
    return [utc_datetime(min(t + step, close_ns)) for t in opens.tolist()]


def sample_moments(config: SessionConfig, day: dt.date, samples: int, seed: int) -> list[dt.datetime]:
    """`samples` distinct clock steps of the day before its close, drawn by a generator seeded by the seed
    and the date (so each day gets its own and a re-check draws the same)."""
    steps = step_moments(config, day)[:-1]
    rng = random.Random(f"{seed}:{day.isoformat()}")
    return sorted(rng.sample(steps, min(samples, len(steps))))


def check_lookahead(
    config: SessionConfig,
    run_id: str,
    days: list[dt.date],
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
) -> LookaheadReport:
    """The proof over `days` of a run made from `config` (see the module docstring)."""
    report = LookaheadReport(run_id, samples, seed, plugins=[plugin_name(p) for p in build_plugins(config)])
    if not report.plugins:
        return report
    if is_url(config.store):
        raise UserError(
            f"verify --lookahead: the store {config.store} is an object store; the proof cuts a local copy of "
            "the store for each moment, so copy the bars to a folder and run it there"
        )
    root = Path(config.store)
    from marketdata.calendar import get_calendar

    bar_store = BarStore(root, get_calendar(config.exchange))
    for day in days:
        moments = sample_moments(config, day, samples, seed)
        if not moments:
            continue
        full = record_day(config, day, moments[-1], set(moments))
        for moment in moments:
            seen = [c for c in full if c.now <= moment and (c.plugin != SNAPSHOT or c.now == moment)]
            with store_until(root, day, moment, bar_store) as cut_root:
                cut_config = moved_store(config, cut_root)
                cut = record_day(cut_config, day, moment, {moment})
            report.checks.append(MomentCheck(day.isoformat(), moment, len(seen), first_difference(seen, cut)))
    return report
