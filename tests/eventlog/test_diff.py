"""`diff_runs` on both backends: equal runs, the first divergent event, a date in one run only."""

from __future__ import annotations

import datetime as dt

from eventlog.diff import diff_runs
from eventlog.manifest import RunManifest
from eventlog.reading import read_events
from tests.eventlog.conftest import write_run
from tests.eventlog.streams import DayPlan, small_run

DAY2 = dt.date(2013, 10, 10)


def test_diff_of_two_runs_with_the_same_events_is_empty(store):
    a, b = write_run(store, "a"), write_run(store, "b")
    report = diff_runs(store, a, b)
    assert report.same and report.streams == 3


def test_diff_names_the_first_divergent_event(store):
    a = write_run(store, "a")
    b = store.create_run(RunManifest(name="b"))
    sink = store.sink(b)
    for day, batches in small_run().items():
        plan = DayPlan(extra={"AIG": 1}) if day == DAY2 else DayPlan()
        for batch in small_run(3, plan)[day] if day == DAY2 else batches:
            sink.append(day, batch)
    report = diff_runs(store, a, b)
    first = report.first
    assert first is not None and first.session_date == DAY2
    streamed = [r for r in read_events(store, a, session_date=DAY2, kinds=["SymbolStreamed"]) if r.symbol == "AIG"]
    assert first.seq == streamed[0].seq and "SymbolStreamed" in first.why
    assert first.a["payload"]["symbol"] == "AIG" and first.a != first.b


def test_diff_names_a_date_present_in_one_run_only(store):
    a, b = write_run(store, "a", days=3), write_run(store, "b", days=2)
    first = diff_runs(store, a, b).first
    assert first is not None and first.session_date == dt.date(2013, 10, 11) and first.seq is None
    assert "only in run A" in first.why
