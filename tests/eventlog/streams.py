"""Realistic day streams built from `specs.events`, in the decided day shape.

Each (run, session date) stream: TeardownStarted (idle), LoadingStarted, one batch per config
request, StreamingStarted, a scanner's ad hoc add, a strategy's upgrade of that symbol, a duplicate
request, a failed request, SymbolStreamed per symbol, SessionEnded, then the day's own teardown.
Every event goes through `SessionState.apply` here, so a builder bug shows at once.

Batches are lists of events appended together, as the coordinator appends one request's events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from marketdata.calendar import get_calendar
from specs import events as ev
from specs.indicators import IndicatorSpec, IndicatorType
from specs.intervals import Interval
from specs.plan import Operation, Source, SymbolValidationResult
from statemachine.state import SessionState

M1, M5, M15 = Interval("1m"), Interval("5m"), Interval("15m")
SMA_20_5M = IndicatorSpec(type=IndicatorType.SMA, period=20, interval=M5)
RSI_14_1M = IndicatorSpec(type=IndicatorType.RSI, period=14, interval=M1)

Batch = list[ev.EventBase]


@dataclass
class DayPlan:
    """What one day holds; the defaults give the small two/three-day test runs."""

    symbols: Sequence[str] = ("SPY", "AIG", "BAC")
    rejected: Sequence[str] = ("ZZZZ",)
    scanner_symbol: str | None = "TSLA"
    upgrade: bool = True
    duplicate: bool = True
    failure: bool = True
    trailing_days: int = 3
    variant: str = ""
    extra: dict[str, int] = field(default_factory=dict)
    figures: bool = True  # the strategy reports figures at the close (FiguresReported)
    live: bool = False  # the day's tape: frames and stream notices as a live session records them


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


class _Day:
    def __init__(self, session_date: dt.date, plan: DayPlan) -> None:
        calendar = get_calendar("XNYS")
        self.date = session_date
        self.plan = plan
        self.open = calendar.open(session_date)
        self.close = calendar.close(session_date)
        self.early_close = calendar.is_early_close(session_date)
        self.minutes = int((self.close - self.open).total_seconds() // 60)
        self.history = calendar.previous_sessions(session_date, plan.trailing_days) if plan.trailing_days else []
        self.counter = 0
        self.batches: list[Batch] = []

    def at(self, minutes: int) -> dt.datetime:
        return self.open + dt.timedelta(minutes=minutes)

    def request_id(self) -> str:
        self.counter += 1
        return f"{self.date:%Y%m%d}-{self.counter:04d}"

    def received(
        self, rid: str, symbol: str, op: Operation, source: Source, t: dt.datetime | None, **kw
    ) -> ev.EventBase:
        what = {Operation.SYMBOL: "the symbol in full", Operation.BAR: "bars", Operation.INDICATOR: "an indicator"}[op]
        return ev.RequestReceived(
            symbol=symbol,
            request_id=rid,
            sim_time=t,
            operation=op,
            source=source,
            description=f"{source.value} asked for {what} of {symbol}{self.plan.variant}",
            **kw,
        )

    def validated(self, rid: str, symbol: str, t: dt.datetime | None, full: bool) -> ev.EventBase:
        result = SymbolValidationResult(
            symbol=symbol,
            can_proceed=True,
            data_source_available=True,
            data_source="parquet",
            intervals_supported=["1m", "5m", "15m"],
            has_historical_data=True,
            meets_config_requirements=full,
        )
        return ev.SymbolValidated(symbol=symbol, request_id=rid, sim_time=t, result=result)

    def extend(self, rid: str, symbol: str, t: dt.datetime | None, intervals: Sequence[Interval]) -> Batch:
        env = {"symbol": symbol, "request_id": rid, "sim_time": t}
        out: Batch = []
        for interval in intervals:
            derived = not interval.is_base
            out.append(
                ev.IntervalAdded(interval=interval, derived=derived, base=interval.base if derived else None, **env)
            )
        return out

    def history_loaded(self, rid: str, symbol: str, t: dt.datetime | None) -> Batch:
        env = {"symbol": symbol, "request_id": rid, "sim_time": t}
        rows = self.minutes * len(self.history)
        return [
            ev.HistoricalLoaded(
                interval=M1,
                sessions=len(self.history),
                start=self.history[0] if self.history else None,
                end=self.history[-1] if self.history else None,
                rows=rows,
                digest=_digest(symbol, self.date, "history", rows),
                **env,
            ),
            ev.SessionBarsLoaded(interval=M1, rows=self.minutes, digest=_digest(symbol, self.date, "bars"), **env),
        ]

    def quality(self, rid: str, symbol: str, t: dt.datetime | None) -> ev.EventBase:
        missing = sum(map(ord, symbol)) % 3
        gaps = [ev.Gap(start=self.at(100), end=self.at(100 + missing - 1), missing=missing)] if missing else []
        present = self.minutes - missing
        return ev.QualityCalculated(
            symbol=symbol,
            request_id=rid,
            sim_time=t,
            interval=M1,
            expected=self.minutes,
            present=present,
            quality=present / self.minutes,
            gaps=gaps,
        )

    def config_symbol(self, symbol: str) -> Batch:
        rid = self.request_id()
        env = {"symbol": symbol, "request_id": rid}
        steps = ["create_symbol full", "add_interval 1m", "add_interval 5m", "add_interval 15m"]
        steps += [
            "load_historical 1m",
            "load_session 1m",
            f"register_indicator {SMA_20_5M.key}",
            "calculate_quality 1m",
        ]
        return [
            self.received(rid, symbol, Operation.SYMBOL, Source.CONFIG, None),
            ev.RequestPlanned(steps=steps, target_state="full", history_sessions=len(self.history), **env),
            self.validated(rid, symbol, None, True),
            ev.SymbolCreated(
                mode="full",
                base_interval=M1,
                added_by=Source.CONFIG,
                auto_provisioned=False,
                meets_session_config_requirements=True,
                **env,
            ),
            *self.extend(rid, symbol, None, (M1, M5, M15)),
            *self.history_loaded(rid, symbol, None),
            ev.IndicatorRegistered(indicator=SMA_20_5M, warmup_bars=40, bars_used=40, **env),
            self.quality(rid, symbol, None),
            ev.RequestCompleted(steps=len(steps), **env),
        ]

    def rejected_symbol(self, symbol: str) -> Batch:
        rid = self.request_id()
        env = {"symbol": symbol, "request_id": rid}
        result = SymbolValidationResult(symbol=symbol, reason="no 1m bars in the store")
        return [
            self.received(rid, symbol, Operation.SYMBOL, Source.CONFIG, None),
            ev.RequestPlanned(steps=["create_symbol full"], target_state="full", **env),
            ev.SymbolRejected(reason=f"{symbol}: no 1m bars in the store for {self.date}", result=result, **env),
        ]

    def scanner_add(self, symbol: str, t: dt.datetime) -> Batch:
        rid = self.request_id()
        env = {"symbol": symbol, "request_id": rid, "sim_time": t}
        return [
            self.received(rid, symbol, Operation.INDICATOR, Source.SCANNER, t, indicator=RSI_14_1M),
            ev.RequestPlanned(steps=["create_symbol adhoc", "add_interval 1m"], target_state="adhoc", **env),
            self.validated(rid, symbol, t, False),
            ev.SymbolCreated(
                mode="adhoc",
                base_interval=M1,
                added_by=Source.SCANNER,
                auto_provisioned=True,
                meets_session_config_requirements=False,
                added_at=t,
                **env,
            ),
            *self.extend(rid, symbol, t, (M1,)),
            *self.history_loaded(rid, symbol, t),
            ev.IndicatorRegistered(
                indicator=RSI_14_1M, warmup_bars=71, bars_used=71, current_value=48.5, last_updated=t, valid=True, **env
            ),
            ev.RequestCompleted(steps=5, **env),
        ]

    def strategy_upgrade(self, symbol: str, t: dt.datetime) -> Batch:
        rid = self.request_id()
        env = {"symbol": symbol, "request_id": rid, "sim_time": t}
        return [
            self.received(rid, symbol, Operation.SYMBOL, Source.STRATEGY, t),
            ev.RequestPlanned(
                steps=["upgrade_symbol", "add_interval 5m", "add_interval 15m"], target_state="full", **env
            ),
            self.validated(rid, symbol, t, True),
            ev.SymbolUpgraded(added_by=Source.STRATEGY, **env),
            *self.extend(rid, symbol, t, (M5, M15)),
            ev.IndicatorRegistered(indicator=SMA_20_5M, warmup_bars=40, bars_used=40, **env),
            self.quality(rid, symbol, t),
            ev.RequestCompleted(steps=6, **env),
        ]

    def duplicate_request(self, symbol: str, t: dt.datetime) -> Batch:
        rid = self.request_id()
        env = {"symbol": symbol, "request_id": rid, "sim_time": t}
        return [
            self.received(rid, symbol, Operation.SYMBOL, Source.STRATEGY, t),
            ev.RequestPlanned(steps=[], target_state="full", **env),
            ev.RequestSkipped(reason=f"{symbol} is already full with everything asked for", **env),
        ]

    def failed_request(self, symbol: str, t: dt.datetime) -> Batch:
        rid = self.request_id()
        env = {"symbol": symbol, "request_id": rid, "sim_time": t}
        return [
            self.received(rid, symbol, Operation.BAR, Source.STRATEGY, t, interval=Interval("30m"), days=2),
            ev.RequestPlanned(steps=["add_interval 30m", "load_historical 1m"], target_state="full", **env),
            self.validated(rid, symbol, t, True),
            ev.ProvisioningFailed(
                step="load_historical 1m", error="history range not covered", completed_steps=[], **env
            ),
        ]

    def tape(self, symbols: Sequence[str]) -> Batch:
        """A live day's inputs in its first minutes: a connection, each kind of frame, a drop, the reconnection
        and the backfill of the minute it missed."""
        first = symbols[0]
        second = dt.timedelta(seconds=1)
        bar = {"open": 10.0, "high": 10.5, "low": 9.75, "close": 10.25, "volume": 1200.0}
        arrive = self.at(1) + 40 * dt.timedelta(milliseconds=1)
        return [
            ev.FeedConnected(at=self.open - 5 * second, feed="iex", symbols=list(symbols)),
            ev.TradingStatusReceived(
                symbol=first, ts=self.open - second, received_at=self.open, status_code="T", status_message="Trading"
            ),
            *(
                ev.BarReceived(symbol=s, ts=self.open, received_at=arrive, trade_count=31.0, vwap=10.1, **bar)
                for s in symbols
            ),
            ev.BarUpdated(
                symbol=first, ts=self.open, received_at=self.at(1) + 30 * second, **{**bar, "volume": 1300.0}
            ),
            ev.DailyBarReceived(symbol=first, ts=self.open, received_at=self.at(1) + 31 * second, **bar),
            ev.FeedDisconnected(
                at=self.at(1) + 45 * second, reason="dropped", detail="socket closed", last_minute=self.open
            ),
            ev.FeedReconnected(
                at=self.at(3) + 2 * second, missed_start=self.at(1), missed_end=self.at(1), missed_minutes=1
            ),
            ev.FeedBackfilled(at=self.at(3) + 3 * second, start=self.at(1), end=self.at(1), minutes=1, bars=1),
            ev.BarReceived(symbol=first, ts=self.at(1), received_at=self.at(3) + 3 * second, backfilled=True, **bar),
            ev.BarsMissing(minute=self.at(2), symbols=[first], sim_time=self.at(3) + 5 * second),
        ]

    def build(self) -> list[Batch]:
        plan = self.plan
        config = [*plan.symbols, *plan.rejected]
        self.batches.append([ev.TeardownStarted(session_date=self.date)])
        self.batches.append(
            [
                ev.LoadingStarted(
                    session_date=self.date,
                    open=self.open,
                    close=self.close,
                    early_close=self.early_close,
                    config_symbols=config,
                )
            ]
        )
        for symbol in plan.symbols:
            self.batches.append(self.config_symbol(symbol))
        for symbol in plan.rejected:
            self.batches.append(self.rejected_symbol(symbol))
        live = list(plan.symbols)
        self.batches.append([ev.StreamingStarted(symbols=list(live), sim_time=self.open)])
        if plan.live and live:
            self.batches.append(self.tape(live))
        if plan.scanner_symbol:
            self.batches.append(self.scanner_add(plan.scanner_symbol, self.at(60)))
            if plan.live:  # the loop subscribes the added symbol after the step
                self.batches.append(
                    [ev.FeedSubscribed(at=self.at(61), symbols=[plan.scanner_symbol], kinds=["bar", "updated_bar"])]
                )
            live.append(plan.scanner_symbol)
            if plan.upgrade:
                self.batches.append(self.strategy_upgrade(plan.scanner_symbol, self.at(90)))
        if plan.duplicate and plan.symbols:
            self.batches.append(self.duplicate_request(plan.symbols[0], self.at(120)))
        if plan.failure and plan.symbols:
            self.batches.append(self.failed_request(plan.symbols[-1], self.at(150)))
        if plan.figures:
            figures = {"trades": len(live), "pnl": 1.5 + plan.extra.get(live[0], 0) if live else 0.0, "ok": True}
            self.batches.append(
                [ev.FiguresReported(plugin="tests.plugins:Strategy", figures=figures, sim_time=self.close)]
            )
        state = SessionState().apply_all([e for b in self.batches for e in b])
        streamed: Batch = []
        for symbol in live:
            data = state.symbols[symbol]
            bars = {key: self.minutes // max(1, b.interval.seconds // 60) for key, b in data.bars.items()}
            values = {
                key: ev.IndicatorValue(
                    current_value=100.0 + len(key) + plan.extra.get(symbol, 0), last_updated=self.close, valid=True
                )
                for key in data.indicators
            }
            streamed.append(ev.SymbolStreamed(symbol=symbol, sim_time=self.close, bars=bars, indicators=values))
        symbols_out = {symbol: state.symbols[symbol].state for symbol in live}
        self.batches.append([*streamed, ev.SessionEnded(steps=self.minutes, symbols=symbols_out, sim_time=self.close)])
        teardown: Batch = [ev.TeardownStarted(session_date=self.date, sim_time=self.close)]
        teardown += [
            ev.SymbolTornDown(symbol=s, previous_state=state.symbols[s].state, sim_time=self.close) for s in live
        ]
        self.batches.append(teardown)
        return self.batches


def day_batches(session_date: dt.date, plan: DayPlan | None = None) -> list[Batch]:
    """The batches of one day's stream; every event applies cleanly to a fresh SessionState."""
    batches = _Day(session_date, plan or DayPlan()).build()
    SessionState().apply_all([e for b in batches for e in b])
    return batches


def sessions(start: dt.date, count: int) -> list[dt.date]:
    """`count` consecutive XNYS sessions from `start` on."""
    calendar = get_calendar("XNYS")
    days = calendar.sessions(start, start + dt.timedelta(days=count * 2 + 10))
    return days[:count]


def run_batches(dates: Sequence[dt.date], plan: DayPlan | None = None) -> dict[dt.date, list[Batch]]:
    return {d: day_batches(d, plan) for d in dates}


def flatten(batches: Sequence[Batch]) -> list[ev.EventBase]:
    return [e for b in batches for e in b]


DEFAULT_START = dt.date(2013, 10, 9)


def small_run(days: int = 3, plan: DayPlan | None = None) -> dict[dt.date, list[Batch]]:
    """The default test run: three XNYS sessions from 2013-10-09, each with the full day shape."""
    return run_batches(sessions(DEFAULT_START, days), plan)


def big_plan(symbols: int) -> DayPlan:
    """A day with many config symbols, for the benchmarks."""
    return DayPlan(symbols=tuple(f"S{i:04d}" for i in range(symbols)))


def one_of_each_kind() -> dict[str, ev.EventBase]:
    """A real event of every kind: the first of each in the default run, and the two day endings it
    does not write (a failed and an aborted session)."""
    found: dict[str, ev.EventBase] = {}
    for batches in small_run(1, DayPlan(live=True)).values():
        for event in flatten(batches):
            found.setdefault(event.kind, event)
    found["SessionFailed"] = ev.SessionFailed(reason="every configured symbol failed validation")
    found["SessionAborted"] = ev.SessionAborted(error="RuntimeError: the strategy raised")
    return found
