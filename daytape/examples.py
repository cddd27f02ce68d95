"""The example plugins of CONTRACT.md, importable by any session file."""

from __future__ import annotations

from typing import Any

from daytape.plugins import PluginContext, Scanner, Strategy, parse_clock_time
from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.plan import BarScope
from specs.symbols import normalize_symbol


class _AtTime:
    """Fires once per session, at the first step at or after `at` (exchange time)."""

    def _setup_at(self, at: Any) -> None:
        self.at = parse_clock_time(at, "at")
        self._fired = False

    def _due(self, ctx: PluginContext) -> bool:
        if self._fired or ctx.local_time < self.at:
            return False
        self._fired = True
        return True

    def on_session_start(self, ctx: PluginContext) -> None:
        self._fired = False


class ListScanner(_AtTime, Scanner):
    """At `at` every session, asks for `indicator` on each listed symbol (source scanner)."""

    def __init__(self, symbols: list[str], at: str, indicator: dict[str, Any]) -> None:
        super().__init__(symbols=symbols, at=at, indicator=indicator)
        self.symbols = [normalize_symbol(s) for s in symbols]
        self.indicator = IndicatorSpec.model_validate(indicator)
        self._setup_at(at)

    def on_step(self, ctx: PluginContext) -> None:
        if self._due(ctx):
            for symbol in self.symbols:
                ctx.add_indicator(symbol, self.indicator)


class BarScanner(_AtTime, Scanner):
    """At `at` every session, asks for `interval` bars of each listed symbol with `days` sessions of history;
    `scope` is `both` (history and session bars), `history` (history only, days >= 1) or `session` (the
    session's bars only, days 0)."""

    def __init__(self, symbols: list[str], at: str, interval: str, days: int = 0, scope: str = "both") -> None:
        super().__init__(symbols=symbols, at=at, interval=interval, days=days, scope=scope)
        self.symbols = [normalize_symbol(s) for s in symbols]
        self.interval = Interval(interval)
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"days must be a whole number of sessions >= 0, got {days!r}")
        try:
            self.scope = BarScope(scope)
        except ValueError:
            choices = ", ".join(s.value for s in BarScope)
            raise ValueError(f"scope must be one of {choices}, got {scope!r}") from None
        if self.scope is BarScope.HISTORY and days == 0:
            raise ValueError("scope history needs days >= 1")
        if self.scope is BarScope.SESSION and days:
            raise ValueError(f"scope session takes no history: days must be 0, got {days}")
        self.days = days
        self._setup_at(at)

    def on_step(self, ctx: PluginContext) -> None:
        if self._due(ctx):
            for symbol in self.symbols:
                ctx.add_bar(symbol, self.interval, self.days, self.scope)


class UpgradeStrategy(_AtTime, Strategy):
    """At `at` every session, asks for each listed symbol in full (source strategy)."""

    def __init__(self, symbols: list[str], at: str) -> None:
        super().__init__(symbols=symbols, at=at)
        self.symbols = [normalize_symbol(s) for s in symbols]
        self._setup_at(at)

    def on_step(self, ctx: PluginContext) -> None:
        if self._due(ctx):
            for symbol in self.symbols:
                ctx.add_symbol(symbol)
