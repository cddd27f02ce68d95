"""A recorded run is provable: truncation, forged payloads, edited columns or config, and open runs are
all found by the audit; the seal finds even a rewrite that recomputed every hash; readers refuse a
stream that fails verification (issue 16, findings 1, 2, 3 and 11)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest

from daytape.cli import main
from eventlog.audit import audit_run
from eventlog.diff import diff_runs
from eventlog.errors import TamperedStream
from eventlog.explain import explain
from eventlog.reading import get_run, list_runs, read_events
from eventlog.replay import replay_day
from eventlog.schema import events
from eventlog.store import EventStore
from specs import events as ev
from tests.eventlog import tamper
from tests.eventlog.conftest import write_run
from tests.eventlog.streams import flatten, small_run

DAYS = list(small_run())
DAY1, DAY2, DAY3 = DAYS


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def events_in(day: dt.date) -> int:
    return len(flatten(small_run()[day]))


# --- finding 1: truncation -------------------------------------------------------------------------


def _last_event_of_a_day(store: EventStore, run_id: str) -> dt.date:
    tamper.delete_events(store, run_id, DAY2, after_seq=events_in(DAY2) - 1)
    return DAY2


def _last_events_of_the_run(store: EventStore, run_id: str) -> dt.date:
    tamper.delete_events(store, run_id, DAY3, after_seq=events_in(DAY3) - 5)
    return DAY3


def _stream_after_seq_40(store: EventStore, run_id: str) -> dt.date:
    tamper.delete_events(store, run_id, DAY2, after_seq=40)
    return DAY2


def _whole_stream(store: EventStore, run_id: str) -> dt.date:
    tamper.delete_events(store, run_id, DAY1)
    return DAY1


TRUNCATIONS = [_last_event_of_a_day, _last_events_of_the_run, _stream_after_seq_40, _whole_stream]


@pytest.mark.parametrize("truncate", TRUNCATIONS, ids=lambda f: f.__name__.strip("_"))
def test_a_truncated_log_fails_the_audit(written, truncate, capsys):
    store, run_id = written
    assert audit_run(store, run_id).ok
    day = truncate(store, run_id)
    report = audit_run(store, run_id)
    assert not report.ok and report.first_bad is not None
    assert report.first_bad.session_date == day
    assert re.search(r"cut off its end|its stream has no events", report.first_bad.why)
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url)
    assert code == 1 and f"first bad event: {day.isoformat()}" in out and "clean" not in out


@pytest.mark.parametrize("truncate", TRUNCATIONS, ids=lambda f: f.__name__.strip("_"))
def test_a_truncation_that_also_rewrites_the_sessions_table_is_still_found(written, truncate):
    """The forger makes `sessions` agree with the cut stream: the day is no longer closed, or the
    stored seal no longer matches the log."""
    store, run_id = written
    day = truncate(store, run_id)
    remaining = tamper.rows_of(store, run_id, day)
    if remaining:
        tamper.set_recorded(store, run_id, day, last_seq=remaining[-1].seq)
    else:
        from sqlalchemy import delete

        from eventlog.schema import sessions

        with store.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.run_id == run_id, sessions.c.session_date == day))
    report = audit_run(store, run_id)
    assert not report.ok and report.first_bad is not None
    assert re.search(r"says completed but this day is|seal .* does not match the log|events say", str(report.first_bad))


def test_a_whole_run_rewritten_with_every_hash_recomputed_is_found_only_by_the_seal_kept_elsewhere(written, capsys):
    store, run_id = written
    kept = get_run(store, run_id).seal
    assert kept == tamper.reference_seal(store, run_id)
    seq = tamper.first_seq(store, run_id, DAY2, "SymbolCreated", "SPY")
    tamper.forge_payload(store, run_id, DAY2, seq, '"added_by":"config"', '"added_by":"strategy"')
    tamper.rechain(store, run_id, DAY2)
    tamper.set_run(store, run_id, seal=tamper.reference_seal(store, run_id))
    assert audit_run(store, run_id).ok, "a perfect forgery passes every check made within the log"
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url, "--seal", kept)
    assert code == 1 and f"not to the seal given ({kept})" in out
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url, "--seal", kept, "--json")
    document = json.loads(out)
    assert document["ok"] is False and document["given_seal"] == kept and "given seal" in document["checked"]


def test_the_seal_is_stored_when_a_run_ends_and_matches_its_definition(store):
    run_id = write_run(store, finish=False)
    assert get_run(store, run_id).seal is None
    seal = store.finish_run(run_id, "completed")
    assert seal == get_run(store, run_id).seal == tamper.reference_seal(store, run_id)
    twin = write_run(store, name="twin")
    assert get_run(store, twin).seal == seal, "the seal, like the hashes, does not depend on the run id"
    store.finish_run(run_id, "running")
    assert get_run(store, run_id).seal is None, "a resumed run is unsealed until it ends again"
    assert [run.summary()["seal"] for run in list_runs(store)] == [None, seal]


def test_audit_with_the_right_seal_passes_and_a_malformed_one_is_bad_input(written, capsys):
    store, run_id = written
    seal = get_run(store, run_id).seal
    code, out, _ = cli(capsys, "audit", run_id[:8], "--log", store.url, "--seal", seal.upper())
    assert code == 0 and f"seal {seal} (matches the seal given), clean" in out
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url, "--json")
    document = json.loads(out)
    assert document["ok"] is True and document["seal"] == document["stored_seal"] == seal
    assert {"stream ends", "streams closed", "run status", "config hash", "seal", "envelope"} <= set(
        document["checked"]
    )
    code, _, err = cli(capsys, "audit", run_id, "--log", store.url, "--seal", "abc")
    assert code == 2 and "--seal 'abc'" in err and len(err.strip().splitlines()) == 1


def test_an_edited_stored_seal_or_a_missing_one_fails(written):
    store, run_id = written
    tamper.set_run(store, run_id, seal="0" * 64)
    assert "does not match the log" in str(audit_run(store, run_id).first_bad)
    tamper.set_run(store, run_id, seal=None)
    assert "has no seal stored" in str(audit_run(store, run_id).first_bad)


# --- finding 3: the config --------------------------------------------------------------------------


def test_an_edited_config_fails_the_audit(written, capsys):
    store, run_id = written
    config = json.loads(get_run(store, run_id).config_json)
    tamper.set_run(store, run_id, config_json=json.dumps({**config, "symbols": ["SPY"]}))
    report = audit_run(store, run_id)
    assert report.first_bad is not None and "config_json does not hash to config_hash" in report.first_bad.why
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url)
    assert code == 1 and "the run's recorded config was altered" in out


# --- the run's status, its days, open runs ----------------------------------------------------------


def test_an_open_run_is_not_clean_and_says_how_to_resume(store, capsys):
    run_id = write_run(store, finish=False)
    report = audit_run(store, run_id)
    assert report.first_bad is None and report.is_open and not report.ok
    assert audit_run(store, run_id, allow_open=True).ok
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url)
    assert code == 1 and "open (status running)" in out and f"daytape run FILE --resume {run_id}" in out
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url, "--allow-open")
    assert code == 0 and "open (" in out
    store.finish_run(run_id, "interrupted")
    code, out, _ = cli(capsys, "audit", run_id, "--log", store.url, "--json")
    document = json.loads(out)
    assert code == 1 and document["open"] is True and document["status"] == "interrupted"


def test_audit_names_the_day_that_is_not_closed(store):
    """Killed between the day's SessionEnded and its teardown: that day is open."""
    run_id = store.create_run(write_manifest())
    sink = store.sink(run_id)
    for day, batches in small_run(2).items():
        for batch in batches if day == DAY1 else batches[:-1]:
            sink.append(day, batch)
    store.finish_run(run_id, "interrupted")
    report = audit_run(store, run_id)
    assert report.first_bad is None and report.open_days == [DAY2]
    assert "not closed: 2013-10-10" in report.open_reason


def write_manifest():
    from eventlog.manifest import RunManifest

    return RunManifest(name="partial", config_json="{}")


def test_the_run_status_must_agree_with_its_days(written):
    store, run_id = written
    tamper.set_run(store, run_id, status="failed")
    store.finish_run(run_id, "failed")
    assert "says failed but every day ended" in str(audit_run(store, run_id).first_bad)


def test_a_completed_run_with_a_day_not_closed_is_inconsistent(store):
    run_id = store.create_run(write_manifest())
    sink = store.sink(run_id)
    for batch in small_run(1)[DAY1][:-1]:
        sink.append(DAY1, batch)
    store.finish_run(run_id, "completed")
    assert "says completed but this day is open" in str(audit_run(store, run_id).first_bad)


def test_every_session_the_config_lists_must_have_a_stream(written):
    store, run_id = written
    assert audit_run(store, run_id, listed_days=DAYS).ok
    extra = dt.date(2013, 10, 14)
    report = audit_run(store, run_id, listed_days=[*DAYS, extra])
    assert report.first_bad is not None and report.first_bad.session_date == extra
    assert "lists this session" in report.first_bad.why


def test_the_recorded_status_and_end_must_agree_with_the_events(written):
    store, run_id = written
    tamper.set_recorded(store, run_id, DAY1, status="failed")
    assert "records the day as failed but its events say ended" in str(audit_run(store, run_id).first_bad)
    tamper.set_recorded(store, run_id, DAY1, status="ended", end_seq=3)
    assert "SessionEnded at seq 3" in str(audit_run(store, run_id).first_bad)


# --- finding 11 (d): the indexed columns against the hashed payload ---------------------------------


COLUMN_EDITS = {
    "request_id": ("SymbolCreated", {"request_id": "20131010-9999"}, "column request_id '20131010-9999'"),
    "symbol": ("SymbolCreated", {"symbol": "XXX"}, "column symbol 'XXX'"),
    "kind": ("SymbolCreated", {"kind": "SymbolUpgraded"}, "column kind 'SymbolUpgraded' but the payload is a"),
    "sim_time": (
        "StreamingStarted",
        {"sim_time": dt.datetime(2013, 10, 10, 14, 31, tzinfo=dt.UTC)},
        "column sim_time 2013-10-10",
    ),
    "sim_time where the payload has none": (
        "LoadingStarted",
        {"sim_time": dt.datetime(2013, 10, 10, 14, 30, tzinfo=dt.UTC)},
        "but the payload has none",
    ),
}


@pytest.mark.parametrize("column", list(COLUMN_EDITS))
def test_audit_cross_checks_each_indexed_column_against_the_payload(written, column):
    store, run_id = written
    kind, values, needle = COLUMN_EDITS[column]
    seq = tamper.first_seq(store, run_id, DAY2, kind)
    tamper.set_event(store, run_id, DAY2, seq, **values)
    report = audit_run(store, run_id)
    assert report.first_bad is not None, f"an edited {column} column passed the audit"
    assert (report.first_bad.session_date, report.first_bad.seq) == (DAY2, seq)
    assert needle in report.first_bad.why


# --- finding 2: every read verifies -----------------------------------------------------------------


def forge_added_by(store: EventStore, run_id: str) -> int:
    seq = tamper.first_seq(store, run_id, DAY3, "SymbolCreated", "SPY")
    tamper.forge_payload(store, run_id, DAY3, seq, '"added_by":"config"', '"added_by":"strategy"')
    return seq


def test_replay_export_and_explain_refuse_a_forged_payload(written, capsys):
    store, run_id = written
    seq = forge_added_by(store, run_id)
    where = f"the stream 2013-10-11 fails verification at seq {seq} (SymbolCreated): hash does not match the payload"
    for command in (
        ["replay", run_id, "--json"],
        ["export", run_id, "--format", "json"],
        ["export", run_id, "--format", "csv"],
        ["explain", run_id, "SPY", "--json"],
    ):
        code, out, err = cli(capsys, *command, "--log", store.url)
        assert code == 1, command
        assert out == "", "nothing forged reaches stdout"
        assert where in err and err.startswith(command[0] + ":") and len(err.strip().splitlines()) == 1
    code, out, _ = cli(capsys, "replay", run_id, "--json", "--no-verify", "--log", store.url)
    assert code == 0 and json.loads(out)["symbols"]["SPY"]["metadata"]["added_by"] == "strategy"
    code, out, _ = cli(capsys, "export", run_id, "--format", "json", "--no-verify", "--log", store.url)
    assert code == 0 and json.loads(out)["symbols"]["SPY"]["metadata"]["added_by"] == "strategy"
    code, out, _ = cli(capsys, "explain", run_id, "SPY", "--no-verify", "--log", store.url)
    assert code == 0 and "added by strategy" in out


def test_the_python_readers_refuse_a_forged_payload(written):
    store, run_id = written
    seq = forge_added_by(store, run_id)
    for read in (
        lambda: replay_day(store, run_id, DAY3),
        lambda: replay_day(store, run_id, DAY3, until_seq=2),
        lambda: read_events(store, run_id, symbol="SPY"),
        lambda: explain(store, run_id, "SPY", session_date=DAY3),
    ):
        with pytest.raises(TamperedStream) as caught:
            read()
        assert (caught.value.session_date, caught.value.seq, caught.value.kind) == (DAY3, seq, "SymbolCreated")
    assert replay_day(store, run_id, DAY2).symbols["SPY"].added_by == "config", "other days read as before"
    assert replay_day(store, run_id, DAY3, verify=False).symbols["SPY"].added_by == "strategy"


def test_readers_refuse_a_truncated_stream(written, capsys):
    store, run_id = written
    tamper.delete_events(store, run_id, DAY3, after_seq=events_in(DAY3) - 1)
    with pytest.raises(TamperedStream, match="cut off its end"):
        replay_day(store, run_id, DAY3)
    code, _, err = cli(capsys, "replay", run_id, "--log", store.url)
    assert code == 1 and f"seq {events_in(DAY3)} (?): missing" in err


def test_diff_refuses_a_forged_stream(store, capsys):
    a, b = write_run(store, "a"), write_run(store, "b")
    forge_added_by(store, b)
    with pytest.raises(TamperedStream):
        diff_runs(store, a, b)
    code, _, err = cli(capsys, "diff", a, b, "--log", store.url)
    assert code == 1 and "diff: run " in err and "fails verification" in err
    code, out, _ = cli(capsys, "diff", a, b, "--log", store.url, "--no-verify", "--json")
    assert code == 0 and json.loads(out)["same"] is True, "unverified, the equal hashes hide the forged payload"


# --- finding 11 (a): diff sees a stream that goes on after the other's ends -----------------------


EXTRA = ev.RequestCompleted(symbol="SPY", request_id="20131010-9999", steps=1)


@pytest.mark.parametrize("longer", ["A", "B"])
def test_diff_finds_events_after_the_other_runs_stream_ends(store, capsys, longer):
    a, b = write_run(store, "a", finish=False), write_run(store, "b", finish=False)
    store.append(a if longer == "A" else b, DAY2, [EXTRA])
    shorter = "B" if longer == "A" else "A"
    end = events_in(DAY2)
    report = diff_runs(store, a, b)
    assert not report.same and report.first is not None
    assert (report.first.session_date, report.first.seq) == (DAY2, end + 1)
    assert report.first.why == f"run {shorter}'s stream ends at seq {end}; run {longer} goes on with RequestCompleted"
    side = report.first.a if longer == "A" else report.first.b
    assert side is not None and side["kind"] == "RequestCompleted"
    code, out, _ = cli(capsys, "diff", a, b, "--log", store.url, "--json")
    assert code == 1 and json.loads(out)["first_divergence"]["seq"] == end + 1
    assert diff_runs(store, a, a).same


def test_an_event_chained_on_past_the_recorded_end_is_never_read_and_fails_the_audit(written, capsys):
    """A forger appends a well-chained row after a day's end but leaves `sessions` alone: readers read
    the stream only up to its recorded end, and the audit names the extra row."""
    store, run_id = written
    rows = tamper.rows_of(store, run_id, DAY3)
    extra = '{"kind":"SymbolCreated","symbol":"EVIL"}'
    digest = hashlib.sha256((rows[-1].hash + extra).encode()).hexdigest()
    with store.engine.begin() as conn:
        conn.execute(
            events.insert().values(
                run_key=tamper.run_key(store, run_id),
                session_date=DAY3,
                seq=rows[-1].seq + 1,
                **tamper.stored_values(kind="SymbolCreated", payload_json=extra, hash=digest),
                schema_version=1,
                symbol="EVIL",
                recorded_at=rows[-1].recorded_at,
            )
        )
    assert read_events(store, run_id, symbol="EVIL") == []
    assert [row.symbol for row in read_events(store, run_id, symbol="EVIL", verify=False)] == ["EVIL"]
    assert "EVIL" not in replay_day(store, run_id, DAY3, until_seq=10**6).symbols
    assert explain(store, run_id, "EVIL", session_date=DAY3).requests == []
    bad = audit_run(store, run_id).first_bad
    assert bad is not None and (bad.session_date, bad.seq) == (DAY3, rows[-1].seq + 1)
    assert "goes on past seq" in bad.why
