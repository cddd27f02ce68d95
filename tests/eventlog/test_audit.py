"""The audit on both backends: clean on a written log, and the first bad event of an edited, deleted or
reordered row, an illegal transition and a column that disagrees with its payload, through
`audit_run` and `daytape audit --json` alike."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from daytape.cli import main
from eventlog.audit import audit_run
from eventlog.manifest import RunManifest
from eventlog.reading import read_events
from eventlog.store import EventStore
from specs import events as ev
from tests.eventlog import tamper
from tests.eventlog.streams import flatten, small_run

DAY2 = dt.date(2013, 10, 10)


def _execute(store: EventStore, sql: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _tamper(store: EventStore, run_id: str, seq: int, change: str, **params) -> None:
    """`change` (an UPDATE's SET clause, or DELETE) on the row `seq` of DAY2's stream."""
    statement = "DELETE FROM events" if change == "DELETE" else f"UPDATE events SET {change}"
    where = " WHERE run_key = :r AND session_date = :d AND seq = :s"
    _execute(store, statement + where, r=tamper.run_key(store, run_id), d=store.db_date(DAY2), s=seq, **params)


def _row(store: EventStore, run_id: str, day: dt.date, kind: str) -> tuple[int, str]:
    rows = read_events(store, run_id, session_date=day, kinds=[kind])
    return rows[0].seq, rows[0].payload_json


def _audit_cli(log_url: str, run_id: str, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["audit", run_id, "--log", log_url, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


def test_audit_is_clean_on_a_written_log(written, log_url, capsys):
    store, run_id = written
    report = audit_run(store, run_id)
    assert report.ok and report.streams == 3 and report.events == sum(len(flatten(b)) for b in small_run().values())
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 0 and document["ok"] is True and document["first_bad"] is None


def test_audit_reports_an_edited_payload(written, log_url, capsys):
    store, run_id = written
    seq, payload = _row(store, run_id, DAY2, "HistoricalLoaded")
    edited = json.dumps({**json.loads(payload), "rows": 1}, sort_keys=True, separators=(",", ":"))
    _tamper(store, run_id, seq, "payload = :p", p=tamper.stored_payload(edited))
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.session_date, bad.seq, bad.kind) == (DAY2, seq, "HistoricalLoaded")
    assert "hash does not match" in bad.why
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 1
    assert document["first_bad"] == {"stream": "2013-10-10", "seq": seq, "kind": "HistoricalLoaded", "why": bad.why}


def test_audit_reports_a_deleted_row(written, log_url, capsys):
    store, run_id = written
    seq, _ = _row(store, run_id, DAY2, "IndicatorRegistered")
    _tamper(store, run_id, seq, "DELETE")
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.session_date, bad.seq) == (DAY2, seq)
    assert "missing" in bad.why
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 1 and document["first_bad"]["seq"] == seq and document["first_bad"]["stream"] == "2013-10-10"


def test_audit_reports_two_swapped_rows(written, log_url, capsys):
    store, run_id = written
    seq, _ = _row(store, run_id, DAY2, "IntervalAdded")
    _tamper(store, run_id, seq, "seq = -1")
    _tamper(store, run_id, seq + 1, "seq = :n", n=seq)
    _tamper(store, run_id, -1, "seq = :n", n=seq + 1)
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.session_date, bad.seq) == (DAY2, seq)
    assert "chained from the row before" in bad.why
    code, document = _audit_cli(log_url, run_id, capsys)
    assert code == 1 and document["first_bad"]["seq"] == seq


def test_audit_reports_an_illegal_transition_with_a_valid_chain(store):
    """A chain rehashed by hand still has to obey the lifecycle tables."""
    run_id = store.create_run(RunManifest(name="illegal"))
    day = dt.date(2013, 10, 9)
    store.append(run_id, day, [ev.TeardownStarted(session_date=day), ev.StreamingStarted()])
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.seq, bad.kind) == (2, "StreamingStarted")
    assert "cannot StreamingStarted from state tearing_down" in bad.why


def test_audit_reports_a_column_that_disagrees_with_its_payload(written):
    store, run_id = written
    seq, _ = _row(store, run_id, DAY2, "SymbolCreated")
    _tamper(store, run_id, seq, "symbol = 'XXX'")
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and bad.seq == seq and "column symbol 'XXX'" in bad.why


def test_audit_reports_a_time_column_that_disagrees_with_its_payload(written):
    store, run_id = written
    timed = [row for row in read_events(store, run_id, session_date=DAY2) if row.sim_time is not None]
    seq, recorded = timed[0].seq, timed[0].sim_time
    _tamper(store, run_id, seq, "sim_time = :t", t=store.db_time(recorded + dt.timedelta(minutes=1)))
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and bad.seq == seq and "column sim_time" in bad.why
    _tamper(store, run_id, seq, "sim_time = NULL")
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and bad.seq == seq and "column sim_time None" in bad.why
