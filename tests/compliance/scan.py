"""Reading the production code for the compliance tests: the packages' files parsed with `ast`, names
resolved through each module's imports, docstrings told apart from code.

A finding is `(path, line, what)`; the tests print them as `path:line: what`.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGES = ("specs", "marketdata", "statemachine", "eventlog", "daytape", "migrations")


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


@dataclass
class Module:
    """One parsed source file and what its imports call things."""

    path: Path
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)
    docstrings: set[int] = field(default_factory=set)

    @classmethod
    def parse(cls, source: str, path: Path = Path("<source>")) -> Module:
        module = cls(path, ast.parse(source))
        package = ".".join(path.parts[:-1])
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        module.imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        module.imports[top] = top
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    module.docstrings.add(id(body[0].value))
        return module

    def qualified(self, node: ast.AST) -> str:
        """The dotted name an expression stands for through the module's imports (`dt.datetime.now` ->
        `datetime.datetime.now`), or "" for anything not reached from an import."""
        if isinstance(node, ast.Name):
            return self.imports.get(node.id, "")
        if isinstance(node, ast.Attribute):
            owner = self.qualified(node.value)
            return f"{owner}.{node.attr}" if owner else ""
        return ""

    def code_strings(self) -> Iterator[ast.Constant]:
        """String constants in code: docstrings left out."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in self.docstrings:
                yield node

    def calls(self) -> Iterator[ast.Call]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                yield node

    def imported_modules(self) -> Iterator[tuple[int, str]]:
        """(line, module) of every import, `from a import b` giving both `a` and `a.b`."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield node.lineno, node.module
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"


def production_files() -> list[Path]:
    """Every Python file of the packages, relative to the repository."""
    return sorted(p.relative_to(REPO_ROOT) for pkg in PACKAGES for p in (REPO_ROOT / pkg).rglob("*.py"))


@functools.cache
def parsed(path: Path) -> Module:
    return Module.parse((REPO_ROOT / path).read_text(encoding="utf-8"), path)


def is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


def in_area(path: Path, area: str) -> bool:
    """Whether `path` is in `area`: a file (`a/b.py`) or a folder (`a/`)."""
    text = path.as_posix()
    return text == area or (area.endswith("/") and text.startswith(area))


@dataclass(frozen=True)
class Allowed:
    """Findings a rule lets be: in `area`, whose description contains `what` ("" for any). `owner` marks the
    room the rule gives the job to (the clock, the calendar); every other entry is a justified exception."""

    area: str
    what: str
    reason: str
    owner: bool = False

    def excuses(self, finding: Finding) -> bool:
        return in_area(finding.path, self.area) and self.what in finding.what


def scan(check: Callable[[Module], list[tuple[int, str]]]) -> list[Finding]:
    """`check` over every production file."""
    found = []
    for path in production_files():
        found += [Finding(path, line, what) for line, what in check(parsed(path))]
    return sorted(found, key=lambda f: (str(f.path), f.line, f.what))


def violations(findings: list[Finding], allowed: tuple[Allowed, ...]) -> list[Finding]:
    """The findings no exception excuses."""
    return [f for f in findings if not any(a.excuses(f) for a in allowed)]


def unused(findings: list[Finding], allowed: tuple[Allowed, ...]) -> list[Allowed]:
    """The exceptions that excuse nothing any more (to be removed from the list)."""
    return [a for a in allowed if not a.owner and not any(a.excuses(f) for f in findings)]


def report(rule: str, findings: list[Finding]) -> str:
    return f"{rule}:\n" + "\n".join(str(f) for f in findings)
