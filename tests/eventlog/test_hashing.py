"""The canonical payload and the hash chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from eventlog import hashing
from specs import events as ev
from specs.events import EVENT_ADAPTER, EVENT_TYPES
from tests.eventlog.streams import DayPlan, flatten, small_run


def _all_events() -> list[ev.EventBase]:
    runs = [small_run(), small_run(1, DayPlan(live=True))]
    return [e for run in runs for batches in run.values() for e in flatten(batches)]


def test_every_kind_in_the_test_streams():
    kinds = {e.kind for e in _all_events()}
    assert kinds >= set(EVENT_TYPES) - {"SessionFailed", "SessionAborted"}


def test_canonical_payload_is_sorted_compact_json_that_reads_back_equal():
    for event in [*_all_events(), ev.SessionFailed(reason="all failed"), ev.SessionAborted(error="boom")]:
        text = hashing.canonical_json(event)
        data = json.loads(text)
        assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert EVENT_ADAPTER.validate_json(text) == event
        assert set(data) == set(type(event).model_fields)


def test_the_standard_library_fallback_writes_the_same_text():
    for event in _all_events():
        assert hashing._std_payload(event) == hashing.payload_bytes(event)


def test_nan_is_written_as_null_by_both_encoders():
    event = ev.SymbolStreamed(symbol="SPY", indicators={"rsi_14_1m": ev.IndicatorValue(current_value=float("nan"))})
    assert json.loads(hashing.payload_bytes(event))["indicators"]["rsi_14_1m"]["current_value"] is None
    assert json.loads(hashing._std_payload(event))["indicators"]["rsi_14_1m"]["current_value"] is None


def test_hash_is_sha256_of_prev_hash_and_payload():
    payload = hashing.canonical_json(ev.TeardownStarted(session_date=dt.date(2013, 10, 9)))
    prev = hashing.genesis_hash(dt.date(2013, 10, 9))
    assert prev == hashlib.sha256(b"2013-10-09").hexdigest()
    assert hashing.event_hash(prev, payload) == hashlib.sha256((prev + payload).encode()).hexdigest()
    chained = hashing.chain(prev, [payload.encode(), payload.encode()])
    assert chained[0] == (prev, hashing.event_hash(prev, payload))
    assert chained[1][0] == chained[0][1]


def test_unknown_values_are_refused_with_their_type():
    with pytest.raises(TypeError, match="cannot write object"):
        hashing._default(object())
