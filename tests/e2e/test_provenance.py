"""What a run records about its code, and what diff, verify and resume make of it, on real runs of the LEAN data."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from sqlalchemy import select, update

from daytape.cli import main
from daytape.provenance import LIBRARIES, code_changes, code_version, digest_sources, manifest_notes
from eventlog.schema import runs
from eventlog.store import open_store
from tests.e2e.conftest import october_session, write_session

DAY = "2013-10-08"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_day_run(capsys, tmp_path: Path, store: Path) -> tuple[str, str, Path]:
    """(log URL, run id, session file) of a finished one-day run on `store`."""
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = october_session(store, log_url, start=DAY, end=DAY, scanner=None, strategy=None)
    path = write_session(tmp_path / "s.yaml", session)
    code, out, err = cli(capsys, "run", str(path), "--json", "--quiet")
    assert code == 0, err
    return log_url, json.loads(out)["run_id"], path


def record_code_version(log_url: str, run_id: str, text: str) -> None:
    """What an older daytape, or the same one beside other libraries, would have written."""
    with open_store(log_url) as store, store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(code_version=text))


def mark_unfinished(log_url: str, run_id: str) -> None:
    """As a run killed after its last session ended but before it was marked finished: a resume has work
    to do (a finished run's resume changes nothing, whatever changed since)."""
    with open_store(log_url) as store, store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(status="running"))


def event_count(log_url: str, run_id: str) -> int:
    with open_store(log_url) as store:
        return len(store.events(run_id))


def with_numpy(version: str) -> str:
    return re.sub(r"numpy [^;]+", f"numpy {version}", code_version())


# --- the code version ----------------------------------------------------------------------------


def test_the_code_version_names_the_source_digest_python_and_each_library():
    parts = code_version().split("; ")
    assert re.fullmatch(r"daytape \S+ src [0-9a-f]{12}", parts[0])
    assert re.fullmatch(r"python \d+\.\d+\.\d+\S*", parts[1])
    assert [part.split(" ")[0] for part in parts[2:]] == list(LIBRARIES)
    assert all(len(part.split(" ")) == 2 for part in parts[2:])


def test_the_source_digest_follows_the_code_not_the_checkout(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_bytes(b"x = 1\n")
    (package / "sub" / "b.py").write_bytes(b"y = 2\n")
    roots = [("pkg", package)]
    first = digest_sources(roots)
    assert re.fullmatch(r"[0-9a-f]{12}", first)

    (package / "a.pyc").write_bytes(b"compiled")
    (package / "notes.txt").write_text("not code")
    (package / "a.py").write_bytes(b"x = 1\r\n")
    assert digest_sources(roots) == first, "caches, other files and line endings are not code"

    (package / "sub" / "b.py").write_bytes(b"y = 3\n")
    assert digest_sources(roots) != first
    (package / "sub" / "b.py").write_bytes(b"y = 2\n")
    (package / "sub" / "b.py").rename(package / "b.py")
    assert digest_sources(roots) != first, "a moved module is a change"


def test_code_changes_are_named_part_by_part():
    now = code_version()
    assert code_changes(now, now) == []
    assert code_changes(with_numpy("1.26.0"), now) == [f"numpy 1.26.0 -> {now.split('numpy ')[1].split(';')[0]}"]
    source = re.sub(r"src [0-9a-f]{12}", "src 000000000000", now)
    [change] = code_changes(source, now)
    assert change.startswith("daytape ") and "src 000000000000 -> " in change
    older = "daytape 0.1.0 (python 3.11.7)"
    assert code_changes(older, now) == [f"{older!r} -> {now!r}"]


def test_manifest_notes_say_what_differs_for_people():
    notes = manifest_notes({"data_digest": ("aa", "bb"), "code_version": (with_numpy("1.26.0"), code_version())})
    assert notes[0] == "the runs differ in their data (the bar store's digest): A aa, B bb"
    assert notes[1].startswith("the runs differ in their code: numpy 1.26.0 -> ")


# --- diff, verify and resume on real runs ----------------------------------------------------------


def test_a_run_records_the_code_version_and_runs_lists_it(capsys, tmp_path, lean_store_root):
    log_url, run_id, _ = one_day_run(capsys, tmp_path, lean_store_root)
    code, out, _ = cli(capsys, "runs", "--log", log_url, "--json")
    assert code == 0
    [run] = json.loads(out)
    assert run["run_id"] == run_id and run["code_version"] == code_version()
    assert re.fullmatch(r"[0-9a-f]{64}", run["data_digest"]) and re.fullmatch(r"[0-9a-f]{64}", run["config_hash"])


def test_diff_and_verify_name_a_code_change(capsys, tmp_path, lean_store_root):
    log_url, run_id, path = one_day_run(capsys, tmp_path, lean_store_root)
    code, out, _ = cli(capsys, "run", str(path), "--json", "--quiet")
    assert code == 0
    other = json.loads(out)["run_id"]
    record_code_version(log_url, run_id, with_numpy("1.26.0"))

    code, out, _ = cli(capsys, "diff", run_id, other, "--log", log_url)
    assert code == 0, "the same events"
    assert "diff: the runs differ in their code: numpy 1.26.0 -> " in out
    code, out, _ = cli(capsys, "diff", run_id, other, "--log", log_url, "--json")
    document = json.loads(out)
    assert document["same"] is True
    assert document["manifest_differences"] == {"code_version": {"a": with_numpy("1.26.0"), "b": code_version()}}

    code, out, _ = cli(capsys, "verify", run_id, "--log", log_url, "--quiet")
    assert code == 0
    assert out.startswith(f"deterministic: run {run_id}") and "the code differs: numpy 1.26.0 -> " in out
    code, out, _ = cli(capsys, "verify", run_id, "--log", log_url, "--json", "--quiet")
    document = json.loads(out)
    assert document["deterministic"] is True and document["code_changes"][0].startswith("numpy 1.26.0 -> ")


def test_resume_refuses_other_code_and_keeps_the_run(capsys, tmp_path, lean_store_root):
    log_url, run_id, path = one_day_run(capsys, tmp_path, lean_store_root)
    record_code_version(log_url, run_id, with_numpy("1.26.0"))
    mark_unfinished(log_url, run_id)
    before = event_count(log_url, run_id)
    code, _, err = cli(capsys, "run", str(path), "--resume", run_id, "--quiet")
    assert code == 2
    assert f"cannot resume run {run_id}: the code changed since it started (numpy 1.26.0 -> " in err
    assert "start a new run instead" in err and len(err.strip().splitlines()) == 1
    assert event_count(log_url, run_id) == before
    with open_store(log_url) as store, store.engine.connect() as conn:
        status = conn.execute(select(runs.c.status).where(runs.c.run_id == run_id)).scalar_one()
    assert status == "running"


def test_resume_refuses_a_changed_bar_store(capsys, tmp_path, lean_store_root):
    store = shutil.copytree(lean_store_root, tmp_path / "store")
    log_url, run_id, path = one_day_run(capsys, tmp_path, store)
    mark_unfinished(log_url, run_id)
    before = event_count(log_url, run_id)
    day_file = store / "1m" / "symbol=SPY" / f"{DAY}.parquet"
    day_file.write_bytes((store / "1m" / "symbol=SPY" / "2013-10-09.parquet").read_bytes())
    code, _, err = cli(capsys, "run", str(path), "--resume", run_id, "--quiet")
    assert code == 2
    assert f"the bar store {store} changed since it started (its data digest differs: 1m/symbol=SPY/{DAY}" in err
    assert event_count(log_url, run_id) == before


def test_a_resume_of_the_same_code_and_data_still_finishes(capsys, tmp_path, lean_store_root):
    """The refusal is for changes only: with both as recorded, a finished run resumes to itself."""
    _log_url, run_id, path = one_day_run(capsys, tmp_path, lean_store_root)
    code, out, err = cli(capsys, "run", str(path), "--resume", run_id, "--json", "--quiet")
    assert code == 0, err
    assert json.loads(out)["run_id"] == run_id and json.loads(out)["status"] == "completed"
