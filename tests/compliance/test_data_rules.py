"""The data rules, checked on the packages' code (parsed with `ast`):

- only marketdata reads (or writes) Parquet: no `pyarrow.parquet` / `pyarrow.dataset` import, no
  `pq.read_table`, `pd.read_parquet`, `.to_parquet(...)`, no `importlib.import_module("pyarrow.parquet")`
  anywhere else;
- only eventlog writes the log: no database driver or SQLAlchemy import and no SQL that writes
  (`INSERT INTO`, `UPDATE ... SET`, `DELETE FROM`, `CREATE TABLE`, `COPY ... FROM STDIN`, ...) anywhere
  else.

The exceptions are listed with their reason; one that excuses nothing any more fails the test.
"""

from __future__ import annotations

import ast
import re

from tests.compliance.scan import Allowed, Module, report, scan, unused, violations

PARQUET_MODULES = ("pyarrow.parquet", "pyarrow.dataset", "fastparquet", "polars", "duckdb")
DATABASE_MODULES = ("sqlalchemy", "sqlite3", "psycopg", "psycopg2", "asyncpg", "alembic")
SQL_WRITE = re.compile(
    r"\b(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|REPLACE\s+INTO|UPSERT|"
    r"(CREATE|DROP|ALTER)\s+(TABLE|INDEX|VIEW)|TRUNCATE\s+\w+|COPY\s+\w+.*\bFROM\s+STDIN)\b"
)

ALLOWED_PARQUET = (Allowed("marketdata/", "", "marketdata is the room that owns the bar store", owner=True),)
ALLOWED_LOG_WRITES = (
    Allowed("eventlog/", "", "eventlog is the room that owns the log", owner=True),
    Allowed(
        "migrations/",
        "",
        "the Alembic versions of the log's schema: run only by eventlog.migrate (import-linter keeps every "
        "other package from importing them), they change the log's tables and backfill new ones",
    ),
)


def _is_module(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def parquet_access(module: Module) -> list[tuple[int, str]]:
    found = [(line, f"imports {name}") for line, name in module.imported_modules() if _is_module(name, PARQUET_MODULES)]
    for call in module.calls():
        name = module.qualified(call.func)
        attr = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        if _is_module(name, PARQUET_MODULES):
            found.append((call.lineno, f"calls {name}"))
        elif attr.endswith("parquet"):  # pd.read_parquet, frame.to_parquet, pl.scan_parquet, ...
            found.append((call.lineno, f"calls .{attr}()"))
    for const in module.code_strings():
        if _is_module(const.value, PARQUET_MODULES[:2]):
            found.append((const.lineno, f"names the module {const.value!r}"))
    return sorted(set(found))


def log_writes(module: Module) -> list[tuple[int, str]]:
    found = [
        (line, f"imports {name}") for line, name in module.imported_modules() if _is_module(name, DATABASE_MODULES)
    ]
    for const in module.code_strings():
        match = SQL_WRITE.search(const.value)
        if match:
            found.append((const.lineno, f"SQL write {match.group(0)!r}"))
        elif _is_module(const.value, DATABASE_MODULES):
            found.append((const.lineno, f"names the module {const.value!r}"))
    return sorted(set(found))


def check(rule: str, findings, allowed) -> None:
    assert not violations(findings, allowed), report(rule, violations(findings, allowed))
    stale = unused(findings, allowed)
    assert not stale, f"{rule}: exceptions that excuse nothing any more (remove them): {stale}"


def test_only_marketdata_reads_parquet():
    check("only marketdata reads or writes Parquet", scan(parquet_access), ALLOWED_PARQUET)


def test_only_eventlog_writes_the_log():
    check("only eventlog writes the log", scan(log_writes), ALLOWED_LOG_WRITES)


def test_marketdata_does_read_parquet_and_eventlog_does_write_the_log():
    """The rules name the rooms that do the job: the scans must see them do it (else they see nothing)."""
    parquet = scan(parquet_access)
    writes = scan(log_writes)
    assert any(f.path.as_posix() == "marketdata/store.py" and "pyarrow.parquet" in f.what for f in parquet)
    assert any(f.path.parts[0] == "eventlog" and "INSERT INTO" in f.what for f in writes)
    assert any(f.path.parts[0] == "eventlog" and f.what == "imports sqlalchemy" for f in writes)


SAMPLE = '''
"""Reads with pyarrow.parquet and runs INSERT INTO events (a docstring may say so)."""
import importlib
import pandas as pd
import pyarrow.parquet as pq
from pyarrow import dataset
import sqlite3
from sqlalchemy import insert
table = pq.read_table("x.parquet")
frame = pd.read_parquet("x.parquet")
frame.to_parquet("y.parquet")
module = importlib.import_module("pyarrow.parquet")
sql = "INSERT INTO events (seq) VALUES (?)"
change = "UPDATE runs SET status = 'failed'"
ddl = "CREATE TABLE t (x int)"
copy = "COPY events (seq) FROM STDIN"
driver = importlib.import_module("psycopg")
fine = "update the runs and delete from the list", pd.read_csv("x.csv"), pq_like.read_table("x")
'''


def test_the_parquet_scan_finds_every_way_in():
    assert [line for line, _ in parquet_access(Module.parse(SAMPLE))] == [5, 6, 9, 10, 11, 12]


def test_the_log_write_scan_finds_drivers_and_sql_writes():
    assert [line for line, _ in log_writes(Module.parse(SAMPLE))] == [7, 8, 8, 13, 14, 15, 16, 17]
