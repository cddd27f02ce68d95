"""Parameter sweeps: one session config run over a grid of overrides, one run per point, in one log.

A grid file maps dotted paths into the session config (`indicators.0.period`, `strategy.params.at`,
`symbols`, `start`) to the list of values each takes; the points are every combination, in the file's
order. A sweep's id is a digest of the config and the grid, so running the same sweep again finds it.

The sweep is recorded as the names of its runs, `sweep:<id>:<point>`: the log's tables and invariants
stay as they are (no new table, no migration), and a sweep is read back from the runs alone. A point's
identity is its run's manifest (config hash, data digest, code version, seed): a point whose run in the
sweep has the same manifest and completed is reused; one whose run was cut off (a killed sweep) is
resumed; any other point gets a new run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from daytape.errors import UserError
from daytape.resume import resume_run
from daytape.runner import RunOptions, run_manifest, run_session
from eventlog.reading import RunInfo, list_runs, read_events
from eventlog.store import EventStore
from specs.config import SessionConfig
from specs.events import FiguresReported
from specs.messages import one_line
from specs.status import RunStatus

#: What a point's run manifest must match for the point to be reused.
IDENTITY = ("config_hash", "data_digest", "code_version", "seed")


@dataclass(frozen=True)
class Point:
    number: int
    overrides: dict[str, Any]
    config: SessionConfig


@dataclass(frozen=True)
class PointResult:
    point: Point
    run_id: str
    status: str
    seal: str | None
    action: str  # ran | reused | resumed

    def as_json(self) -> dict[str, Any]:
        return {
            "point": self.point.number,
            "overrides": self.point.overrides,
            "run_id": self.run_id,
            "status": self.status,
            "seal": self.seal,
            "action": self.action,
        }


def load_grid(path: Path) -> dict[str, list[Any]]:
    """The grid file: a mapping of dotted config paths to non-empty lists of values."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UserError(f"--grid {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"--grid {path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not data:
        raise UserError(f"--grid {path}: expected a mapping of config paths to lists of values")
    for key, values in data.items():
        if not isinstance(key, str) or not isinstance(values, list) or not values:
            raise UserError(f"--grid {path}: {key}: expected a non-empty list of values")
    return data


def sweep_id(config: SessionConfig, grid: dict[str, list[Any]]) -> str:
    text = json.dumps({"config": config.to_yaml_dict(), "grid": grid}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_name(sweep: str, point: Point) -> str:
    """`sweep:<id>:<point> <overrides>`, cut to the 200 characters a run name may have."""
    return f"sweep:{sweep}:{point.number} {_describe(point.overrides)}"[:200]


def point_number(sweep: str, name: str) -> int | None:
    prefix = f"sweep:{sweep}:"
    number = name[len(prefix) :].split(" ", 1)[0]
    return int(number) if name.startswith(prefix) and number.isdigit() else None


def override(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with the value at dotted `path` replaced (list items by index)."""
    head, _, rest = path.partition(".")
    copy: Any = json.loads(json.dumps(document, default=str))
    node = copy
    keys = path.split(".")
    for key in keys[:-1]:
        node = _child(node, key, path)
    last = keys[-1]
    if isinstance(node, list):
        node[_index(node, last, path)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise UserError(f"grid: {path}: {head} has no field {rest or last}")
    return dict(copy)


def _child(node: Any, key: str, path: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, key, path)]
    if isinstance(node, dict) and isinstance(node.get(key), dict | list):
        return node[key]
    raise UserError(f"grid: {path}: the config has no {key} to go into")


def _index(node: list[Any], key: str, path: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise UserError(f"grid: {path}: {key} is not an index of a list of {len(node)}")
    return int(key)


def grid_points(config: SessionConfig, grid: dict[str, list[Any]]) -> list[Point]:
    """Every combination of the grid's values, the config with each one applied and validated."""
    base = config.to_yaml_dict()
    points = []
    for number, values in enumerate(itertools.product(*grid.values()), start=1):
        overrides = dict(zip(grid, values, strict=True))
        document = base
        for path, value in overrides.items():
            document = override(document, path, value)
        try:
            points.append(Point(number, overrides, SessionConfig.model_validate(document)))
        except ValidationError as exc:
            raise UserError(f"grid point {number} ({_describe(overrides)}): {one_line(exc)}") from None
    return points


def _describe(overrides: dict[str, Any]) -> str:
    return ", ".join(f"{path}={value}" for path, value in overrides.items())


def sweep_runs(log: EventStore, sweep: str) -> dict[int, RunInfo]:
    """The latest run of each point of the sweep in the log."""
    latest: dict[int, RunInfo] = {}
    for info in list_runs(log):
        number = point_number(sweep, info.name)
        if number is not None:
            latest[number] = info
    return latest


def run_sweep(
    log: EventStore,
    config: SessionConfig,
    grid: dict[str, list[Any]],
    options: RunOptions,
    on_point: Callable[[PointResult], None] | None = None,
) -> tuple[str, list[PointResult]]:
    """Run every point of the grid not already run with the same manifest; resume those cut off."""
    sweep = sweep_id(config, grid)
    points = grid_points(config, grid)
    results = []
    for point in points:
        result = _run_point(log, sweep, point, options, sweep_runs(log, sweep).get(point.number))
        results.append(result)
        if on_point is not None:
            on_point(result)
    return sweep, results


def _run_point(log: EventStore, sweep: str, point: Point, options: RunOptions, recorded: RunInfo | None) -> PointResult:
    if recorded is not None:
        manifest = run_manifest(point.config)
        same = all(getattr(recorded, key) == getattr(manifest, key) for key in IDENTITY)
        if same and recorded.status == RunStatus.COMPLETED:
            return PointResult(point, recorded.run_id, recorded.status, recorded.seal, "reused")
        if same and recorded.status in (RunStatus.RUNNING, RunStatus.ABORTED):
            resumed = resume_run(log, recorded.run_id, options)
            return PointResult(point, resumed.run_id, resumed.status, resumed.seal, "resumed")
    result = run_session(log, point.config, options, name=run_name(sweep, point))
    return PointResult(point, result.run_id, result.status, result.seal, "ran")


#: How `sweep-report` folds a run's FiguresReported events (one per plugin per session) into one row.
FIGURE_RULE = "numbers are summed over the run's sessions; texts and flags are the last session's"

_PATH = re.compile(r"(?:^|, )([A-Za-z0-9_.]+)=")


def run_figures(log: EventStore, run_id: str) -> dict[str, dict[str, Any]]:
    """Per plugin, its figures over the run's sessions (FIGURE_RULE): a number adds to the sum so far (when
    that is a number too), a text or a flag replaces what was there."""
    totals: dict[str, dict[str, Any]] = {}
    for row in read_events(log, run_id, kinds=["FiguresReported"]):
        event = row.event()
        assert isinstance(event, FiguresReported)
        figures = totals.setdefault(event.plugin, {})
        for name, value in event.figures.items():
            before: Any = figures.get(name)
            figures[name] = before + value if _is_number(value) and _is_number(before) else value
    return totals


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def flat_figures(by_plugin: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One mapping of figure names: a name only one plugin reports keeps its name, one that several report
    is named `Class.name` after each plugin's class."""
    counts: dict[str, int] = {}
    for figures in by_plugin.values():
        for name in figures:
            counts[name] = counts.get(name, 0) + 1
    flat: dict[str, Any] = {}
    for plugin, figures in by_plugin.items():
        for name, value in figures.items():
            flat[name if counts[name] == 1 else f"{plugin.rsplit(':', 1)[-1]}.{name}"] = value
    return flat


def _value_at(document: Any, path: str) -> Any:
    node = document
    for key in path.split("."):
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return None
    return node


def run_parameters(info: RunInfo) -> dict[str, Any]:
    """The grid paths the run's name lists, each with its value in the run's recorded config."""
    described = info.name.split(" ", 1)[1] if " " in info.name else ""
    config = json.loads(info.config_json)
    return {path: _value_at(config, path) for path in _PATH.findall(described)}


def sweep_report(log: EventStore, sweep: str) -> list[dict[str, Any]]:
    """The sweep's points as recorded: point, overrides (as the run's name gives them), parameters (their
    values in the run's config), run id, status, seal and the figures the plugins reported (FIGURE_RULE)."""
    found = sweep_runs(log, sweep)
    if not found:
        raise UserError(f"sweep {sweep}: no runs of it in this log")
    return [
        {
            "point": number,
            "overrides": info.name.split(" ", 1)[1] if " " in info.name else "",
            "parameters": run_parameters(info),
            "run_id": info.run_id,
            "status": info.status,
            "seal": info.seal,
            "figures": flat_figures(run_figures(log, info.run_id)),
        }
        for number, info in sorted(found.items())
    ]


def report_columns(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The parameter and figure names of the rows, each in the order of its first appearance."""
    parameters: dict[str, None] = {}
    figures: dict[str, None] = {}
    for row in rows:
        parameters.update(dict.fromkeys(row["parameters"]))
        figures.update(dict.fromkeys(row["figures"]))
    return list(parameters), list(figures)
