"""Reading a session file: YAML to `SessionConfig`, with errors as `FILE: field.path: problem`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from daytape.errors import UserError
from specs.config import SessionConfig


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after[_check_consistency()]",):
            continue
        else:
            text = str(item) if str(item).isprintable() else repr(item)
            if text.startswith(("function-", "tagged-union[", "union[")):
                continue
            parts.append(("." if parts else "") + text)
    return "".join(parts) or "(file)"


def _problem(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error.get("type") in ("int_type", "float_type", "bool_type"):
        message += f", got {error.get('input')!r}"
    return message


def config_error_message(path: str, exc: ValidationError) -> str:
    """One line per problem: `FILE: field.path: problem`."""
    lines = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        # the indicator union reports the model name; drop it for a clean path
        loc = tuple(p for p in loc if p not in ("IndicatorSpec",))
        lines.append(f"{path}: {_location(loc)}: {_problem(dict(error))}")
    return "\n".join(lines)


class _SessionLoader(yaml.SafeLoader):
    """YAML's safe loader without its implicit timestamps: `start: 2013-02-31` stays text, so that
    the config's own validation names the field, and plugin params get the text the recorded config
    (JSON) gives them on a resume."""


_SessionLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_session_yaml(text: str, path: str = "<session>") -> SessionConfig:
    try:
        data = yaml.load(text, Loader=_SessionLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: {where}: broken YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # a value YAML's constructors cannot build (`!!timestamp 2013-02-31`, nesting deeper than Python allows)
        raise UserError(f"{path}: (file): broken YAML: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: (file): expected a mapping of session settings, got {type(data).__name__}")
    try:
        return SessionConfig.model_validate(data)
    except ValidationError as exc:
        raise UserError(config_error_message(path, exc)) from None


def load_session_file(path: str | Path) -> SessionConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: (file): no such file") from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise UserError(f"{path}: (file): not UTF-8 text (byte 0x{byte:02x} at offset {exc.start})") from None
    except OSError as exc:
        raise UserError(f"{path}: (file): cannot read: {exc.strerror}") from None
    return parse_session_yaml(text, str(path))


def dump_session_yaml(config: SessionConfig) -> str:
    return yaml.safe_dump(config.to_yaml_dict(), sort_keys=False)
