"""One session day of a run: a fresh coordinator, fresh plugins and its own simulated clock.

teardown → load the config symbols → stream on the clock, calling the plugins at each step → end (and
its teardown). Days share nothing but the run's bar cache (`run_store`), so a run backend
(daytape.backends) can run them in any order, in any process, and write the same events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from daytape import interrupt
from daytape.errors import CheckFailed, UserError
from daytape.plugins import Plugin, PluginContext, Scanner, Strategy, load_plugin
from eventlog.errors import LogWriteFailed
from marketdata.calendar import get_calendar
from marketdata.clock import SimulatedClock
from marketdata.sources import BarSource
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore
from specs.config import SessionConfig
from specs.lifecycle import SessionPhase
from specs.messages import one_line
from specs.status import DayStatus
from statemachine.coordinator import SessionCoordinator
from statemachine.export import failed_requests

#: A step callback: (session date, steps done, steps in the day).
StepProgress = Callable[[dt.date, int, int], None]


@dataclass(frozen=True)
class DayResult:
    date: dt.date
    status: DayStatus
    symbols: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    events: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        return data


def build_plugins(config: SessionConfig) -> list[Plugin]:
    """Fresh plugin instances for one day, scanner first (it runs before the strategy at each step)."""
    plugins: list[Plugin] = []
    if config.scanner is not None:
        plugins.append(load_plugin(config.scanner, Scanner))
    if config.strategy is not None:
        plugins.append(load_plugin(config.strategy, Strategy))
    return plugins


def plugin_name(plugin: Plugin) -> str:
    cls = type(plugin)
    return f"{cls.__module__}:{cls.__qualname__}"


class PluginExited(Exception):
    """A plugin hook raised SystemExit: a plugin failure like any other exception (the day is aborted
    and the run fails), never daytape's own exit status."""

    def __init__(self, plugin: Plugin, hook: str, code: object) -> None:
        super().__init__(f"plugin {plugin_name(plugin)} exited in {hook} (SystemExit({code!r}))")


def open_day(coordinator: SessionCoordinator, day: dt.date) -> bool:
    """Teardown and load the config symbols; False when the day failed (every config symbol rejected)."""
    coordinator.begin_day(day)
    coordinator.load_config_symbols()
    return coordinator.state.phase != SessionPhase.FAILED


class SessionSteps:
    """The plugins' side of a streaming day, shared by the backtest (`stream_day`) and a live day
    (daytape.live.day): `start()` (StreamingStarted, on_session_start), `step(moment)` (the clock to
    `moment`, on_step of each plugin), `end()` (on_session_end and its figures). A plugin's SystemExit is
    a PluginExited."""

    def __init__(self, coordinator: SessionCoordinator, plugins: list[Plugin]) -> None:
        self.coordinator = coordinator
        tz = coordinator.calendar.tz
        view = coordinator.view
        self.contexts = [
            (plugin, PluginContext(coordinator, view, plugin.source, tz, plugin_name(plugin))) for plugin in plugins
        ]

    def _call(self, hook: str, moment: dt.datetime | None = None) -> None:
        plugin = None
        try:
            for plugin, ctx in self.contexts:
                if hook == "on_session_start":
                    plugin.on_session_start(ctx)
                elif hook == "on_step":
                    plugin.on_step(ctx)
                else:
                    figures = plugin.on_session_end(ctx)
                    if figures is not None:
                        report_figures(self.coordinator, plugin, figures)
        except SystemExit as exc:
            if plugin is None:
                raise
            raise PluginExited(plugin, hook, exc.code) from None

    def start(self) -> None:
        self.coordinator.start_streaming()
        self._call("on_session_start")

    def step(self, moment: dt.datetime) -> None:
        interrupt.check()
        self.coordinator.advance_to(moment)
        self._call("on_step")

    def end(self) -> None:
        self._call("on_session_end")


def stream_day(
    coordinator: SessionCoordinator,
    plugins: list[Plugin],
    progress: StepProgress | None = None,
) -> None:
    """Step the clock through the session by base interval, calling the plugins at every step."""
    day = coordinator.state.session_date
    assert day is not None
    steps = SessionSteps(coordinator, plugins)
    steps.start()
    moments = coordinator.step_times()
    for number, moment in enumerate(moments, start=1):
        steps.step(moment)
        if progress is not None:
            progress(day, number, len(moments))
    steps.end()


class PluginFiguresError(CheckFailed):
    """What a plugin's session-end hook returned is not a small dict of figures: the day is aborted like
    on any plugin failure (and so the run fails, exit 1)."""


def report_figures(coordinator: SessionCoordinator, plugin: Plugin, figures: object) -> None:
    """Record what `plugin` returned from on_session_end: a dict of str to a number, a text or a flag."""
    name = plugin_name(plugin)
    if not isinstance(figures, dict):
        raise PluginFiguresError(
            f"plugin {name} returned {type(figures).__name__} from on_session_end; return None or a dict of "
            "figures (str to a number, a text or a flag)"
        )
    checked: dict[str, Any] = {}
    for key, value in figures.items():
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()  # a numpy scalar: its Python number
        if not isinstance(key, str) or not isinstance(value, bool | int | float | str):
            raise PluginFiguresError(
                f"plugin {name}: on_session_end figure {key!r} is {type(value).__name__}; "
                "figures are str names to a number, a text or a flag"
            )
        checked[key] = value
    try:
        coordinator.report_figures(name, checked)
    except ValidationError as exc:
        raise PluginFiguresError(f"plugin {name}: on_session_end figures: {one_line(exc)}") from None


def run_day(
    config: SessionConfig,
    store: BarSource,
    sink: Any,
    day: dt.date,
    progress: StepProgress | None = None,
    plugins: list[Plugin] | None = None,
) -> DayResult:
    """One session day: teardown → load config symbols → stream on the clock → end (and its teardown)."""
    calendar = get_calendar(config.exchange)
    clock = SimulatedClock(calendar.open(day) - dt.timedelta(seconds=1))
    coordinator = SessionCoordinator(config, store, calendar, sink, clock)
    try:
        day_plugins = build_plugins(config) if plugins is None else plugins
        interrupt.check()
        if not open_day(coordinator, day):
            return day_result(coordinator, day, DayStatus.FAILED, coordinator.state.failure)
        stream_day(coordinator, day_plugins, progress)
        result = day_result(coordinator, day, DayStatus.ENDED)
        coordinator.end_day()
        return replace(result, events=coordinator.state.events_applied)
    except (UserError, LogWriteFailed):
        raise  # bad input, or a log that cannot take the day's events: nothing more can be written for the day
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if coordinator.state.phase not in (SessionPhase.ABORTED, SessionPhase.IDLE, SessionPhase.FAILED):
            coordinator.abort(error)
        return day_result(coordinator, day, DayStatus.ABORTED, error)


def day_result(coordinator: SessionCoordinator, day: dt.date, status: DayStatus, error: str | None = None) -> DayResult:
    """What the day's state says of it now, for a day that finished with `status`."""
    state = coordinator.state
    return DayResult(
        date=day,
        status=status,
        symbols=sorted(state.symbols),
        rejected=dict(sorted(state.rejected.items())),
        failed=failed_requests(state),
        events=state.events_applied,
        error=error,
    )


def run_store(config: SessionConfig, days: Sequence[dt.date] = ()) -> StoreCache:
    """The bar store of one run, read through a cache that the run's days share; `days`, the days this
    process will run, are read ahead (see marketdata.sources.storecache)."""
    calendar = get_calendar(config.exchange)
    return StoreCache(BarStore(config.store, calendar), calendar, read_ahead=days)
