"""Missing envelope values are stored as NULL, and text that looks like SQLite's stand-in for a
missing value (`store._SQLITE_NULL`) is stored as that text, on both backends."""

from __future__ import annotations

import datetime as dt

from eventlog.hashing import canonical_json
from eventlog.manifest import RunManifest
from eventlog.store import EventStore
from specs import events as ev

DAY = dt.date(2020, 1, 2)


def test_missing_and_zero_like_envelope_values_read_back_as_written(store: EventStore):
    events = [
        ev.SessionFailed(reason="a", symbol="0", request_id=""),
        ev.SessionFailed(reason="b", symbol=None, request_id="0"),
        ev.SessionFailed(reason="c", symbol="", request_id=None, sim_time=dt.datetime(2020, 1, 2, 15, tzinfo=dt.UTC)),
    ]
    run_id = store.create_run(RunManifest(name="nulls"))
    # Seven copies cover the multi-row statements and the single-row one.
    store.append(run_id, DAY, events * 7)
    rows = store.fetch(
        "SELECT symbol, request_id, sim_time IS NULL, payload_json FROM events WHERE run_id = ? ORDER BY seq",
        (run_id,),
    )
    expected = [(e.symbol, e.request_id, e.sim_time is None, canonical_json(e)) for e in events * 7]
    assert rows == expected
