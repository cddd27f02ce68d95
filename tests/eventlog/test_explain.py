"""Explain: the events that made a symbol, interval or indicator, back to the request; and why not."""

from __future__ import annotations

import datetime as dt

from eventlog.explain import explain

DAY = dt.date(2013, 10, 10)


def test_a_scanner_added_then_strategy_upgraded_symbol(written):
    store, run_id = written
    found = explain(store, run_id, "TSLA", session_date=DAY)
    assert found.present and found.state == "full" and found.target_type == "symbol"
    scanner, strategy = found.requests
    assert (scanner.source, scanner.operation, scanner.outcome) == ("scanner", "indicator", "completed")
    assert (strategy.source, strategy.outcome) == ("strategy", "completed")
    assert scanner.events[0].kind == "RequestReceived" and scanner.events[0].summary == scanner.description
    assert "SymbolCreated" in [e.kind for e in scanner.events]
    assert "SymbolUpgraded" in [e.kind for e in strategy.events]
    assert found.why_not == []


def test_an_indicator_points_at_the_request_that_registered_it(written):
    store, run_id = written
    found = explain(store, run_id, "TSLA", session_date=DAY, indicator="rsi_14_1m")
    assert found.present
    [request] = found.requests
    assert request.source == "scanner"
    assert [e.kind for e in request.events if e.kind == "IndicatorRegistered"] == ["IndicatorRegistered"]


def test_an_interval_names_every_request_that_needed_it(written):
    store, run_id = written
    found = explain(store, run_id, "SPY", session_date=DAY, interval="5m")
    assert found.present
    assert [r.source for r in found.requests] == ["config"]
    kinds = [e.kind for e in found.requests[0].events]
    assert "IntervalAdded" in kinds and "IndicatorRegistered" in kinds


def test_why_a_rejected_symbol_is_not_there(written):
    store, run_id = written
    found = explain(store, run_id, "ZZZZ", session_date=DAY)
    assert not found.present and found.state == "absent"
    assert found.requests[0].outcome == "rejected"
    assert any("no 1m bars in the store" in reason for reason in found.why_not)


def test_why_a_failed_interval_is_not_there(written):
    store, run_id = written
    found = explain(store, run_id, "BAC", session_date=DAY, interval="30m")
    assert not found.present
    assert [r.outcome for r in found.requests] == ["failed"]
    assert any("history range not covered" in reason for reason in found.why_not)


def test_nothing_asked_for(written):
    store, run_id = written
    found = explain(store, run_id, "SPY", interval="1h")
    assert found.session_date == dt.date(2013, 10, 11)
    assert found.why_not == ["no request asked for interval 1h of SPY on 2013-10-11"]


def test_explain_says_the_bad_bars_a_load_flagged():
    from eventlog.explain import summarize
    from specs.events import SessionBarsLoaded

    close = dt.datetime(2013, 10, 11, 20, 0, tzinfo=dt.UTC)
    flagged = SessionBarsLoaded(
        symbol="SPY", interval="1m", rows=388, digest="d", flagged={"nan_price": 1, "inf_price": 1}, sim_time=close
    )
    assert summarize(flagged) == (
        "loaded the session's 1m bars (388 bars closed by 20:00 UTC); bad bars flagged and left out: "
        "1 inf_price, 1 nan_price"
    )
    assert summarize(SessionBarsLoaded(symbol="SPY", interval="1m", rows=0, digest="d")) == (
        "loaded the session's 1m bars (0 bars closed by then)"
    )


def test_explain_says_the_history_quality_and_each_derived_intervals_quality():
    from eventlog.explain import summarize
    from specs.events import Gap, IntervalQuality, PartialBar, QualityCalculated

    start = dt.datetime(2013, 10, 9, 14, 0, tzinfo=dt.UTC)
    five = IntervalQuality(
        expected=18,
        present=18,
        complete=17,
        quality=17 / 18,
        partial=[PartialBar(start=start, expected=5, present=4)],
    )
    event = QualityCalculated(
        symbol="SPY",
        interval="1m",
        expected=92,
        present=91,
        quality=91 / 92,
        gaps=[Gap(start=start + dt.timedelta(minutes=2), end=start + dt.timedelta(minutes=2), missing=1)],
        historical_quality=0.5,
        historical_expected=390,
        historical_present=195,
        historical_gaps=3,
        intervals={"5m": five},
        sim_time=start + dt.timedelta(minutes=92),
    )
    assert summarize(event) == (
        "quality of 1m as of 15:32 UTC 0.9891: 91/92 bars due, 1 gap; 5m 0.9444: 17/18 complete, 1 partial; "
        "history 0.5000 (195/390 bars, 3 gaps)"
    )
    old = QualityCalculated(symbol="SPY", interval="1m", expected=0, present=0, quality=1.0, historical_quality=1.0)
    assert summarize(old) == "quality of 1m as of then 1.0000: 0/0 bars due, 0 gaps; history 1.0000"
