"""Every event kind has its own one-line summary (explain, replay, the Python API's events), and its words say
what the event did: one example of each kind, with the exact line expected. A kind added to specs without a
row here fails the first test; `summarize` has no fallback to the kind's name."""

from __future__ import annotations

import datetime as dt

import pytest

from eventlog.explain import summarize
from specs import events as ev
from specs.indicators import IndicatorSpec
from specs.plan import BarScope, Operation, Request, Source, SymbolValidationResult

DAY = dt.date(2013, 10, 9)
OPEN = dt.datetime(2013, 10, 9, 13, 30, tzinfo=dt.UTC)
TEN = dt.datetime(2013, 10, 9, 14, 0, tzinfo=dt.UTC)
CLOSE = dt.datetime(2013, 10, 9, 20, 0, tzinfo=dt.UTC)
SMA = IndicatorSpec(type="sma", period=20, interval="5m")
ENV = {"symbol": "IBM", "request_id": "20131009-0004", "sim_time": TEN}

ARRIVED = TEN + dt.timedelta(seconds=1, milliseconds=250)
BAR = {"open": 185.5, "high": 186.0, "low": 185.25, "close": 185.75, "volume": 12000.0}
MINUTE = dt.timedelta(minutes=1)

EXAMPLES: dict[str, tuple[ev.EventBase, str]] = {
    "BarReceived": (
        ev.BarReceived(symbol="IBM", ts=TEN - MINUTE, received_at=ARRIVED, **BAR),
        "received the 13:59 UTC bar at 14:00:01.250 UTC: o 185.5 h 186 l 185.25 c 185.75 v 12000",
    ),
    "BarUpdated": (
        ev.BarUpdated(symbol="IBM", ts=TEN - MINUTE, received_at=ARRIVED + 30 * dt.timedelta(seconds=1), **BAR),
        "the 13:59 UTC bar was corrected at 14:00:31.250 UTC (for later steps; earlier steps keep what they saw): "
        "o 185.5 h 186 l 185.25 c 185.75 v 12000",
    ),
    "DailyBarReceived": (
        ev.DailyBarReceived(symbol="IBM", ts=OPEN, received_at=ARRIVED, **BAR),
        "daily bar so far at 14:00:01.250 UTC: o 185.5 h 186 l 185.25 c 185.75 v 12000",
    ),
    "TradingStatusReceived": (
        ev.TradingStatusReceived(
            symbol="IBM",
            ts=TEN,
            received_at=ARRIVED,
            status_code="H",
            status_message="Trading Halt",
            reason_code="T1",
            reason_message="News pending",
        ),
        "trading status H (Trading Halt) at 14:00:01.250 UTC, reason T1 (News pending)",
    ),
    "FeedConnected": (
        ev.FeedConnected(at=OPEN - MINUTE, feed="iex", symbols=["IBM", "SPY"]),
        "the iex feed connected at 13:29:00.000 UTC with 2 symbols",
    ),
    "FeedDisconnected": (
        ev.FeedDisconnected(at=ARRIVED, reason="silent", detail="no frame for 30 s", last_minute=TEN - MINUTE),
        "the feed was lost at 14:00:01.250 UTC (silent: no frame for 30 s); the gap starts after the 13:59 UTC bar",
    ),
    "FeedReconnected": (
        ev.FeedReconnected(
            at=TEN + 3 * MINUTE, missed_start=TEN, missed_end=TEN + MINUTE, missed_minutes=2, policy="gap"
        ),
        "the feed reconnected at 14:03:00.000 UTC; 2 minutes missed (14:00 UTC .. 14:01 UTC), left as gaps",
    ),
    "FeedBackfilled": (
        ev.FeedBackfilled(at=TEN + 3 * MINUTE, start=TEN, end=TEN + MINUTE, minutes=2, bars=3),
        "backfilled 2 minutes (14:00 UTC .. 14:01 UTC) from history: 3 bars",
    ),
    "FeedSubscribed": (
        ev.FeedSubscribed(at=ARRIVED, symbols=["IBM", "MSFT"], kinds=["bar", "updated_bar", "daily_bar", "status"]),
        "the feed was subscribed to IBM, MSFT at 14:00:01.250 UTC (bar, updated_bar, daily_bar, status)",
    ),
    "BarsMissing": (
        ev.BarsMissing(minute=TEN, symbols=["AIG", "BAC"], sim_time=TEN + MINUTE + dt.timedelta(seconds=5)),
        "the 14:00 UTC step ran without a bar of AIG, BAC (none by the grace deadline)",
    ),
    "FiguresReported": (
        ev.FiguresReported(plugin="examples:Strategy", figures={"pnl": 12.5, "trades": 3}, sim_time=CLOSE),
        "examples:Strategy reported pnl=12.5, trades=3",
    ),
    "TeardownStarted": (
        ev.TeardownStarted(session_date=DAY, sim_time=OPEN),
        "teardown began: every symbol goes (nothing is kept from one day to the next)",
    ),
    "LoadingStarted": (
        ev.LoadingStarted(session_date=DAY, open=OPEN, close=CLOSE, config_symbols=["SPY", "AIG"]),
        "loading of 2013-10-09 began (open 2013-10-09 13:30, close 2013-10-09 20:00 UTC; 2 config symbols)",
    ),
    "StreamingStarted": (ev.StreamingStarted(symbols=["AIG", "SPY"]), "streaming began with 2 symbols"),
    "SessionEnded": (
        ev.SessionEnded(steps=390, symbols={"IBM": "full", "SPY": "full"}),
        "the session ended after 390 clock steps (IBM full, SPY full)",
    ),
    "SessionFailed": (
        ev.SessionFailed(reason="every configured symbol failed: ZZZZ: not in the store"),
        "the session failed: every configured symbol failed: ZZZZ: not in the store",
    ),
    "SessionAborted": (
        ev.SessionAborted(error="RuntimeError: boom"),
        "the session was aborted: RuntimeError: boom",
    ),
    "RequestReceived": (
        ev.RequestReceived(
            **ENV,
            operation=Operation.BAR,
            source=Source.SCANNER,
            interval="5m",
            days=2,
            scope=BarScope.HISTORY,
            description="scanner asked for 5m bars, 2 sessions of history only (no session bars) of IBM",
        ),
        "scanner asked for 5m bars, 2 sessions of history only (no session bars) of IBM",
    ),
    "RequestPlanned": (
        ev.RequestPlanned(
            **ENV, steps=["create_symbol adhoc", "add_interval 1m", "load_session 1m"], target_state="adhoc"
        ),
        "planned 3 steps leaving the symbol adhoc: create_symbol adhoc, add_interval 1m, load_session 1m",
    ),
    "SymbolValidated": (
        ev.SymbolValidated(**ENV, result=SymbolValidationResult(symbol="IBM", can_proceed=True)),
        "validated: can proceed",
    ),
    "SymbolRejected": (
        ev.SymbolRejected(**ENV, reason="IBM: no 1m bars in the store"),
        "rejected, nothing provisioned: IBM: no 1m bars in the store",
    ),
    "RequestSkipped": (
        ev.RequestSkipped(**ENV, reason="already provisioned"),
        "skipped, a duplicate: already provisioned",
    ),
    "RequestCompleted": (ev.RequestCompleted(**ENV, steps=1), "completed (1 step)"),
    "ProvisioningFailed": (
        ev.ProvisioningFailed(**ENV, step="load_session 1m", error="OSError: disk went away"),
        "failed at load_session 1m: OSError: disk went away (the symbol is as it was before the request)",
    ),
    "SymbolCreated": (
        ev.SymbolCreated(
            **ENV,
            mode="adhoc",
            base_interval="1m",
            added_by=Source.SCANNER,
            auto_provisioned=True,
            meets_session_config_requirements=False,
        ),
        "created adhoc with base interval 1m (added by scanner, auto-provisioned)",
    ),
    "SymbolUpgraded": (ev.SymbolUpgraded(**ENV, added_by=Source.STRATEGY), "upgraded adhoc -> full (by strategy)"),
    "SymbolTornDown": (ev.SymbolTornDown(**ENV, previous_state="adhoc"), "torn down (was adhoc)"),
    "IntervalAdded": (
        ev.IntervalAdded(**ENV, interval="5m", derived=True, base="1m"),
        "added interval 5m (derived from 1m)",
    ),
    "HistoricalLoaded": (
        ev.HistoricalLoaded(
            **ENV,
            interval="1m",
            sessions=2,
            start=dt.date(2013, 10, 4),
            end=dt.date(2013, 10, 7),
            rows=779,
            digest="d",
            joined=ev.JoinedHistory(
                sessions=3, start=dt.date(2013, 10, 4), end=dt.date(2013, 10, 8), rows=1169, digest="j"
            ),
        ),
        "loaded 2 sessions of 1m history 2013-10-04..2013-10-07 (779 rows) before the held ones: the history is "
        "now 3 sessions 2013-10-04..2013-10-08 (1169 rows)",
    ),
    "SessionBarsLoaded": (
        ev.SessionBarsLoaded(**ENV, interval="5m", rows=6, digest="d"),
        "loaded the session's 5m bars (6 bars closed by 14:00 UTC)",
    ),
    "IndicatorRegistered": (
        ev.IndicatorRegistered(**ENV, indicator=SMA, warmup_bars=20, bars_used=78, valid=True),
        "registered sma_20_5m, warmed up over 78 history bars (it needs 20; valid at 14:00 UTC)",
    ),
    "QualityCalculated": (
        ev.QualityCalculated(**ENV, interval="1m", expected=30, present=29, quality=29 / 30, historical_quality=1.0),
        "quality of 1m as of 14:00 UTC 0.9667: 29/30 bars due, 0 gaps; history 1.0000",
    ),
    "SymbolStreamed": (
        ev.SymbolStreamed(symbol="IBM", sim_time=CLOSE, bars={"1m": 390, "5m": 78}),
        "streamed the whole day: 1m 390 bars, 5m 78 bars",
    ),
}


def test_every_event_kind_has_an_example_here():
    assert set(EXAMPLES) == set(ev.EVENT_TYPES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_summary_says_what_the_event_did(kind):
    event, expected = EXAMPLES[kind]
    assert event.kind == kind  # type: ignore[attr-defined]
    assert summarize(event) == expected


def test_a_scanner_asking_for_a_symbol_is_described_as_ad_hoc_not_in_full():
    def described(source: Source) -> str:
        return Request(request_id="r", operation=Operation.SYMBOL, symbol="IBM", source=source).describe()

    assert described(Source.SCANNER) == "scanner asked for the symbol ad hoc (its base interval's session bars) of IBM"
    assert described(Source.ADHOC) == "adhoc asked for the symbol ad hoc (its base interval's session bars) of IBM"
    assert described(Source.STRATEGY) == "strategy asked for the symbol in full of IBM"
    assert described(Source.CONFIG) == "config asked for the symbol in full of IBM"


def test_bar_requests_are_described_by_their_scope():
    def described(scope: BarScope, days: int) -> str:
        request = Request(
            request_id="r", operation=Operation.BAR, symbol="IBM", source=Source.STRATEGY, interval="5m", days=days
        )
        return request.model_copy(update={"scope": scope}).describe()

    assert described(BarScope.BOTH, 3) == "strategy asked for 5m bars with 3 sessions of history of IBM"
    assert described(BarScope.BOTH, 0) == "strategy asked for 5m bars of IBM"
    assert (
        described(BarScope.HISTORY, 1)
        == "strategy asked for 5m bars, 1 session of history only (no session bars) of IBM"
    )
    assert described(BarScope.SESSION, 0) == "strategy asked for 5m session bars only (no history) of IBM"
