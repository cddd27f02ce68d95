"""The log commands: exit codes, --json shapes and the log URL's resolution order."""

from __future__ import annotations

import json

import pytest

from daytape.cli import main
from daytape.logurl import DEFAULT_LOG_URL, resolve_log_url
from eventlog.store import open_store
from tests.eventlog.conftest import write_run


@pytest.fixture
def cli_log(sqlite_url):
    with open_store(sqlite_url) as store:
        a, b = write_run(store, "a"), write_run(store, "b", days=2)
    return sqlite_url, a, b


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_json(cli_log, capsys):
    url, a, b = cli_log
    code, out, _ = run(capsys, "runs", "--log", url, "--json")
    assert code == 0
    document = json.loads(out)
    assert [r["run_id"] for r in document] == [a, b]
    assert set(document[0]) >= {"run_id", "name", "status", "started_at", "finished_at", "sessions"}
    assert [r["sessions"] for r in document] == [3, 2]


def test_replay_json_is_the_export_shape(cli_log, capsys):
    url, a, _ = cli_log
    code, out, _ = run(capsys, "replay", a[:6], "--date", "2013-10-10", "--json", "--log", url)
    assert code == 0
    document = json.loads(out)
    assert document["run_id"] == a and document["date"] == "2013-10-10" and document["session_state"] == "ended"
    spy = document["symbols"]["SPY"]
    assert set(spy) >= {"symbol", "state", "base_interval", "metadata", "bars", "historical", "indicators"}
    assert set(spy["metadata"]) == {
        "meets_session_config_requirements",
        "added_by",
        "auto_provisioned",
        "added_at",
        "upgraded_from_adhoc",
    }
    code, out, _ = run(capsys, "replay", a, "--until", "2", "--symbol", "spy", "--json", "--log", url)
    assert code == 0 and json.loads(out)["session_state"] == "loading" and json.loads(out)["symbols"] == {}
    code, out, _ = run(capsys, "replay", a, "--until", "2013-10-11T14:30:00Z", "--json", "--log", url)
    assert json.loads(out)["symbols"]["TSLA"]["state"] == "adhoc"


def test_replay_text(cli_log, capsys):
    url, a, _ = cli_log
    code, out, _ = run(capsys, "replay", a, "--log", url)
    assert code == 0 and "session ended" in out and "TSLA" in out


def test_explain_json_and_text(cli_log, capsys):
    url, a, _ = cli_log
    code, out, _ = run(capsys, "explain", a, "TSLA", "--indicator", "rsi_14_1m", "--json", "--log", url)
    assert code == 0
    document = json.loads(out)
    assert document["present"] is True and document["target"] == {"type": "indicator", "key": "rsi_14_1m"}
    assert document["requests"][0]["source"] == "scanner"
    code, out, _ = run(capsys, "explain", a, "ZZZZ", "--log", url)
    assert code == 0 and "NOT present" in out and "why not" in out


def test_audit_and_diff_exit_codes(cli_log, capsys):
    url, a, b = cli_log
    code, out, _ = run(capsys, "audit", a, "--log", url)
    assert code == 0 and "clean" in out
    code, out, err = run(capsys, "diff", a, b, "--log", url, "--json")
    assert code == 1
    document = json.loads(out)
    assert document["same"] is False and document["first_divergence"]["date"] == "2013-10-11"
    assert "diverge" in err
    code, _, _ = run(capsys, "diff", a, a, "--log", url)
    assert code == 0


def test_export_json_and_csv(cli_log, capsys, tmp_path):
    url, a, _ = cli_log
    target = tmp_path / "state.csv"
    code, _, _ = run(capsys, "export", a, "--format", "csv", "--out", str(target), "--log", url)
    assert code == 0
    lines = target.read_text().splitlines()
    assert lines[0].startswith("date,symbol,state,") and len(lines) == 1 + 4
    code, out, _ = run(capsys, "export", a, "--date", "2013-10-09", "--format", "json", "--log", url)
    assert code == 0 and json.loads(out)["date"] == "2013-10-09"


def test_bad_input_exits_2_with_one_line(cli_log, capsys, tmp_path):
    url, a, _ = cli_log
    for args, needle in [
        (("replay", "nope", "--log", url), "unknown run id 'nope'"),
        (("replay", a, "--date", "2013-10-14", "--log", url), "has no stream for 2013-10-14"),
        (("replay", a, "--date", "10/14", "--log", url), "expected a session date"),
        (("replay", a, "--until", "soon", "--log", url), "--until 'soon'"),
        (("export", a, "--format", "xml", "--log", url), "unknown format 'xml'"),
        (("runs", "--log", f"sqlite:///{tmp_path / 'missing.db'}"), "no event log at"),
        (("runs", "--log", "mysql://x/y"), "unsupported log URL scheme"),
    ]:
        code, _out, err = run(capsys, *args)
        assert code == 2, args
        assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "missing.db").exists()


def test_db_upgrade_creates_a_log(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, out, err = run(capsys, "db", "upgrade", "--log", url)
    assert code == 0 and "-> 0005" in out and err == ""  # the result on stdout, as every command's
    code, out, _ = run(capsys, "db", "current", "--log", url, "--json")
    assert json.loads(out) == {"log": url, "current": "0005", "head": "0005"}


def test_log_url_resolution_order(monkeypatch):
    monkeypatch.delenv("DAYTAPE_LOG_URL", raising=False)
    assert resolve_log_url(None) == DEFAULT_LOG_URL == "sqlite:///daytape.db"
    assert resolve_log_url(None, "sqlite:///from-session.db") == "sqlite:///from-session.db"
    monkeypatch.setenv("DAYTAPE_LOG_URL", "sqlite:///from-env.db")
    assert resolve_log_url(None, "sqlite:///from-session.db") == "sqlite:///from-env.db"
    assert resolve_log_url("sqlite:///from-flag.db", "sqlite:///from-session.db") == "sqlite:///from-flag.db"


def test_log_commands_read_the_environment(cli_log, capsys, monkeypatch):
    url, a, _ = cli_log
    monkeypatch.setenv("DAYTAPE_LOG_URL", url)
    code, out, _ = run(capsys, "runs", "--json")
    assert code == 0 and json.loads(out)[0]["run_id"] == a
