"""The stdlib read path of a SQLite log (eventlog.sqlite_reader) against the store's (SQLAlchemy): the same
records, the same `daytape runs` output and the same one-line errors, on the same files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from daytape.cli import main
from daytape.runlist import plain_arguments
from eventlog import migrate
from eventlog.engine import make_engine
from eventlog.errors import EventLogError
from eventlog.manifest import RunManifest
from eventlog.sqlite_reader import SQLiteReader, sqlite_file
from eventlog.store import open_store
from tests.eventlog.conftest import write_run


def both(url: str, read):  # type: ignore[no-untyped-def]
    """`read` of the log through the store, then through the stdlib reader."""
    with open_store(url, create=False, read_only=True) as store:
        through_store = read(store)
    path = sqlite_file(url)
    assert path is not None
    with SQLiteReader.open(url, path) as reader:
        return through_store, read(reader)


def a_log(tmp_path: Path) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with open_store(url) as store:
        ids = [
            write_run(store, "finished", days=2),
            write_run(store, "still running", days=1, finish=False),
            store.create_run(
                RunManifest(name="made from", data_digest="ab" * 32, data_scope='{"scope":"run","files":{"a":null}}')
            ),
        ]
    return url, ids


def test_sqlite_file_takes_plain_sqlite_urls_only(tmp_path):
    assert sqlite_file(f"sqlite:///{tmp_path}/log.db") == tmp_path / "log.db"
    assert sqlite_file("sqlite:///relative.db") == Path("relative.db")
    assert sqlite_file(" sqlite+pysqlite:///x.db ") == Path("x.db")
    for other in (
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///a%20b.db",
        "sqlite:///x.db?mode=ro",
        "postgresql://h/db",
    ):
        assert sqlite_file(other) is None, other


def test_the_runs_the_two_paths_read_are_equal(tmp_path):
    url, ids = a_log(tmp_path)
    store_runs, reader_runs = both(url, lambda log: log.list_runs())
    assert [run.run_id for run in store_runs] == ids
    assert reader_runs == store_runs
    assert [run.summary() for run in reader_runs] == [run.summary() for run in store_runs]
    for run_id in [*ids, "nope"]:
        one, other = both(url, lambda log, run_id=run_id: log.run(run_id))
        assert one == other
    for text in (ids[0], ids[1][:6], "", "%", "_", "zz"):
        one, other = both(url, lambda log, text=text: sorted(log.match_run_ids(text, 10)))
        assert one == other, text


def runs_output(url: str, *args: str) -> tuple[int, str, str]:
    """`daytape runs` in a process of its own, as a user runs it: the stdlib path when the URL is a file."""
    result = subprocess.run(
        [sys.executable, "-m", "daytape.cli", "runs", "--log", url, *args], capture_output=True, text=True
    )
    return result.returncode, result.stdout, result.stderr


def test_daytape_runs_prints_what_the_store_path_prints(tmp_path, capsys, monkeypatch):
    url, _ = a_log(tmp_path)
    for args in ((), ("--json",)):
        code, out, err = runs_output(url, *args)
        assert err == ""
        monkeypatch.setattr("eventlog.sqlite_reader.sqlite_file", lambda _url: None)  # the store's path
        capsys.readouterr()
        assert main(["runs", "--log", url, *args]) == code == 0
        assert capsys.readouterr().out == out, args
        monkeypatch.undo()
    assert json.loads(runs_output(url, "--json")[1])[2]["data_scope"] == {"scope": "run", "files": 1}


def test_only_the_plain_forms_of_runs_are_answered_before_typer():
    assert plain_arguments(["runs"]) == (None, False)
    assert plain_arguments(["runs", "--json", "--log", "sqlite:///x.db"]) == ("sqlite:///x.db", True)
    assert plain_arguments(["runs", "--log=sqlite:///x.db"]) == ("sqlite:///x.db", False)
    for args in (
        [],
        ["run"],
        ["runs", "--help"],
        ["runs", "--sweep", "s"],
        ["runs", "--json", "--json"],
        ["runs", "--log"],
        ["runs", "--log", "--json"],
        ["runs", "--log="],
        ["runs", "--log", "a", "--log", "b"],
        ["runs", "extra"],
    ):
        assert plain_arguments(args) is None, args


def test_a_bad_log_is_the_same_one_line_on_either_path(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    code, out, err = runs_output(url)
    capsys.readouterr()
    assert main(["runs", "--log", url, "--sweep", "nope"]) == 2  # typer's path: a missing log either way
    assert code == 2 and out == "" and err == f"no event log at {url} (no file {tmp_path / 'missing.db'})\n"
    assert capsys.readouterr().err == err


def test_runs_on_a_sqlite_file_imports_no_sqlalchemy(tmp_path):
    url, _ = a_log(tmp_path)
    probe = (
        "import sys; from daytape.cli import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'specs.events') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe, "runs", "--log", url], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def errors(url: str) -> tuple[str, str]:
    """The one-line error each path gives for the log at `url`."""
    found = []
    for opener in (
        lambda: open_store(url, create=False, read_only=True),
        lambda: SQLiteReader.open(url, sqlite_file(url)),  # type: ignore[arg-type]
    ):
        with pytest.raises(EventLogError) as caught:
            opener().close()
        found.append(f"{type(caught.value).__name__}: {caught.value}")
    return found[0], found[1]


def test_the_same_errors_for_a_missing_file_a_folder_a_non_log_and_older_or_newer_schemas(tmp_path):
    one, other = errors(f"sqlite:///{tmp_path / 'missing.db'}")
    assert one == other and one.startswith("LogNotFound")
    one, other = errors(f"sqlite:///{tmp_path}")
    assert one == other and "is a folder" in one
    (tmp_path / "text.db").write_text("not a database, just text that is long enough to be read as a header" * 20)
    one, other = errors(f"sqlite:///{tmp_path / 'text.db'}")
    assert one == other and one.startswith("LogUnavailable")
    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE other (x)").connection.close()
    one, other = errors(f"sqlite:///{tmp_path / 'empty.db'}")
    assert one == other and "has no daytape tables" in one

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    migrate.upgrade_engine(engine, "0004")
    engine.dispose()
    one, other = errors(url)
    assert one == other and one.startswith("SchemaBehind")
    with sqlite3.connect(tmp_path / "old.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    one, other = errors(url)
    assert one == other and one.startswith("SchemaAhead")
