"""The key property of the live bar source: a live rehearsal of a LEAN day through the local feed server and
the real alpaca-py SDK, and a backtest of the same day, show the plugins the same bars and indicator values at
every step, including for a symbol a scanner adds mid-session (IBM at 10:00, upgraded in full at 11:00).

What a plugin sees is recorded by the plugin itself at each of its 390 steps: for every symbol of the session,
each interval's closed bar count and last bar, each indicator's value, and quality as of now. The oracle is
the backtest of the same day on the same store (the batch path), run in the same process.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from daytape.day import run_day, run_store
from daytape.examples import ListScanner, UpgradeStrategy
from daytape.liveday import run_live_day
from daytape.plugins import PluginContext
from marketdata.clock import ScaledClock
from marketdata.feedserver import FeedOptions, serve_in_thread
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
        quality = view.state["symbols"][symbol].get("quality")
        out[symbol] = {"bars": bars, "last": last, "values": values, "quality": quality}
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


@pytest.fixture(scope="module")
def both_days(lean_store_root, tmp_path_factory):
    """(live plugins, live events, backtest plugins, backtest events) of 2013-10-09."""
    folder = tmp_path_factory.mktemp("live-source")
    session = october_session(lean_store_root, f"sqlite:///{folder / 'unused.db'}", start=str(DAY), end=str(DAY))
    live_config = SessionConfig.model_validate({**session, "mode": "live", "feed": {"grace_seconds": 60.0}})
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
        store = run_store(live_config)
        result = run_live_day(live_config, store, live_sink, DAY, stream, clock, plugins=live_plugins)
    assert result.status == DayStatus.ENDED, result.error
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
    assert len(missing) < 10, f"the feed fell behind at {len(missing)} minutes: {sorted(missing)}"
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
