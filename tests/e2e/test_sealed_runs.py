"""Sealed runs on the real LEAN data: the seal from `run` to `runs`, `export` and `audit --seal`; an edited
config named by `audit` and `verify`; a resume that leaves the finished days' rows as they were."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from daytape.cli import main
from daytape.resume import resume_run
from daytape.runner import RunOptions
from eventlog.schema import events, runs
from eventlog.store import open_store
from tests.e2e.conftest import october_session, write_session
from tests.eventlog import tamper

DAYS = [dt.date(2013, 10, 8), dt.date(2013, 10, 9), dt.date(2013, 10, 10)]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def plain_session(tmp_path: Path, store: Path, **overrides: object) -> tuple[str, Path]:
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = october_session(store, log_url, scanner=None, strategy=None, **overrides)
    return log_url, write_session(tmp_path / "s.yaml", session)


def test_the_seal_goes_from_run_to_runs_export_and_audit(capsys, tmp_path, lean_store_root):
    log_url, path = plain_session(tmp_path, lean_store_root, start="2013-10-08", end="2013-10-08")
    code, out, err = cli(capsys, "run", str(path))
    assert code == 0, err
    run_id = out.strip()
    with open_store(log_url) as store:
        seal = tamper.reference_seal(store, run_id)
    assert f"  seal {seal}" in err.splitlines()

    code, out, err = cli(capsys, "run", str(path), "--json", "--quiet")
    document = json.loads(out)
    assert err == "", "--quiet: nothing on stderr"
    assert code == 0 and document["seal"] == seal, "the same events from the same manifest seal alike"
    code, out, _ = cli(capsys, "runs", "--log", log_url, "--json")
    assert [run["seal"] for run in json.loads(out)] == [seal, seal]
    code, out, _ = cli(capsys, "export", run_id, "--format", "json", "--log", log_url)
    assert code == 0 and json.loads(out)["seal"] == seal
    code, out, _ = cli(capsys, "export", run_id, "--format", "csv", "--log", log_url)
    header, *rows = out.splitlines()
    assert header.endswith(",seal") and rows and all(row.endswith("," + seal) for row in rows)
    code, out, _ = cli(capsys, "audit", run_id, "--log", log_url, "--seal", seal)
    assert code == 0 and "clean" in out


def test_an_edited_config_is_named_by_audit_and_verify_not_blamed_on_the_code(capsys, tmp_path, lean_store_root):
    log_url, path = plain_session(tmp_path, lean_store_root, start="2013-10-08", end="2013-10-08")
    code, out, _ = cli(capsys, "run", str(path), "--quiet")
    run_id = out.strip()
    with open_store(log_url) as store:
        config = json.loads(store.fetch("SELECT config_json FROM runs WHERE run_id = ?", (run_id,))[0][0])
        config["indicators"][0]["period"] = 30
        tamper.set_run(store, run_id, config_json=json.dumps(config, sort_keys=True))
    code, out, _ = cli(capsys, "audit", run_id, "--log", log_url)
    assert code == 1 and "config_json does not hash to config_hash" in out
    code, out, _ = cli(capsys, "verify", run_id, "--log", log_url, "--quiet")
    assert code == 1
    assert "its recorded config was altered after the run" in out and "code" not in out
    code, out, _ = cli(capsys, "verify", run_id, "--log", log_url, "--quiet", "--json")
    document = json.loads(out)
    assert code == 1 and document["config_altered"] is True and document["deterministic"] is False


def test_audit_checks_every_session_the_config_names(capsys, tmp_path, lean_store_root):
    """A day whose events and sessions row are both gone, the stored seal recomputed without it: the
    config still names the session."""
    log_url, path = plain_session(tmp_path, lean_store_root, start="2013-10-08", end="2013-10-09")
    code, out, _ = cli(capsys, "run", str(path), "--quiet")
    run_id = out.strip()
    with open_store(log_url) as store:
        store.delete_stream(run_id, DAYS[1])
        tamper.set_run(store, run_id, seal=tamper.reference_seal(store, run_id))
    code, out, _ = cli(capsys, "audit", run_id, "--log", log_url)
    assert code == 1 and "2013-10-09" in out and "the run's config lists this session" in out


def _rows(log_url: str, run_id: str) -> dict[dt.date, list[tuple]]:
    with open_store(log_url) as store, store.engine.connect() as conn:
        query = (
            select(events.c.session_date, events.c.seq, events.c.recorded_at, events.c.hash)
            .where(events.c.run_key == tamper.run_key(store, run_id))
            .order_by(events.c.session_date, events.c.seq)
        )
        found: dict[dt.date, list[tuple]] = {}
        for row in conn.execute(query):
            found.setdefault(row.session_date, []).append(tuple(row)[1:])
        return found


def test_a_resume_leaves_the_finished_days_rows_untouched(capsys, tmp_path, lean_store_root):
    """Killed 40 events into its last day (the log as a kill leaves it: the stream's prefix, the run
    running, unsealed); the resume must keep the first two days' rows (same seqs, recorded times and hashes)
    and redo the last day only."""
    log_url, path = plain_session(tmp_path, lean_store_root)
    code, out, err = cli(capsys, "run", str(path), "--quiet")
    assert code == 0, err
    run_id = out.strip()
    with open_store(log_url) as store:
        tamper.delete_events(store, run_id, DAYS[2], after_seq=40)
        tamper.set_recorded(store, run_id, DAYS[2], last_seq=40, status="running", end_seq=None)
        tamper.set_run(store, run_id, status="running", finished_at=None, seal=None)
    before = _rows(log_url, run_id)
    code, out, _ = cli(capsys, "audit", run_id, "--log", log_url)
    assert code == 1 and "not closed: 2013-10-10" in out and f"daytape run FILE --resume {run_id}" in out

    with open_store(log_url) as store:
        result = resume_run(store, run_id, RunOptions())
    assert result.status == "completed" and result.seal is not None
    after = _rows(log_url, run_id)
    assert after[DAYS[0]] == before[DAYS[0]] and after[DAYS[1]] == before[DAYS[1]], "finished days were redone"
    assert [row[0] for row in after[DAYS[2]]] == list(range(1, len(after[DAYS[2]]) + 1))
    assert len(after[DAYS[2]]) > 40, "the open day is run again to its end"

    code, out, _ = cli(capsys, "run", str(path), "--json", "--quiet")
    clean = json.loads(out)
    assert clean["seal"] == result.seal, "the resumed run seals as a clean run of the same config"
    assert cli(capsys, "diff", run_id, clean["run_id"], "--log", log_url)[0] == 0
    code, out, _ = cli(capsys, "audit", run_id, "--log", log_url, "--seal", result.seal)
    assert code == 0 and "clean" in out
    with open_store(log_url) as store, store.engine.connect() as conn:
        assert conn.execute(select(runs.c.seal).where(runs.c.run_id == run_id)).scalar_one() == result.seal


def test_a_resume_refuses_a_run_whose_finished_days_fail_verification(capsys, tmp_path, lean_store_root):
    """Resuming would build on the forged day and seal it: refused, and the log left as it was."""
    log_url, path = plain_session(tmp_path, lean_store_root, start="2013-10-08", end="2013-10-09")
    code, out, _ = cli(capsys, "run", str(path), "--quiet")
    run_id = out.strip()
    with open_store(log_url) as store:
        tamper.delete_events(store, run_id, DAYS[1], after_seq=40)
        tamper.set_recorded(store, run_id, DAYS[1], last_seq=40, status="running", end_seq=None)
        tamper.set_run(store, run_id, status="running", finished_at=None, seal=None)
        seq = tamper.first_seq(store, run_id, DAYS[0], "SymbolCreated", "SPY")
        tamper.forge_payload(store, run_id, DAYS[0], seq, '"added_by":"config"', '"added_by":"strategy"')
    before = _rows(log_url, run_id)
    code, _, err = cli(capsys, "run", str(path), "--resume", run_id, "--quiet")
    assert code == 2 and f"cannot resume run {run_id}" in err
    assert f"the stream 2013-10-08 fails verification at seq {seq}" in err and len(err.strip().splitlines()) == 1
    assert _rows(log_url, run_id) == before
    with open_store(log_url) as store, store.engine.connect() as conn:
        assert conn.execute(select(runs.c.status).where(runs.c.run_id == run_id)).scalar_one() == "running"
