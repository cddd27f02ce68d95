"""Bad input gives one line on stderr and exit 2, never a traceback, and leaves nothing behind (issue 16,
findings 6, 7 and 10); a log in a read-only folder can be read."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import socket
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from daytape.cli import main
from daytape.plugins import Strategy
from tests.conftest import SHARED_DATA
from tests.e2e.conftest import daytape
from tests.eventlog.conftest import PG_URL, postgres_unavailable
from tests.samples import sample_session, write_sample, write_yaml


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> bool:
    return code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


class ExitingStrategy(Strategy):
    """Calls sys.exit(3) at its first step."""

    def on_step(self, ctx):  # type: ignore[no-untyped-def]
        raise SystemExit(3)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample-store"))


@pytest.fixture(scope="module")
def recorded(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A log holding one completed run: (log URL, run id)."""
    folder = tmp_path_factory.mktemp("recorded")
    url = f"sqlite:///{folder / 'log.db'}"
    session = write_yaml(folder / "s.yaml", sample_session(sample_store, url))
    assert main(["run", str(session), "--quiet"]) == 0
    code = main(["runs", "--log", url, "--json"])
    assert code == 0
    return url, _only_run(url)


def _only_run(url: str) -> str:
    from eventlog.reading import list_runs
    from eventlog.store import open_store

    with open_store(url, create=False) as store:
        [run] = list_runs(store)
    return run.run_id


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- finding 6: tracebacks instead of one-line errors ----------------------------------------------------------


def test_an_impossible_date_names_the_field(tmp_path, capsys):
    session = tmp_path / "s.yaml"
    session.write_text("name: x\nstart: 2013-02-31\nend: 2013-03-05\n", encoding="utf-8")
    code, _, err = cli(capsys, "config", "check", str(session))
    assert one_line_error(code, err) and err.startswith(f"{session}: start: ")
    code, _, err = cli(capsys, "run", str(session), "--quiet")
    assert one_line_error(code, err) and "start" in err


def test_a_session_file_that_is_not_utf8(tmp_path, capsys):
    session = tmp_path / "s.yaml"
    session.write_bytes(b"name: caf\xe9\nstart: 2013-10-08\nend: 2013-10-08\n")
    for command in ("config check", "run"):
        code, _, err = cli(capsys, *command.split(), str(session))
        assert one_line_error(code, err) and err == f"{session}: (file): not UTF-8 text (byte 0xe9 at offset 9)\n"


def test_postgres_on_a_closed_port_is_one_line_for_every_command(tmp_path, capsys, sample_store):
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/test"
    session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, url))
    for args in (("runs",), ("audit", "abc"), ("replay", "abc"), ("db", "upgrade"), ("run", str(session), "--quiet")):
        code, _, err = cli(capsys, *args, "--log", url)
        assert one_line_error(code, err), (args, err)
        assert "cannot open the event log" in err and "refused" in err.lower()


@pytest.mark.postgres
def test_postgres_without_the_database_is_one_line(tmp_path, capsys, sample_store):
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    url = PG_URL.rsplit("/", 1)[0] + f"/daytape_missing_{uuid.uuid4().hex[:8]}"
    session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, url))
    for args in (("runs",), ("audit", "abc"), ("db", "upgrade"), ("run", str(session), "--quiet")):
        code, _, err = cli(capsys, *args, "--log", url)
        assert one_line_error(code, err), (args, err)
        assert "does not exist" in err


def test_a_sqlite_log_that_is_not_a_database_or_is_a_folder(tmp_path, capsys, sample_store):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all, " * 100)
    folder = tmp_path / "folder.db"
    folder.mkdir()
    before = junk.read_bytes()
    for path, why in ((junk, "file is not a database"), (folder, "is a folder, not a SQLite file")):
        url = f"sqlite:///{path}"
        session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, url))
        for args in (("runs", "--log", url), ("audit", "abc", "--log", url), ("run", str(session), "--quiet")):
            code, _, err = cli(capsys, *args)
            assert one_line_error(code, err) and why in err, (args, err)
    assert junk.read_bytes() == before and list(folder.iterdir()) == []


def test_export_to_a_missing_folder_or_to_a_folder(tmp_path, capsys, recorded):
    url, run_id = recorded
    missing = tmp_path / "nowhere" / "x.json"
    code, out, err = cli(capsys, "export", run_id, "--format", "json", "--out", str(missing), "--log", url)
    assert one_line_error(code, err) and err == f"--out {missing}: no folder {missing.parent}\n" and out == ""
    code, out, err = cli(capsys, "export", run_id, "--format", "json", "--out", str(tmp_path), "--log", url)
    assert one_line_error(code, err) and "is a folder" in err and out == ""
    assert not missing.parent.exists() and list(tmp_path.iterdir()) == []


def test_demo_into_a_file(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    code, _, err = cli(capsys, "demo", "--dir", str(target), "--quiet")
    assert one_line_error(code, err) and err == f"--dir {target}: exists and is not a folder\n"
    assert target.read_text() == "keep me"


def test_a_dask_scheduler_that_does_not_answer_fails_fast_and_records_no_run(tmp_path, sample_store):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    log = tmp_path / "log.db"
    session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, f"sqlite:///{log}"))
    address = f"tcp://127.0.0.1:{closed_port()}"
    result = daytape("run", str(session), "--quiet", "--executor", "dask", "--scheduler", address)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"--scheduler {address}: no Dask scheduler answers there (Connection refused)\n"
    assert not log.exists()  # no log, so no `aborted 0 sessions` run in it


def test_a_peer_that_is_not_a_dask_scheduler_is_refused_without_waiting_for_it(tmp_path, capsys, sample_store):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    log = tmp_path / "log.db"
    session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, f"sqlite:///{log}"))
    with socket.socket() as silent:  # accepts connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        code, _, err = cli(capsys, "run", str(session), "--quiet", "--executor", "dask", "--scheduler", address)
    assert one_line_error(code, err)
    assert err == f"--scheduler {address}: no Dask scheduler answers there (no handshake within 5 s)\n"
    assert not log.exists()


# -- finding 7: reading a log in a read-only folder ---------------------------------------------------------------


def _try(*command: str) -> bool:
    return subprocess.run(command, capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only_view(folder: Path, mount_point: Path) -> Iterator[Path]:
    """`folder` made read-only for everyone, root included (the tests run as root, whom chmod does not stop):
    a read-only bind mount of it, else the folder with the immutable attribute; skip when neither works."""
    mount_point.mkdir()
    if _try("mount", "--bind", str(folder), str(mount_point)):
        if _try("mount", "-o", "remount,ro,bind", str(mount_point)):
            try:
                yield mount_point
            finally:
                subprocess.run(["umount", str(mount_point)], check=True)
            return
        subprocess.run(["umount", str(mount_point)], check=True)
    if shutil.which("chattr") and _try("chattr", "+i", str(folder)):
        try:
            yield folder
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        return
    pytest.skip("cannot make a folder read-only here: neither a read-only bind mount nor chattr +i is allowed")


def test_a_log_in_a_read_only_folder_can_be_read(tmp_path, capsys, recorded, sample_store):
    url, run_id = recorded
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(url.removeprefix("sqlite:///"), folder / "log.db")
    digest = hashlib.sha256((folder / "log.db").read_bytes()).hexdigest()
    with read_only_view(folder, tmp_path / "ro") as view:
        with pytest.raises(OSError):
            (view / "probe").write_text("x")
        ro_url = f"sqlite:///{view / 'log.db'}"
        code, out, err = cli(capsys, "runs", "--log", ro_url, "--json")
        assert code == 0, err
        assert [r["run_id"] for r in json.loads(out)] == [run_id]
        for args in (
            ("audit", run_id),
            ("replay", run_id, "--json"),
            ("explain", run_id, "SPY", "--interval", "5m"),
            ("export", run_id, "--format", "csv"),
            ("db", "current"),
        ):
            code, out, err = cli(capsys, *args, "--log", ro_url)
            assert code == 0, (args, err)
        session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, ro_url))
        code, _, err = cli(capsys, "run", str(session), "--quiet")  # writing it is refused in one line
        assert one_line_error(code, err) and "the event log" in err, err
        assert sorted(p.name for p in view.iterdir()) == ["log.db"]
    assert hashlib.sha256((folder / "log.db").read_bytes()).hexdigest() == digest


# -- finding 10: the smaller ones --------------------------------------------------------------------------------


def test_explain_refuses_a_bad_interval_indicator_key_or_symbol(capsys, recorded):
    url, run_id = recorded
    for args, start in (
        (("SPY", "--interval", "7x"), "--interval: invalid interval '7x'"),
        (("SPY", "--indicator", "nope"), "--indicator: invalid indicator key 'nope'"),
        (("SPY", "--indicator", "sma_0_5m"), "--indicator: invalid indicator key 'sma_0_5m': period: "),
        (("bad sym!",), "explain: invalid symbol 'bad sym!'"),
    ):
        code, out, err = cli(capsys, "explain", run_id, *args, "--log", url)
        assert one_line_error(code, err) and err.startswith(start) and out == "", (args, err)
    code, out, _ = cli(capsys, "explain", run_id, "SPY", "--interval", "15m", "--log", url)
    assert code == 0 and "NOT present" in out  # a valid interval the run never had is an answer, not an error


def test_pydantic_problems_are_one_line(tmp_path, capsys, sample_store):
    session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, f"sqlite:///{tmp_path / 'log.db'}"))
    code, _, err = cli(capsys, "run", str(session), "--quiet", "--to", "2023-11-01")
    assert one_line_error(code, err) and err == "--from/--to: end (2023-11-01) is before start (2023-11-21)\n"
    code, _, err = cli(
        capsys, "data", "bars", "--store", str(sample_store), "--symbol", "SPY", "--interval", "5m",
        "--from", "2023-11-21", "--to", "2023-11-21", "--indicator", "sma_0_5m",
    )  # fmt: skip
    assert one_line_error(code, err) and "period: Input should be greater than or equal to 1" in err
    assert not (tmp_path / "log.db").exists()


def test_a_plugin_calling_exit_is_a_plugin_failure(tmp_path, capsys, sample_store):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    strategy = {"class": f"{__name__}:ExitingStrategy", "params": {}}
    session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, url, strategy=strategy))
    code, out, err = cli(capsys, "run", str(session), "--quiet", "--json")
    assert code == 1
    [day] = json.loads(out)["sessions"]
    assert day["status"] == "aborted"
    assert day["error"] == f"PluginExited: plugin {__name__}:ExitingStrategy exited in on_step (SystemExit(3))"
    assert err.startswith("run ") and err.endswith(" failed\n")
    run_id = json.loads(out)["run_id"]
    assert cli(capsys, "audit", run_id, "--log", url)[0] == 0


def test_a_store_that_is_a_file_says_so(tmp_path, capsys):
    store = tmp_path / "store"
    store.write_text("")
    session = write_yaml(tmp_path / "s.yaml", sample_session(store, f"sqlite:///{tmp_path / 'log.db'}"))
    code, _, err = cli(capsys, "run", str(session), "--quiet")
    assert one_line_error(code, err) and err == f"{session}: store: {store}: not a folder\n"


def test_a_sqlite_log_in_a_missing_folder_is_refused_not_created(tmp_path, capsys, sample_store):
    log = tmp_path / "no" / "such" / "log.db"
    session = write_yaml(tmp_path / "s.yaml", sample_session(sample_store, f"sqlite:///{log}"))
    code, _, err = cli(capsys, "run", str(session), "--quiet")
    assert one_line_error(code, err)
    assert err == f"cannot create the event log sqlite:///{log}: no folder {log.parent} (create it first)\n"
    code, _, err = cli(capsys, "db", "upgrade", "--log", f"sqlite:///{log}")
    assert one_line_error(code, err)
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("overrides", "options", "message"),
    [
        ({"store": "/nonexistent/store"}, (), "store: /nonexistent/store: no such folder"),
        ({"exchange": "NOPE"}, (), "unknown exchange 'NOPE'"),
        ({"strategy": {"class": "no_such_module_x:Strategy"}}, (), "cannot import module 'no_such_module_x'"),
        ({}, ("--workers", "0"), "--workers: must be at least 1, got 0"),
        ({"start": "2023-11-23", "end": "2023-11-23"}, (), "no XNYS sessions between 2023-11-23 and 2023-11-23"),
    ],
)
def test_a_run_refused_before_its_first_session_leaves_no_log(
    tmp_path, capsys, sample_store, overrides, options, message
):
    log = tmp_path / "log.db"
    session = write_yaml(tmp_path / "s.yaml", {**sample_session(sample_store, f"sqlite:///{log}"), **overrides})
    code, _, err = cli(capsys, "run", str(session), "--quiet", *options)
    assert one_line_error(code, err) and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def _zip_rows(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        [name] = archive.namelist()
        return len(archive.read(name).splitlines())


def _lean_tree(root: Path, lean: Path) -> Path:
    """A LEAN folder with two symbols' minute zips copied from the real data."""
    for symbol in ("spy", "aig"):
        folder = root / "equity" / "usa" / "minute" / symbol
        folder.mkdir(parents=True)
        for name in ("20131007_trade.zip", "20131008_trade.zip"):
            shutil.copy(lean / "equity" / "usa" / "minute" / symbol / name, folder)
    return root


@pytest.mark.skipif(SHARED_DATA is None, reason="the real market data in ../shared/data is absent")
def test_import_lean_with_a_corrupt_zip_imports_every_other_file_and_names_it(tmp_path, capsys, lean_root):
    root = _lean_tree(tmp_path / "lean", lean_root)
    bad = root / "equity" / "usa" / "minute" / "aig" / "20131008_trade.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    code, out, err = cli(capsys, "data", "import-lean", str(root), "--store", str(tmp_path / "s"), "--json")
    assert code == 2
    assert err.splitlines()[-1].startswith(f"import-lean: 1 file(s) not imported: {bad}: unreadable zip")
    report = json.loads(out)
    assert [s["file"] for s in report["skipped"]] == [str(bad)]
    aig = _zip_rows(root / "equity" / "usa" / "minute" / "aig" / "20131007_trade.zip")
    spy = sum(_zip_rows(p) for p in (root / "equity" / "usa" / "minute" / "spy").iterdir())
    assert report["symbols"] == {"AIG": {"1m": {"rows": aig, "days": 1}}, "SPY": {"1m": {"rows": spy, "days": 2}}}
    days = sorted(p.name for p in (tmp_path / "s" / "1m").rglob("*.parquet"))
    assert days == ["2013-10-07.parquet", "2013-10-07.parquet", "2013-10-08.parquet"]


@pytest.mark.skipif(SHARED_DATA is None, reason="the real market data in ../shared/data is absent")
def test_import_lean_walks_only_leans_layout(tmp_path, capsys, lean_root):
    _lean_tree(tmp_path / "unrelated" / "deep" / "lean", lean_root)
    code, _, err = cli(capsys, "data", "import-lean", str(tmp_path), "--store", str(tmp_path / "s"))
    assert one_line_error(code, err) and "no LEAN equity data" in err
    assert not (tmp_path / "s").exists()
    holder = tmp_path / "unrelated" / "deep"
    code, _, _ = cli(capsys, "data", "import-lean", str(holder), "--store", str(tmp_path / "s"))
    assert code == 0  # the folder that holds `lean` is LEAN's layout


@pytest.mark.skipif(SHARED_DATA is None, reason="the real market data in ../shared/data is absent")
def test_import_lean_with_no_symbols_in_symbols(tmp_path, capsys, lean_root):
    store = str(tmp_path / "s")
    code, _, err = cli(capsys, "data", "import-lean", str(lean_root), "--store", store, "--symbols", ",,,")
    assert one_line_error(code, err) and err.startswith("--symbols ',,,': no symbols")
    assert not (tmp_path / "s").exists()


def test_an_lean_zip_packed_with_the_wrong_date_name_is_skipped(tmp_path, capsys):
    folder = tmp_path / "lean" / "equity" / "usa" / "minute" / "spy"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "20131399_trade.zip", "w") as archive:
        archive.writestr("x.csv", "34200000,1,2,1,2,5\n")
    code, _, err = cli(capsys, "data", "import-lean", str(tmp_path / "lean"), "--store", str(tmp_path / "s"))
    assert code == 2 and "20131399_trade.zip: the file name's date" in err.splitlines()[-1]
    assert not (tmp_path / "s").exists()
