"""Every command's --help says what to type: an example, FILE/RUN_ID in the usage line, flags as flags."""

import re

import pytest

from daytape.cli import build_app, main


def _commands() -> list[list[str]]:
    import typer

    found: list[list[str]] = []

    def walk(command, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            found.append(path)
            return
        for name, sub in subcommands.items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(build_app()), [])
    return found


COMMANDS = _commands()


def test_every_command_is_listed():
    names = {" ".join(path) for path in COMMANDS}
    assert {"run", "verify", "audit", "diff", "runs", "replay", "explain", "export", "demo"} <= names
    assert {"data check", "data bars", "data import-lean", "data import-csv", "db upgrade", "config check"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_has_an_example_and_says_what_to_type(capsys, path):
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    example = text.split("Example:\n", 1)
    assert len(example) == 2, f"{' '.join(path)} --help has no example"
    assert example[1].lstrip().startswith(f"daytape {' '.join(path)}"), example[1]
    usage = text.splitlines()[0]
    assert "{" not in usage and "<" not in usage, usage
    assert not re.search(r"--json <", text) and not re.search(r"--(quiet|verbose|no-verify|allow-open) <", text)
    for option in re.findall(r"^\s+(--[\w-]+) ([A-Z_|]+)\s", text, re.M):
        assert option[1] == option[1].upper(), option


def test_run_help_names_every_default_of_log_and_the_until_format(capsys):
    main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--log URL" in text and "$DAYTAPE_LOG_URL, else the file's log, else sqlite:///daytape.db" in text
    main(["replay", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--until SEQ|TIME" in text and "exchange's time" in text and "2013-10-09T18:00Z" in text
    assert "(default: the session's end)" in text
