"""Old payload versions are upcast on read: a log written by an older daytape (schema revision 0001,
RequestReceived version 1, kept in fixtures/v1_log.jsonl) is refused for writing until upgraded,
then reads back as current events, audits clean and replays."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from eventlog import migrate
from eventlog.audit import audit_run
from eventlog.engine import make_engine
from eventlog.errors import SchemaBehind
from eventlog.reading import read_events, streams
from eventlog.replay import replay_day
from eventlog.store import open_store
from eventlog.upcast import UPCASTERS, PayloadError, parse_payload, upcast, upcast_RequestReceived_v1_v2
from specs.events import CURRENT_SCHEMA_VERSION, RequestReceived
from specs.plan import BarScope
from tests.eventlog.old_layout import events, runs

FIXTURE = Path(__file__).parent / "fixtures" / "v1_log.jsonl"
RUN_ID = "v1fixture" + "0" * 23
DAY = dt.date(2013, 10, 9)


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC) if text else None


def load_v1_log(url: str) -> None:
    """Recreate the old log: schema revision 0001 with the fixture's rows exactly as written."""
    engine = make_engine(url)
    migrate.upgrade_engine(engine, "0001")
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    run_rows = [line["row"] for line in lines if line["table"] == "runs"]
    event_rows = [line["row"] for line in lines if line["table"] == "events"]
    for row in run_rows:
        row["started_at"], row["finished_at"] = _time(row["started_at"]), _time(row["finished_at"])
    for row in event_rows:
        row["session_date"] = dt.date.fromisoformat(row["session_date"])
        row["sim_time"], row["recorded_at"] = _time(row["sim_time"]), _time(row["recorded_at"])
    with engine.begin() as conn:
        conn.execute(runs.insert(), run_rows)
        conn.execute(events.insert(), event_rows)
    engine.dispose()


def test_the_fixture_holds_version_1_request_payloads():
    rows = [json.loads(line)["row"] for line in FIXTURE.read_text().splitlines()]
    received = [r for r in rows if r.get("kind") == "RequestReceived"]
    assert received and all(r["schema_version"] == 1 for r in received)
    assert all("plugin" not in json.loads(r["payload_json"]) for r in received)


def test_an_old_log_is_refused_then_upgraded_and_read_back_upcast(log_url):
    load_v1_log(log_url)
    with pytest.raises(SchemaBehind, match="daytape db upgrade --log"):
        open_store(log_url)
    migrate.upgrade(log_url)
    with open_store(log_url) as store:
        [stream] = streams(store, RUN_ID)
        assert stream.status == "ended" and stream.end_seq is not None
        received = read_events(store, RUN_ID, kinds=["RequestReceived"])
        assert received and all(row.schema_version == 1 for row in received)
        for row in received:
            event = row.event()
            assert isinstance(event, RequestReceived)
            assert event.schema_version == CURRENT_SCHEMA_VERSION["RequestReceived"] == 3
            assert event.plugin is None
            assert event.scope is (BarScope.BOTH if event.operation == "bar" else None)
        loads = read_events(store, RUN_ID, kinds=["HistoricalLoaded"])
        assert loads and all(row.schema_version == 1 and row.event().joined is None for row in loads)
        assert audit_run(store, RUN_ID).ok
        state = replay_day(store, RUN_ID, DAY)
        assert state.phase == "ended" and set(state.symbols) == {"SPY", "AIG", "TSLA"}
        assert state.requests[received[0].request_id].source == "config"


def _as_read(value: object) -> object:
    """A JSON value as a reader compares it: times as instants, so an offset's spelling does not matter."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, dict):
        return {key: _as_read(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_read(item) for item in value]
    return value


def test_every_field_of_every_upcast_event_in_the_fixture_is_kept(log_url):
    """Each version-1 RequestReceived reads back with every field it was written with, field by field,
    plus `plugin` None (version 2) and `scope` (version 3): nothing the v1 payload said is dropped or changed."""
    load_v1_log(log_url)
    migrate.upgrade(log_url)
    lines = [json.loads(line)["row"] for line in FIXTURE.read_text().splitlines()]
    written = {row["seq"]: json.loads(row["payload_json"]) for row in lines if row.get("kind") == "RequestReceived"}
    with open_store(log_url) as store:
        received = read_events(store, RUN_ID, kinds=["RequestReceived"])
    assert sorted(row.seq for row in received) == sorted(written)
    for row in received:
        v1 = written[row.seq]
        read = row.event().model_dump(mode="json")
        new = {"plugin", "scope"}
        assert set(read) == set(v1) | new, f"seq {row.seq}: fields {sorted(set(read) ^ set(v1))}"
        for name, value in v1.items():
            expected = 3 if name == "schema_version" else value
            assert _as_read(read[name]) == _as_read(expected), f"seq {row.seq}: field {name}"
        assert read["plugin"] is None
        assert read["scope"] == ("both" if v1["operation"] == "bar" else None)


def test_a_version_1_request_with_every_field_set_reads_back_whole():
    """The fixture's requests leave `days` and `interval` at their defaults; this one sets every
    field a version-1 RequestReceived had to a value no default gives."""
    v1 = {
        "kind": "RequestReceived",
        "schema_version": 1,
        "symbol": "IBM",
        "request_id": "20131009-0042",
        "sim_time": "2013-10-09T15:00:00+00:00",
        "operation": "bar",
        "source": "strategy",
        "interval": "30m",
        "days": 2,
        "indicator": {"type": "sma", "period": 20, "interval": "5m", "fast": None, "slow": None, "signal": None},
        "description": "strategy asked for 30m bars of IBM",
    }
    read = parse_payload("RequestReceived", 1, json.dumps(v1)).model_dump(mode="json")
    assert {name: _as_read(read[name]) for name in v1} == _as_read({**v1, "schema_version": 3})
    assert read["plugin"] is None and set(read) == set(v1) | {"plugin", "scope"}
    assert read["scope"] == "both"  # every bar request before version 3 loaded history and session bars


def test_upcasters_are_chained_by_kind_and_version():
    v1 = {"kind": "RequestReceived", "schema_version": 1, "operation": "symbol", "source": "config"}
    assert upcast(v1) == {**v1, "schema_version": 3, "plugin": None, "scope": None}
    assert upcast_RequestReceived_v1_v2(v1) == {**v1, "schema_version": 2, "plugin": None}
    assert all(version < CURRENT_SCHEMA_VERSION[kind] for kind, version in UPCASTERS)


def test_payloads_that_cannot_be_upcast_are_named():
    with pytest.raises(PayloadError, match="written by a newer daytape"):
        upcast({"kind": "RequestReceived", "schema_version": CURRENT_SCHEMA_VERSION["RequestReceived"] + 1})
    with pytest.raises(PayloadError, match="unknown event kind 'Nope'"):
        upcast({"kind": "Nope", "schema_version": 1})
    with pytest.raises(PayloadError, match="not a valid SymbolTornDown payload"):
        parse_payload("SymbolTornDown", 1, '{"kind": "SymbolTornDown"}')


def test_version_1_quality_reads_with_the_history_figures_unknown_and_no_derived_intervals(log_url):
    """The fixture's QualityCalculated payloads are version 1: they read back at version 2 with every field they
    were written with, the history's bar counts and gap count None (never recorded) and no derived intervals."""
    load_v1_log(log_url)
    migrate.upgrade(log_url)
    lines = [json.loads(line)["row"] for line in FIXTURE.read_text().splitlines()]
    written = {row["seq"]: json.loads(row["payload_json"]) for row in lines if row.get("kind") == "QualityCalculated"}
    assert written and all(payload["schema_version"] == 1 for payload in written.values())
    with open_store(log_url) as store:
        rows = read_events(store, RUN_ID, kinds=["QualityCalculated"])
        state = replay_day(store, RUN_ID, DAY)
    added = {"historical_expected", "historical_present", "historical_gaps", "intervals"}
    for row in rows:
        read = row.event().model_dump(mode="json")
        v1 = written[row.seq]
        assert set(read) == set(v1) | added
        assert {name: _as_read(read[name]) for name in v1} == _as_read({**v1, "schema_version": 2})
        assert (read["historical_expected"], read["historical_present"], read["historical_gaps"]) == (None, None, None)
        assert read["intervals"] == {}
    spy = state.symbols["SPY"]
    assert spy.quality is not None and spy.quality.historical_expected is None
    assert spy.bars["5m"].quality is None  # a version-1 log never said


def test_symbol_streamed_is_lifted_from_version_1_through_2_to_3():
    v1 = {"kind": "SymbolStreamed", "schema_version": 1, "symbol": "SPY", "bars": {"1m": 390}, "indicators": {}}
    lifted = upcast(v1)
    assert lifted == {**v1, "schema_version": 3, "digests": {}, "flagged": {}, "quality": None, "intervals": {}}
    assert CURRENT_SCHEMA_VERSION["SymbolStreamed"] == 3 and CURRENT_SCHEMA_VERSION["QualityCalculated"] == 2
    v2 = {**v1, "schema_version": 2, "digests": {"1m": "ab"}, "flagged": {}, "quality": None}
    assert parse_payload("SymbolStreamed", 2, json.dumps(v2)).intervals == {}  # type: ignore[attr-defined]


#: One payload per (kind, version) an upcaster starts from, as that version wrote it, and what reading it
#: must give at the current version: every upcaster is run by this table, and a new one without a row fails.
OLD_PAYLOADS: dict[tuple[str, int], tuple[dict[str, object], dict[str, object]]] = {
    ("RequestReceived", 1): (
        {"kind": "RequestReceived", "schema_version": 1, "operation": "bar", "source": "scanner", "interval": "5m"},
        {"plugin": None, "scope": "both"},
    ),
    ("RequestReceived", 2): (
        {
            "kind": "RequestReceived",
            "schema_version": 2,
            "operation": "indicator",
            "source": "scanner",
            "indicator": {"type": "sma", "period": 20, "interval": "5m"},
            "plugin": "pkg.mod:Scan",
        },
        {"plugin": "pkg.mod:Scan", "scope": None},
    ),
    ("HistoricalLoaded", 1): (
        {
            "kind": "HistoricalLoaded",
            "schema_version": 1,
            "interval": "1m",
            "sessions": 2,
            "start": "2013-10-07",
            "end": "2013-10-08",
            "rows": 780,
            "digest": "d",
        },
        {"joined": None, "sessions": 2, "rows": 780},
    ),
    ("SymbolStreamed", 1): (
        {"kind": "SymbolStreamed", "schema_version": 1, "symbol": "SPY", "bars": {"1m": 390}},
        {"digests": {}, "flagged": {}, "quality": None, "bars": {"1m": 390}},
    ),
    ("SymbolStreamed", 2): (
        {
            "kind": "SymbolStreamed",
            "schema_version": 2,
            "symbol": "SPY",
            "bars": {"1m": 390},
            "digests": {"1m": "ab"},
            "flagged": {},
            "quality": None,
        },
        {"digests": {"1m": "ab"}, "intervals": {}},
    ),
    ("QualityCalculated", 1): (
        {
            "kind": "QualityCalculated",
            "schema_version": 1,
            "interval": "1m",
            "quality": 1.0,
            "expected": 390,
            "present": 390,
            "gaps": [],
            "historical_quality": 0.99,
        },
        {"historical_quality": 0.99, "historical_expected": None, "historical_gaps": None, "intervals": {}},
    ),
}


def test_every_upcaster_is_run_from_a_payload_of_its_version():
    assert set(OLD_PAYLOADS) == set(UPCASTERS)
    for (kind, version), (payload, expected) in OLD_PAYLOADS.items():
        event = parse_payload(kind, version, json.dumps(payload))
        read = event.model_dump(mode="json")
        assert read["schema_version"] == CURRENT_SCHEMA_VERSION[kind], (kind, version)
        assert {name: read[name] for name in expected} == expected, (kind, version)
