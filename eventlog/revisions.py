"""The migration scripts' revisions, read without importing Alembic or SQLAlchemy (start-up): the head a
log must be at, and every revision this daytape knows."""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

from eventlog.errors import LogNotFound, SchemaAhead, SchemaBehind


def script_location() -> str:
    """The installed `migrations` package folder (found without importing it: eventlog must not)."""
    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the daytape `migrations` package is not installed")
    return str(next(iter(spec.submodule_search_locations)))


def _script_revisions(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """A migration script's `revision` and the revisions it revises (`down_revision`), None if it has none."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        else:
            continue
        if name in ("revision", "down_revision"):
            found[name] = ast.literal_eval(value)
    revision, down = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str):
        return None
    downs = (down,) if isinstance(down, str) else tuple(down) if isinstance(down, tuple | list) else ()
    return revision, downs


@cache
def _revision_graph() -> dict[str, tuple[str, ...]]:
    """revision -> the revisions it revises, for every script in migrations/versions."""
    graph = {}
    for path in sorted(Path(script_location(), "versions").glob("*.py")):
        script = _script_revisions(path)
        if script is not None:
            graph[script[0]] = script[1]
    return graph


@cache
def head_revision() -> str:
    graph = _revision_graph()
    revised = {down for downs in graph.values() for down in downs}
    heads = sorted(set(graph) - revised)
    if len(heads) != 1:
        raise RuntimeError(f"the migrations package has {len(heads)} head revisions ({', '.join(heads) or 'none'})")
    return heads[0]


@cache
def known_revisions() -> frozenset[str]:
    return frozenset(_revision_graph())


def check_revision(url: str, current: str | None, empty: bool) -> None:
    """The verdict on a log at schema revision `current` (None: no revision; `empty`: no daytape tables either):
    nothing at the head revision, else LogNotFound, SchemaAhead or SchemaBehind, each naming `url`."""
    head = head_revision()
    if current == head:
        return
    if empty:
        raise LogNotFound(f"no event log at {url} (the database has no daytape tables)")
    if current is not None and current not in known_revisions():
        raise SchemaAhead(
            f"the event log {url} has schema revision {current}, unknown to this daytape (head {head}); "
            "it was written by a newer daytape: upgrade daytape"
        )
    raise SchemaBehind(url, current, head)
