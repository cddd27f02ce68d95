"""Scanners and strategies: plain Python classes named by import path in the session file.

At each step of the clock a plugin gets a `PluginContext`: a read-only view
of the session (closed bars, indicator values, the time, the symbols and
their states) and the three entry points `add_symbol`, `add_bar` and
`add_indicator`, which it calls as its own source (`scanner` or `strategy`).
Every call goes through analysis, validation and provisioning, and leaves
events in the log whether it succeeds, is a duplicate, is rejected or fails.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, ClassVar, Protocol

from daytape.errors import UserError
from specs.config import PluginRef
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.plan import BarScope, Source


class Provisioner(Protocol):
    """What the coordinator offers plugins (statemachine.coordinator.SessionCoordinator)."""

    def add_symbol(self, symbol: str, source: Source, plugin: str | None = None) -> Any: ...

    def add_bar(
        self,
        symbol: str,
        interval: Interval,
        days: int,
        source: Source,
        plugin: str | None = None,
        scope: BarScope | str = BarScope.BOTH,
    ) -> Any: ...

    def add_indicator(self, symbol: str, spec: IndicatorSpec, source: Source, plugin: str | None = None) -> Any: ...


class PluginContext:
    """What a plugin sees at one step: `view` (read-only), `now`, `local_time` and the entry points."""

    def __init__(self, coordinator: Provisioner, view: Any, source: Source, tz: dt.tzinfo, plugin: str) -> None:
        self._coordinator = coordinator
        self._source = source
        self._tz = tz
        self._plugin = plugin
        self.view = view

    @property
    def now(self) -> dt.datetime:
        """The clock's time (UTC)."""
        return self.view.now  # type: ignore[no-any-return]

    @property
    def local_time(self) -> dt.time:
        """The clock's time of day in the exchange's time zone."""
        return self.view.now.astimezone(self._tz).time().replace(tzinfo=None)  # type: ignore[no-any-return]

    def add_symbol(self, symbol: str) -> Any:
        return self._coordinator.add_symbol(symbol.upper(), self._source, plugin=self._plugin)

    def add_bar(self, symbol: str, interval: str | Interval, days: int = 0, scope: BarScope | str = "both") -> Any:
        """Bars of `interval` with `days` sessions of history; `scope` "history" (history only, days >= 1) or
        "session" (the session's bars only, days 0) narrows what is loaded."""
        return self._coordinator.add_bar(
            symbol.upper(), Interval(interval), days, self._source, plugin=self._plugin, scope=scope
        )

    def add_indicator(self, symbol: str, spec: IndicatorSpec | dict[str, Any] | str) -> Any:
        if isinstance(spec, str):
            spec = IndicatorSpec.parse_key(spec)
        elif isinstance(spec, dict):
            spec = IndicatorSpec.model_validate(spec)
        return self._coordinator.add_indicator(symbol.upper(), spec, self._source, plugin=self._plugin)


class Plugin:
    """Base of scanners and strategies. Override the hooks you need; each gets a PluginContext."""

    source: ClassVar[Source]

    def __init__(self, **params: Any) -> None:
        self.params = params

    def on_session_start(self, ctx: PluginContext) -> None:
        """Called once the config symbols are loaded, before the first step."""

    def on_step(self, ctx: PluginContext) -> None:
        """Called at every step of the clock, after the bars that closed at `ctx.now` are visible."""

    def on_session_end(self, ctx: PluginContext) -> dict[str, bool | int | float | str] | None:
        """Called after the last step of the session. May return a small dict of figures (name → number,
        text or flag: the day's P&L, its trades) that the log records as a FiguresReported event and
        `daytape sweep-report` shows per run (numbers summed over the days, texts and flags the last day's)."""
        return None


class Scanner(Plugin):
    """Finds symbols worth watching; what it adds is provisioned ad hoc (warm-up history only)."""

    source = Source.SCANNER


class Strategy(Plugin):
    """Trades the session; what it adds is provisioned in full (upgrading ad hoc symbols)."""

    source = Source.STRATEGY


def plugin_folder(class_path: str, session_folder: Path) -> Path | None:
    """The folder a session file's plugin imports from when no installed package has it: the session file's
    folder, or the nearest folder above it that holds the module's top package (`examples.breakout` named in
    `examples/lean.yaml` imports from the folder above `examples/`). None when it is installed or not found."""
    top = class_path.partition(":")[0].split(".")[0]
    try:
        if importlib.util.find_spec(top) is not None:
            return None
    except (ImportError, ValueError):
        pass
    for folder in (session_folder, *session_folder.parents):
        if (folder / top).is_dir() or (folder / f"{top}.py").is_file():
            return folder
    return None


def load_plugin(ref: PluginRef, kind: type[Plugin]) -> Plugin:
    """Import `package.module:ClassName` (from the installed packages, the ref's `path`, or the current
    folder) and build it with `params`; errors name the class path."""
    module_name, _, class_name = ref.class_path.partition(":")
    # like `python -m`: plugins beside the user's work import from the current folder too
    for folder in (ref.path, os.getcwd()):
        if folder is not None and folder not in sys.path:
            sys.path.append(folder)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"{ref.class_path}: cannot import module {module_name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise UserError(f"{ref.class_path}: module {module_name!r} has no class {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, kind)):
        raise UserError(f"{ref.class_path}: is not a {kind.__name__} (subclass daytape.plugins.{kind.__name__})")
    try:
        return cls(**ref.params)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{ref.class_path}: bad params: {exc}") from None


def parse_clock_time(value: Any, name: str) -> dt.time:
    """`"10:30"` → time(10, 30); the message names the param."""
    try:
        hours, minutes = str(value).split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{name} must be HH:MM exchange time, got {value!r}") from None
