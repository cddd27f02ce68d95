"""The code version a run records: enough to tell, months later, whether a re-run used the same code.

The package version alone does not change between commits, so the code version also carries a digest
of daytape's own source and the versions of the libraries whose releases can change a run's events.
It reads `daytape 0.1.0 src 1a2b3c4d5e6f; python 3.11.7; numpy 2.1.3; ...`: parts separated by `; `,
each a name and a version, so two code versions can be compared part by part.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from daytape import __version__

#: The import packages whose source decides what a run records.
SOURCE_PACKAGES = ("daytape", "eventlog", "marketdata", "specs", "statemachine")
#: Libraries whose releases can change a run's events: the indicator kernels and Parquet reads (numpy,
#: pyarrow), the sessions (exchange_calendars, pandas), and the validated, canonical JSON that is hashed
#: (pydantic, orjson).
LIBRARIES = ("numpy", "pyarrow", "exchange_calendars", "pandas", "pydantic", "orjson")
SEPARATOR = "; "


@cache
def source_digest() -> str:
    """digest_sources over the installed SOURCE_PACKAGES."""
    roots = []
    for package in SOURCE_PACKAGES:
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"the daytape package {package!r} is not installed")
        roots += [(package, Path(folder)) for folder in spec.submodule_search_locations]
    return digest_sources(roots)


def digest_sources(roots: Iterable[tuple[str, Path]]) -> str:
    """The first 12 hex digits of a sha256 over every `.py` file under each (package, folder): its path in
    the package and its bytes, with Windows line endings read as Unix ones (a checkout's line endings are
    not a change of code)."""
    digest = hashlib.sha256()
    for package, root in roots:
        for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
            digest.update(f"{package}/{path.relative_to(root).as_posix()}".encode())
            digest.update(b"\0")
            digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
            digest.update(b"\0")
    return digest.hexdigest()[:12]


def _library_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


@cache
def code_version() -> str:
    parts = [f"daytape {__version__} src {source_digest()}", f"python {platform.python_version()}"]
    parts += [f"{name} {_library_version(name)}" for name in LIBRARIES]
    return SEPARATOR.join(parts)


def _parts(text: str) -> dict[str, str] | None:
    """{name: version} of a code version in this module's format; None for any other text (older runs
    recorded `daytape 0.1.0 (python 3.11.7)`)."""
    parts: dict[str, str] = {}
    for part in text.split(SEPARATOR):
        name, _, rest = part.partition(" ")
        if not rest or name in parts:
            return None
        parts[name] = rest
    return parts if " src " in parts.get("daytape", "") else None


def code_changes(recorded: str, current: str) -> list[str]:
    """What differs between two code versions, part by part (`numpy 2.1.3 -> 2.2.0`); empty when they are
    the same. A code version in another format is compared whole."""
    if recorded == current:
        return []
    old, new = _parts(recorded), _parts(current)
    if old is None or new is None:
        return [f"{recorded!r} -> {current!r}"]
    return [
        f"{name} {old.get(name, 'absent')} -> {new.get(name, 'absent')}"
        for name in [*old, *(n for n in new if n not in old)]
        if old.get(name) != new.get(name)
    ]


_FIELD_NAMES = {
    "config_hash": "config (its hash)",
    "data_digest": "data (the bar store's digest)",
    "code_version": "code",
    "seed": "seed",
}


def manifest_notes(differences: dict[str, tuple[Any, Any]]) -> list[str]:
    """One line per manifest field two runs differ in (eventlog.diff's `DiffReport.manifest`), for people."""
    notes = []
    for name, (a, b) in differences.items():
        label = _FIELD_NAMES.get(name, name)
        if name == "code_version":
            notes.append(f"the runs differ in their {label}: {', '.join(code_changes(str(a), str(b)))}")
        else:
            notes.append(f"the runs differ in their {label}: A {a}, B {b}")
    return notes
