"""Requests, provisioning plans and validation results.

A request (who asks for what) is analyzed into `ProvisioningRequirements`:
the intervals with their base, the history to load and the typed steps that
make it so. Validation against the data answers with a `SymbolValidationResult`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from specs.indicators import IndicatorSpec
from specs.intervals import Interval


class Source(StrEnum):
    """Who asked: the `added_by` of the seeds."""

    CONFIG = "config"
    STRATEGY = "strategy"
    SCANNER = "scanner"
    ADHOC = "adhoc"


class Operation(StrEnum):
    SYMBOL = "symbol"
    BAR = "bar"
    INDICATOR = "indicator"


class BarScope(StrEnum):
    """What a bar request provisions: history and the session's bars (the default), history only (seed 003's
    `add_bar_unified(historical_only=True)`) or the session's bars only (seed 003's `add_session_bars`)."""

    BOTH = "both"
    HISTORY = "history"
    SESSION = "session"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Request(_Frozen):
    """One call of `add_symbol`, `add_bar` or `add_indicator`."""

    request_id: str
    operation: Operation
    symbol: str
    source: Source
    interval: Interval | None = None
    days: int = Field(default=0, ge=0)
    indicator: IndicatorSpec | None = None
    #: For a bar request: history and session bars, history only or session bars only; None for the others.
    scope: BarScope | None = None

    def describe(self) -> str:
        """Who asked for what, in the words of what the request provisions."""
        if self.operation is Operation.SYMBOL:
            full = self.source in (Source.CONFIG, Source.STRATEGY)
            what = "the symbol in full" if full else "the symbol ad hoc (its base interval's session bars)"
        elif self.operation is Operation.BAR:
            what = self._bars()
        else:
            what = f"indicator {self.indicator.key if self.indicator else '?'}"
        return f"{self.source.value} asked for {what} of {self.symbol}"

    def _bars(self) -> str:
        history = f"{self.days} session{'s' if self.days != 1 else ''} of history"
        if self.scope is BarScope.HISTORY:
            return f"{self.interval} bars, {history} only (no session bars)"
        if self.scope is BarScope.SESSION:
            return f"{self.interval} session bars only (no history)"
        return f"{self.interval} bars" + (f" with {history}" if self.days else "")


class IntervalRequirement(_Frozen):
    interval: Interval
    derived: bool
    base: Interval | None = None


class HistoryRequirement(_Frozen):
    """History to load, in trading sessions before the session date."""

    interval: Interval
    sessions: int = Field(ge=0)
    start: dt.date | None = None
    end: dt.date | None = None
    bars_needed: int = Field(default=0, ge=0)
    reason: str = ""
    #: The sessions of history the symbol already holds that this load joins onto (0: a load from nothing).
    #: History is only ever extended further back, so a joining load names exactly the sessions missing
    #: before the held ones (`start`..`end`), never the held ones again.
    joins: int = Field(default=0, ge=0)


# The typed steps, in the order the executor runs them.


class CreateSymbol(_Frozen):
    step: Literal["create_symbol"] = "create_symbol"
    mode: Literal["adhoc", "full"]


class UpgradeSymbol(_Frozen):
    step: Literal["upgrade_symbol"] = "upgrade_symbol"


class AddInterval(_Frozen):
    step: Literal["add_interval"] = "add_interval"
    interval: Interval
    derived: bool
    base: Interval | None = None


class LoadHistorical(_Frozen):
    step: Literal["load_historical"] = "load_historical"
    history: HistoryRequirement


class LoadSession(_Frozen):
    step: Literal["load_session"] = "load_session"
    interval: Interval


class RegisterIndicator(_Frozen):
    step: Literal["register_indicator"] = "register_indicator"
    indicator: IndicatorSpec


class CalculateQuality(_Frozen):
    step: Literal["calculate_quality"] = "calculate_quality"
    interval: Interval


ProvisioningStep = Annotated[
    CreateSymbol | UpgradeSymbol | AddInterval | LoadHistorical | LoadSession | RegisterIndicator | CalculateQuality,
    Field(discriminator="step"),
]


def step_label(step: ProvisioningStep) -> str:
    """A short human name: `add_interval 5m`, `register_indicator sma_20_5m`."""
    if isinstance(step, CreateSymbol):
        return f"create_symbol {step.mode}"
    if isinstance(step, AddInterval | LoadSession | CalculateQuality):
        return f"{step.step} {step.interval}"
    if isinstance(step, LoadHistorical):
        history = step.history
        joins = f" joining {history.joins} held" if history.joins else ""
        return f"load_historical {history.interval} x{history.sessions} sessions{joins}"
    if isinstance(step, RegisterIndicator):
        return f"register_indicator {step.indicator.key}"
    return step.step


class ProvisioningRequirements(_Frozen):
    """The plan for one request (the seeds' ProvisioningRequirements, with typed steps)."""

    request: Request
    session_date: dt.date
    symbol_exists: bool
    current_state: Literal["absent", "adhoc", "full"]
    target_state: Literal["absent", "adhoc", "full"]
    base_interval: Interval
    required_intervals: tuple[IntervalRequirement, ...] = ()
    history: HistoryRequirement | None = None
    indicator: IndicatorSpec | None = None
    steps: tuple[ProvisioningStep, ...] = ()
    meets_session_config_requirements: bool = False
    added_by: Source = Source.ADHOC
    auto_provisioned: bool = False
    reason: str = ""

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def is_noop(self) -> bool:
        """Everything asked for exists already: a duplicate request."""
        return not self.steps

    @property
    def step_labels(self) -> list[str]:
        return [step_label(s) for s in self.steps]


class SymbolValidationResult(_Frozen):
    """Can this symbol be provisioned from the data source? (the seeds' fields)"""

    symbol: str
    can_proceed: bool = False
    reason: str = ""
    data_source_available: bool = False
    data_source: str | None = None
    intervals_supported: list[str] = Field(default_factory=list)
    has_historical_data: bool = False
    meets_config_requirements: bool = False
