"""The example plugins of CONTRACT.md, importable by any session file."""

from __future__ import annotations

from typing import Any

from daytape.plugins import PluginContext, Scanner, Strategy, parse_clock_time
from specs.indicators import IndicatorSpec
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
