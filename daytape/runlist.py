"""`daytape runs`: the log's runs, one a line under a header or as JSON.

A SQLite file is read with the standard library alone (eventlog.sqlite_reader), any other log through its
store. The CLI answers the plain forms of the command (`runs [--log URL] [--json]`, see `plain_arguments`)
before typer loads: typer builds a pydantic adapter for every parameter it parses, which costs more than
listing a log's runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from daytape.errors import UserError
from daytape.logurl import resolve_log_url
from daytape.output import print_json
from eventlog.errors import EventLogError

if TYPE_CHECKING:
    from eventlog.store import RunInfo


def listed_runs(log: str | None) -> list[RunInfo]:
    """Every run of the log at `log` (else $DAYTAPE_LOG_URL, else the default), oldest first."""
    from eventlog.sqlite_reader import SQLiteReader, sqlite_file

    url = resolve_log_url(log)
    path = sqlite_file(url)
    try:
        if path is not None:
            with SQLiteReader.open(url, path) as reader:
                return reader.list_runs()
        from eventlog.store import open_store

        store = open_store(url, create=False, read_only=True)
        try:
            return store.list_runs()
        finally:
            store.close()
    except EventLogError as exc:
        raise UserError(str(exc)) from None


def print_runs(log: str | None, as_json: bool) -> None:
    found = [run.summary() for run in listed_runs(log)]
    if as_json:
        print_json(found)
        return
    if not found:
        sys.stdout.write("no runs in the log\n")
        return
    width = max(len("run_id"), *(len(run["run_id"]) for run in found))
    sys.stdout.write(f"{'run_id':<{width}}  {'status':<11} {'sessions':>8}  {'started_at':<32}  name\n")
    for run in found:
        sys.stdout.write(
            f"{run['run_id']:<{width}}  {run['status']:<11} {run['sessions']:>8}  "
            f"{run['started_at']:<32}  {run['name']}\n"
        )


def plain_arguments(args: list[str]) -> tuple[str | None, bool] | None:
    """(log, as_json) of `runs` given only `--log URL` (or `--log=URL`) and `--json`, each at most once;
    None for anything else (`--help`, `--sweep`, a typo), which typer parses and answers."""
    if not args or args[0] != "runs":
        return None
    log: str | None = None
    as_json = False
    rest = args[1:]
    while rest:
        head = rest.pop(0)
        if head == "--json" and not as_json:
            as_json = True
        elif head == "--log" and log is None and rest and not rest[0].startswith("-"):
            log = rest.pop(0)
        elif head.startswith("--log=") and log is None and len(head) > len("--log="):
            log = head[len("--log=") :]
        else:
            return None
    return log, as_json
