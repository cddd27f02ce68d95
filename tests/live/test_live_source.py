"""The key property of the live bar source: a live rehearsal of a LEAN day through the local feed server and
the real alpaca-py SDK, and a backtest of the same day, show the plugins the same bars and indicator values at
every step, including for a symbol a scanner adds mid-session (IBM at 10:00, upgraded in full at 11:00).

What a plugin sees is recorded by the plugin itself at each of its 390 steps: for every symbol of the session,
each interval's closed bar count and last bar, each indicator's value, and the state's figures as of now
(counts, quality, gaps). The oracle is
the backtest of the same day on the same store (the batch path), run in the same process.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Any

import pytest

from daytape.day import run_day, run_store
from daytape.examples import ListScanner, UpgradeStrategy
from daytape.liveday import run_live_day
from daytape.plugins import PluginContext
from marketdata.clock import ScaledClock
from marketdata.feedserver import FeedFaults, FeedOptions, serve_in_thread
from marketdata.live.alpaca_history import AlpacaHistory
from marketdata.live.alpaca_stream import AlpacaLiveStream
from marketdata.live.credentials import credentials_from_env
from specs import events as ev
from specs.config import SessionConfig
from specs.status import DayStatus
from statemachine.sink import InMemorySink
from tests.e2e.conftest import october_session
from tests.feed.conftest import ENV

DAY = dt.date(2013, 10, 9)
SPEED = 600.0
OPEN = dt.datetime(2013, 10, 9, 13, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
#: how long a bar that missed its step's deadline (at 600x: 100 ms behind) may take to come in late
LATE = 5 * MINUTE
#: the recurrences (RSI here) are the batch path's within a few ulps when updated bar by bar
RELATIVE = 1e-12


def seen(ctx: PluginContext) -> dict[str, Any]:
    """Everything a plugin can read of every symbol at this step."""
    view = ctx.view
    out: dict[str, Any] = {}
    for symbol in view.symbols():
        bars = {key: len(view.bars(symbol, key)) for key in view.intervals(symbol)}
        last = {key: tuple(view.last_bar(symbol, key) or ()) for key in view.intervals(symbol)}
        values = {key: view.indicator(symbol, key) for key in view.indicators(symbol)}
        state = view.state["symbols"][symbol]["bars"]  # per interval: counts, quality and gaps as of now
        out[symbol] = {"bars": bars, "last": last, "values": values, "state": state}
    return out


class SeeingScanner(ListScanner):
    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.steps: list[dict[str, Any]] = []

    def on_step(self, ctx: PluginContext) -> None:
        self.steps.append(seen(ctx))
        super().on_step(ctx)


class SeeingStrategy(UpgradeStrategy):
    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.steps: list[dict[str, Any]] = []

    def on_step(self, ctx: PluginContext) -> None:
        self.steps.append(seen(ctx))
        super().on_step(ctx)


def plugins(session: dict) -> list:
    return [SeeingScanner(**session["scanner"]["params"]), SeeingStrategy(**session["strategy"]["params"])]


@pytest.fixture(scope="module", params=["store", "alpaca"])
def both_days(request, lean_store_root, tmp_path_factory):
    """(live plugins, live events, backtest plugins, backtest events) of 2013-10-09, the live day's history
    from the store or from the feed server's REST endpoint through alpaca-py (`feed.history`)."""
    folder = tmp_path_factory.mktemp("live-source")
    session = october_session(lean_store_root, f"sqlite:///{folder / 'unused.db'}", start=str(DAY), end=str(DAY))
    feed = {"grace_seconds": 59.0, "history": request.param}
    live_config = SessionConfig.model_validate({**session, "mode": "live", "feed": feed})
    backtest_config = SessionConfig.model_validate(session)

    backtest_plugins, backtest_sink = plugins(session), InMemorySink()
    result = run_day(backtest_config, run_store(backtest_config), backtest_sink, DAY, plugins=backtest_plugins)
    assert result.status == DayStatus.ENDED

    live_plugins, live_sink = plugins(session), InMemorySink()
    calendar = run_store(live_config).calendar
    clock = ScaledClock(calendar.open(DAY), SPEED)
    options = FeedOptions(store=lean_store_root, day=DAY, speed=SPEED)
    with serve_in_thread(options) as handle:
        stream = AlpacaLiveStream(
            credentials_from_env(environ=ENV), feed="iex", url=handle.ws_url(), rest_url=handle.http_url, clock=clock
        )
        rest = AlpacaHistory(credentials_from_env(environ=ENV), feed="iex", url=handle.http_url).minute_bars
        store = run_store(live_config)
        result = run_live_day(live_config, store, live_sink, DAY, stream, clock, plugins=live_plugins, rest=rest)
    assert result.status == DayStatus.ENDED, result.error
    assert stream.subscribed("bar") == stream.subscribed("updated_bar") == []  # the teardown unsubscribed all
    return live_plugins, live_sink.events(DAY), backtest_plugins, backtest_sink.events(DAY)


def same(live: Any, backtest: Any) -> bool:
    """Equal, floats within RELATIVE (the recurrences' ulps), dicts and sequences item by item."""
    if isinstance(live, float) and isinstance(backtest, float):
        return live == backtest or math.isclose(live, backtest, rel_tol=RELATIVE)
    if isinstance(live, dict) and isinstance(backtest, dict):
        return live.keys() == backtest.keys() and all(same(live[k], backtest[k]) for k in live)
    if isinstance(live, list | tuple) and isinstance(backtest, list | tuple):
        return len(live) == len(backtest) and all(same(a, b) for a, b in zip(live, backtest, strict=True))
    return bool(live == backtest)


def test_every_step_shows_the_plugins_what_a_backtest_shows(both_days):
    """Step by step the same, except where the grace deadline passed before a bar came (BarsMissing, by design:
    the machine running the rehearsal may fall behind the feed): for a few minutes after, until the late bar is
    in, the missing symbol's view lacks it."""
    live_plugins, live_events, backtest_plugins, _ = both_days
    missing = {e.minute: set(e.symbols) for e in live_events if isinstance(e, ev.BarsMissing)}
    assert len(missing) < 40, f"the feed fell behind at {len(missing)} minutes: {sorted(missing)}"
    for live, backtest in zip(live_plugins, backtest_plugins, strict=True):
        assert len(live.steps) == len(backtest.steps) == 390
        for number, (a, b) in enumerate(zip(live.steps, backtest.steps, strict=True)):
            minute = OPEN + number * MINUTE
            gaps = set().union(*(symbols for m, symbols in missing.items() if minute - LATE <= m <= minute))
            a = {symbol: seen for symbol, seen in a.items() if symbol not in gaps}
            b = {symbol: seen for symbol, seen in b.items() if symbol not in gaps}
            assert same(a, b), f"step {number}: live {a} != backtest {b}"
    steps = live_plugins[0].steps
    assert "IBM" not in steps[29] and "IBM" in steps[31]  # the scanner's 10:00 symbol, seen from its next step
    assert steps[-1]["IBM"]["values"]["sma_20_5m"] is not None and steps[-1]["IBM"]["bars"]["1m"] > 300
    # IBM's bars after its subscription came through the feed: subscribed on the stream and the gate at 10:00
    ibm = [e.ts for e in live_events if isinstance(e, ev.BarReceived) and e.symbol == "IBM"]
    assert min(ibm) >= OPEN + 30 * MINUTE and len(ibm) >= 350


def test_the_live_day_records_what_the_backtest_records(both_days):
    """The day's figures (SymbolStreamed: counts, digests, quality, indicator values at the close, settled in
    batch) and the requests are the backtest's; SessionBarsLoaded says what had arrived when it loaded."""
    _, live_events, _, backtest_events = both_days

    def streamed(events: list[ev.EventBase]) -> dict[str | None, dict]:
        # the gate takes the session's minutes only: the store's pre- and post-market rows are not received
        exclude = {"sim_time": True, "quality": {"outside_session"}}
        return {e.symbol: e.model_dump(exclude=exclude) for e in events if isinstance(e, ev.SymbolStreamed)}

    live, backtest = streamed(live_events), streamed(backtest_events)
    assert live.keys() == backtest.keys()
    for symbol in live:
        for key in live[symbol]:
            assert live[symbol][key] == backtest[symbol][key], f"{symbol} {key}"
    loaded = [e for e in live_events if isinstance(e, ev.SessionBarsLoaded)]
    at_open = [e for e in loaded if e.symbol == "SPY"]
    assert at_open and all(e.rows == 0 for e in at_open)  # subscribed at the open: nothing had arrived
    ibm = [e for e in loaded if e.symbol == "IBM" and str(e.interval) == "1m"]
    assert ibm[0].rows == 30  # 09:30 .. 09:59 from the store, the minutes before its subscription


class BarWatcher(UpgradeStrategy):
    """Records, at each step, SPY's 1m bars as the view gives them and BAC's quality as of now; at the third
    step it asks for IBM from a thread of its own, which the loop does not wait for."""

    def __init__(self) -> None:
        super().__init__(symbols=[], at="16:00")
        self.spy: list[dict[int, tuple]] = []
        self.bac: list[dict[str, Any]] = []
        self.asker: threading.Thread | None = None

    def on_step(self, ctx: PluginContext) -> None:
        bars = ctx.view.bars("SPY", "1m")
        self.spy.append({t: (c, v) for t, c, v in zip(bars.ts.tolist(), bars.close, bars.volume, strict=True)})
        self.bac.append(ctx.view.state["symbols"]["BAC"]["bars"]["1m"])
        if len(self.spy) == 3:
            self.asker = threading.Thread(target=ctx.add_indicator, args=("IBM", "sma_20_5m"))
            self.asker.start()


@pytest.fixture(scope="module")
def faulty_day(lean_store_root, tmp_path_factory):
    """The first 20 minutes of the day through a server that sends minute 8 after minute 9, corrects minute 5's
    bars 30 s after the minute, and never has a BAC bar; the rest of the day steps by its deadlines."""
    folder = tmp_path_factory.mktemp("faulty")
    session = october_session(lean_store_root, f"sqlite:///{folder / 'unused.db'}", start=str(DAY), end=str(DAY))
    session = {**session, "scanner": None, "strategy": None, "mode": "live", "feed": {"grace_seconds": 20.0}}
    config = SessionConfig.model_validate(session)
    calendar = run_store(config).calendar
    speed = 1000.0
    clock = ScaledClock(calendar.open(DAY), speed)
    faults = FeedFaults(late_minutes=(8,), corrected_minutes=(5,), never_trades=("BAC",))
    options = FeedOptions(store=lean_store_root, day=DAY, speed=speed, end_minute=20, faults=faults)
    watcher, sink = BarWatcher(), InMemorySink()
    with serve_in_thread(options) as handle:
        stream = AlpacaLiveStream(
            credentials_from_env(environ=ENV), feed="iex", url=handle.ws_url(), rest_url=handle.http_url, clock=clock
        )
        result = run_live_day(config, run_store(config), sink, DAY, stream, clock, plugins=[watcher])
    assert result.status == DayStatus.ENDED, result.error
    assert watcher.asker is not None
    watcher.asker.join()
    return watcher, sink.events(DAY)


def test_a_symbol_without_bars_is_a_recorded_gap_of_every_step(faulty_day):
    watcher, events = faulty_day
    missing = {e.minute: e.symbols for e in events if isinstance(e, ev.BarsMissing)}
    assert len(missing) == 390 and all("BAC" in symbols for symbols in missing.values())
    assert all(e.sim_time >= e.minute + MINUTE + dt.timedelta(seconds=20) for e in events if e.kind == "BarsMissing")
    # quality as of now: every minute due is a gap of BAC's
    assert watcher.bac[9]["present"] == 0 and watcher.bac[9]["expected"] == 10
    assert watcher.bac[9]["quality"] == 0.0


def test_a_late_bar_is_a_gap_of_its_step_and_there_for_the_steps_after(faulty_day):
    watcher, events = faulty_day
    missing = {e.minute: e.symbols for e in events if isinstance(e, ev.BarsMissing)}
    eight = OPEN + 8 * MINUTE
    assert {"SPY", "AIG"} <= set(missing[eight])  # sent after minute 9's bars: past its deadline
    t8 = int(eight.timestamp()) * 10**9
    assert t8 not in watcher.spy[8]  # what the step of minute 8 saw
    assert t8 in watcher.spy[10] and len(watcher.spy[10]) == 11  # the late bar filled it for later steps
    late = [e for e in events if isinstance(e, ev.BarReceived) and e.symbol == "SPY" and e.ts == eight]
    assert late and late[0].received_at > eight + MINUTE + dt.timedelta(seconds=20)


def test_a_correction_changes_the_bar_for_later_steps_only(faulty_day):
    watcher, events = faulty_day
    five = OPEN + 5 * MINUTE
    t5 = int(five.timestamp()) * 10**9
    [update] = [e for e in events if isinstance(e, ev.BarUpdated) and e.symbol == "SPY" and e.ts == five]
    seen_at_step5 = watcher.spy[5][t5]
    assert update.volume != seen_at_step5[1]  # the correction changed the minute's volume
    assert watcher.spy[5][t5] == seen_at_step5  # what the step of minute 5 saw stays what it saw
    assert watcher.spy[7][t5] == (update.close, update.volume)  # the steps after it see the corrected bar
    assert watcher.spy[-1][t5] == (update.close, update.volume)


def test_a_symbol_asked_for_from_another_thread_is_provisioned_and_subscribed(faulty_day):
    """The coordinator's lock and the bar source's serve a plugin's thread; the loop subscribes the symbol after
    its next step and catches up the minutes before the feed brings it: all 20 minutes the server played."""
    _, events = faulty_day
    [streamed] = [e for e in events if isinstance(e, ev.SymbolStreamed) and e.symbol == "IBM"]
    assert streamed.bars["1m"] == 20
    received = [e for e in events if isinstance(e, ev.BarReceived) and e.symbol == "IBM"]
    assert received and min(e.ts for e in received) >= OPEN + 3 * MINUTE
