"""Nothing a plugin can see, and nothing logged before a moment t, depends on a bar that closes after t.

For a random session day of the real LEAN data (2013-10-08 and 10 with SPY and AIG, SHY's thin
2008-03-10, GOOG's early close 2015-12-24 and the session after it) and a random moment t of it, the
day's store files are rewritten with every bar that closes after t changed: prices scaled, volumes
redrawn, some bars dropped (gaps), sometimes a bad row (NaN close) and rows written out of order. The
day then runs twice through `daytape.day.run_day`, on the original store and on the changed one,
with a scanner and a strategy that record, at every hook up to t, everything the view offers (the time,
the phase, `symbols`, `intervals`, `indicators`, every interval's `bars`, every `indicator` and
`indicator_ready`, and `view.state`) and that ask for an indicator, a symbol and a bar at random
moments. Both runs must record the same observations up to t and log the same events up to t; after t
they differ (the test checks that the change reached the log).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from daytape.day import run_day
from daytape.plugins import PluginContext, Scanner, Strategy
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.importers import import_lean
from marketdata.sources.storecache import DEFAULT_MAX_BYTES, StoreCache
from marketdata.store import BarStore
from marketdata.timestamps import NS_PER_SECOND, as_ns
from specs.config import SessionConfig
from statemachine.sink import InMemorySink

MINUTE_NS = 60 * NS_PER_SECOND
SYMBOLS = ("SPY", "AIG", "IBM", "GOOG", "FOXA", "SHY")
PLUGIN_INDICATORS = ("atr_3_15m", "vwap_1m", "bollinger_5_5m", "macd_3_6_2_5m", "ema_3_1h", "rsi_4_1m")


@dataclass(frozen=True)
class Scenario:
    day: date
    config_symbols: tuple[str, ...]
    other: str  # the symbol the plugins ask for (not stored that day for SHY's and 2015-12-28's)


SCENARIOS = (
    Scenario(date(2013, 10, 8), ("SPY", "AIG"), "IBM"),
    Scenario(date(2013, 10, 10), ("AIG", "SPY"), "IBM"),
    Scenario(date(2008, 3, 10), ("SHY",), "SPY"),
    Scenario(date(2015, 12, 24), ("GOOG",), "FOXA"),
    Scenario(date(2015, 12, 28), ("GOOG",), "FOXA"),
)


def lookahead_settings() -> settings:
    """10 examples under the `ci` and `dev` profiles (each runs a day twice); other profiles as registered."""
    if settings.get_current_profile_name() in ("ci", "dev"):
        return settings(max_examples=10)
    return settings()


@pytest.fixture(scope="module")
def lean_store(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lookahead") / "bars"
    import_lean(lean_root, BarStore(root, get_calendar("XNYS")), symbols=list(SYMBOLS))
    return root


@dataclass
class Moves:
    """When (minutes after the open; 0 is the session start) the plugins ask for what."""

    indicator_at: int
    indicator: str
    symbol_at: int
    bar_at: int


@dataclass
class Recording:
    """What the plugins saw, hook by hook: (hook, now, observation) up to `until`."""

    until: datetime
    seen: list[tuple[str, datetime, str]] = field(default_factory=list)


def observe(ctx: PluginContext) -> str:
    """Everything the view offers, as a digest (arrays by their bytes)."""
    view = ctx.view
    digest = hashlib.sha256(repr((view.now, view.session_date, view.phase, view.symbols())).encode())
    for symbol in view.symbols():
        digest.update(repr((symbol, view.intervals(symbol), view.indicators(symbol))).encode())
        for interval in view.intervals(symbol):
            bars = view.bars(symbol, interval)
            digest.update(interval.encode())
            for name in ("ts", "open", "high", "low", "close", "volume", "bar_close"):
                digest.update(getattr(bars, name).tobytes())
        for key in view.indicators(symbol):
            digest.update(repr((key, view.indicator(symbol, key), view.indicator_ready(symbol, key))).encode())
    digest.update(json.dumps(view.state, sort_keys=True).encode())
    return digest.hexdigest()


def outcome_text(outcome: Any) -> str:
    steps = outcome.plan.step_labels if outcome.plan is not None else None
    return repr((outcome.status, outcome.request_id, outcome.reason, outcome.failed_step, steps))


class _Recorder:
    """Records up to the recording's end what it asked and got, and what the view shows (the scanner at every
    hook; the strategy, which runs after it on the same view, after its own requests)."""

    observes_every_hook = False

    def __init__(self, recording: Recording, moves: Moves, scenario: Scenario, open_: datetime) -> None:
        self.recording, self.moves, self.scenario, self.open = recording, moves, scenario, open_

    def _hook(self, name: str, ctx: PluginContext) -> None:
        minute = int((ctx.now - self.open).total_seconds() // 60)
        outcomes = self.act(ctx, minute)
        if ctx.now > self.recording.until:
            return
        where = f"{type(self).__name__}.{name}"
        self.recording.seen += [(f"{where}:outcome", ctx.now, outcome_text(o)) for o in outcomes]
        if outcomes or self.observes_every_hook:
            self.recording.seen.append((where, ctx.now, observe(ctx)))

    def act(self, ctx: PluginContext, minute: int) -> list[Any]:
        raise NotImplementedError

    def on_session_start(self, ctx: PluginContext) -> None:
        self._hook("on_session_start", ctx)

    def on_step(self, ctx: PluginContext) -> None:
        self._hook("on_step", ctx)

    def on_session_end(self, ctx: PluginContext) -> None:
        self._hook("on_session_end", ctx)


class RecordingScanner(_Recorder, Scanner):
    observes_every_hook = True

    def __init__(self, recording: Recording, moves: Moves, scenario: Scenario, open_: datetime) -> None:
        Scanner.__init__(self)
        _Recorder.__init__(self, recording, moves, scenario, open_)

    def act(self, ctx: PluginContext, minute: int) -> list[Any]:
        if minute != self.moves.indicator_at:
            return []
        return [ctx.add_indicator(self.scenario.other, self.moves.indicator)]


class RecordingStrategy(_Recorder, Strategy):
    def __init__(self, recording: Recording, moves: Moves, scenario: Scenario, open_: datetime) -> None:
        Strategy.__init__(self)
        _Recorder.__init__(self, recording, moves, scenario, open_)

    def act(self, ctx: PluginContext, minute: int) -> list[Any]:
        outcomes = []
        if minute == self.moves.symbol_at:
            outcomes.append(ctx.add_symbol(self.scenario.other))
        if minute == self.moves.bar_at:
            outcomes.append(ctx.add_bar(self.scenario.config_symbols[0], "15m"))
        return outcomes


def scenario_config(scenario: Scenario, store_root: Path) -> SessionConfig:
    return SessionConfig.model_validate(
        {
            "name": "no-lookahead",
            "start": scenario.day,
            "end": scenario.day,
            "store": str(store_root),
            "symbols": list(scenario.config_symbols),
            "streams": ["1m"],
            "derived": ["5m", "1h"],
            "historical": {"enabled": True, "trailing_days": 1},
            "indicators": [
                {"type": "sma", "period": 5, "interval": "5m"},
                {"type": "rsi", "period": 5, "interval": "1m"},
            ],
        }
    )


def change_after(store: BarStore, symbol: str, day: date, t_ns: int, rng: np.random.Generator) -> bool:
    """Rewrite the day file with every bar closing after `t_ns` changed; whether a regular-session bar was."""
    path = store.day_file(symbol, "1m", day)
    if not path.exists():
        return False
    table = store.read_days(symbol, "1m", [day]).table
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    after = ts + MINUTE_NS > t_ns
    keep = ~after | (rng.random(len(ts)) > rng.uniform(0.0, 0.6))
    if not keep.any():
        keep[0] = True
    factor = np.where(after, rng.uniform(0.5, 1.5, len(ts)), 1.0)
    columns = {name: table.column(name).to_numpy().astype(float) for name in ("open", "high", "low", "close")}
    columns = {name: values * factor for name, values in columns.items()}
    volume = np.where(after, rng.integers(0, 50_000, len(ts)).astype(float), table.column("volume").to_numpy())
    if after.any() and rng.random() < 0.5:
        columns["close"][rng.choice(np.flatnonzero(after))] = np.nan
    rows = np.flatnonzero(keep)
    late = rows[after[rows]]
    if rng.random() < 0.5:
        late = rng.permutation(late)  # written out of order: the store records how many arrived late
    order = np.concatenate([rows[~after[rows]], late]).astype(np.int64)
    changed = pa.table(
        {
            "ts": table.column("ts").take(pa.array(order)),
            **{name: pa.array(values[order]) for name, values in columns.items()},
            "volume": pa.array(volume[order]),
        }
    )
    path.unlink()
    store.write(symbol, "1m", changed)
    open_ns, close_ns = store.calendar.open_close_ns(day)
    return bool(np.any(after & (ts >= open_ns) & (ts < close_ns)))


@dataclass(frozen=True)
class DayRun:
    recording: Recording
    events: list[tuple[datetime, str]]


def run_recorded(
    scenario: Scenario, root: Path, calendar: TradingCalendar, t: datetime, moves: Moves, cached: bool
) -> DayRun:
    recording = Recording(until=t)
    open_ = calendar.open(scenario.day)
    plugins = [
        RecordingScanner(recording, moves, scenario, open_),
        RecordingStrategy(recording, moves, scenario, open_),
    ]
    store = BarStore(root, calendar)
    sink = InMemorySink()
    result = run_day(
        scenario_config(scenario, root),
        StoreCache(store, calendar, max_bytes=0 if not cached else DEFAULT_MAX_BYTES),
        sink,
        scenario.day,
        plugins=plugins,  # type: ignore[arg-type]
    )
    assert result.status == "ended", result.error
    events = []
    for event in sink.events(scenario.day):
        assert event.sim_time is not None
        text = json.dumps(event.model_dump(mode="json"), sort_keys=True).replace(str(root), "<store>")
        events.append((event.sim_time, text))
    return DayRun(recording, events)


def up_to(events: list[tuple[datetime, str]], t: datetime) -> list[str]:
    return [text for when, text in events if when <= t]


@lookahead_settings()
@given(
    scenario=st.sampled_from(SCENARIOS),
    moment=st.floats(0.0, 1.0, exclude_max=True),
    indicator_at=st.integers(0, 420),
    indicator=st.sampled_from(PLUGIN_INDICATORS),
    symbol_at=st.integers(0, 420),
    bar_at=st.integers(0, 420),
    cached=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_bars_after_t_change_nothing_seen_or_logged_up_to_t(
    lean_store: Path,
    scenario: Scenario,
    moment: float,
    indicator_at: int,
    indicator: str,
    symbol_at: int,
    bar_at: int,
    cached: bool,
    seed: int,
) -> None:
    calendar = get_calendar("XNYS")
    open_, close = calendar.open(scenario.day), calendar.close(scenario.day)
    seconds = int((close - open_).total_seconds()) - 60
    t = open_ + timedelta(seconds=int(moment * seconds))
    moves = Moves(indicator_at, indicator, symbol_at, bar_at)
    note(f"{scenario.day} t={t.astimezone(calendar.tz).time()} {moves} cached={cached}")

    with tempfile.TemporaryDirectory(prefix="daytape-lookahead-") as folder:
        check_day(lean_store, Path(folder) / "bars", scenario, t, moves, cached, seed)


def check_day(
    lean_store: Path, changed_root: Path, scenario: Scenario, t: datetime, moves: Moves, cached: bool, seed: int
) -> None:
    calendar = get_calendar("XNYS")
    shutil.copytree(lean_store, changed_root)
    changed_store = BarStore(changed_root, calendar)
    rng = np.random.default_rng(seed)
    symbols = (*scenario.config_symbols, scenario.other)
    reached = [change_after(changed_store, symbol, scenario.day, as_ns(t), rng) for symbol in symbols]

    original = run_recorded(scenario, lean_store, calendar, t, moves, cached)
    changed = run_recorded(scenario, changed_root, calendar, t, moves, cached)

    assert original.recording.seen, "the plugins saw nothing up to t"
    for before, after in zip(original.recording.seen, changed.recording.seen, strict=True):
        assert before == after, f"{before[0]} at {before[1]} saw something of the bars after {t}"
    assert up_to(changed.events, t) == up_to(original.events, t), f"an event up to {t} depends on later bars"
    if any(reached[: len(scenario.config_symbols)]):
        streamed = [text for _, text in original.events if '"SymbolStreamed"' in text]
        assert streamed != [text for _, text in changed.events if '"SymbolStreamed"' in text]
