"""The session file: what a run loads every session (CONTRACT.md, "The session file")."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from specs.indicators import IndicatorSpec
from specs.intervals import Interval
from specs.symbols import normalize_symbol

PLUGIN_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class HistoricalConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, strict=True)
    trailing_days: int = Field(default=0, ge=0, strict=True)


class PluginRef(BaseModel):
    """A scanner or strategy named by import path, `package.module:ClassName`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    class_path: str = Field(alias="class")
    params: dict[str, Any] = Field(default_factory=dict)
    #: A folder to import the module from, besides the installed packages and the current folder. When a run
    #: reads a session file it sets this to the file's folder (or the folder above it that holds the
    #: module's package), and records it, so that `verify` and workers import the same module from anywhere.
    path: str | None = None

    @field_validator("class_path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not PLUGIN_PATTERN.match(value):
            raise ValueError(f"invalid class path {value!r}: expected 'package.module:ClassName'")
        return value


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FeedConfig(BaseModel):
    """`mode: live`: where the live bars come from (CONTRACT.md, "Session file, live mode"). Credentials are
    named here by their environment variables only; their values never appear in a file, the log or output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["alpaca"] = "alpaca"
    #: Alpaca's stream feed: `iex` (free plans) or `sip` (every US exchange; a paid plan)
    feed: Literal["iex", "sip"] = "iex"
    #: the market-data stream's URL instead of Alpaca's (a local `daytape feed serve`)
    stream_url: str | None = None
    #: the REST data API's URL instead of Alpaca's
    rest_url: str | None = None
    key_env: str = "ALPACA_API_KEY"
    secret_env: str = "ALPACA_SECRET_KEY"
    #: where warm-up history and symbol checks come from: the Parquet `store` or Alpaca's REST `alpaca`
    history: Literal["store", "alpaca"] = "store"
    #: how long after a minute's end its step waits for the bars still missing
    grace_seconds: float = Field(default=3.0, gt=0, le=60, strict=True)
    #: no frame at all for this long: the socket is taken as dead, closed and opened again (the live client's
    #: default; a quiet IEX subscription can go a minute or two without a bar)
    silence_timeout_seconds: float = Field(default=150.0, gt=0, le=3600, strict=True)
    #: the minutes a dropped connection missed: fetched from the REST history (`backfill`) or left as gaps
    missed_minutes: Literal["backfill", "gap"] = "backfill"

    @field_validator("stream_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^wss?://[^\s/]+", value):
            raise ValueError(f"expected a ws:// or wss:// URL, got {value!r}")
        return value

    @field_validator("rest_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("key_env", "secret_env")
    @classmethod
    def _variable_name(cls, value: str) -> str:
        if not ENV_NAME.match(value):
            raise ValueError(f"expected the name of an environment variable, got {value!r}")
        return value

    @model_validator(mode="after")
    def _two_variables(self) -> Self:
        if self.key_env == self.secret_env:
            raise ValueError(f"key_env and secret_env are both {self.key_env}; the key and secret are two variables")
        return self


class SessionConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    exchange: str = "XNYS"
    #: `live` runs today's session on a market-data stream (`feed`); `start`..`end` bound the days it may run
    mode: Literal["backtest", "live"] = "backtest"
    start: dt.date
    end: dt.date
    store: str = "./data"
    log: str | None = None
    symbols: list[str] = Field(default_factory=list)
    streams: list[Interval] = Field(default_factory=lambda: [Interval("1m")])
    derived: list[Interval] = Field(default_factory=list)
    historical: HistoricalConfig = Field(default_factory=HistoricalConfig)
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    warmup_multiplier: float = Field(default=2.0, gt=0, strict=True)
    scanner: PluginRef | None = None
    strategy: PluginRef | None = None
    #: the live feed (`mode: live` only; its defaults when the section is left out)
    feed: FeedConfig | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date_not_number(cls, value: Any) -> Any:
        # pydantic would read a number as seconds since 1970 (and a boolean as a number)
        if isinstance(value, int | float):
            raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
        return value

    @field_validator("symbols", mode="before")
    @classmethod
    def _normalize_symbols(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [normalize_symbol(v) for v in value]
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.feed is not None and self.mode != "live":
            raise ValueError("feed: a feed section is for mode: live only")
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        if len(set(self.symbols)) != len(self.symbols):
            dupes = sorted({s for s in self.symbols if self.symbols.count(s) > 1})
            raise ValueError(f"symbols listed twice: {', '.join(dupes)}")
        if not self.streams:
            raise ValueError("streams: at least one base interval is needed")
        if self.mode == "live" and self.streams != [Interval("1m")]:
            raise ValueError("streams: a live feed delivers minute bars; a live session streams [1m]")
        for stream in self.streams:
            if not stream.is_base:
                raise ValueError(f"streams: {stream} is not a base interval (derive it from {stream.base})")
        for interval in self.derived:
            if interval.base not in self.streams:
                raise ValueError(f"derived: {interval} needs the base stream {interval.base}, which is not in streams")
        for spec in self.indicators:
            if spec.interval.base not in self.streams:
                raise ValueError(
                    f"indicators: {spec.key} needs the base stream {spec.interval.base}, which is not in streams"
                )
        keys = [spec.key for spec in self.indicators]
        if len(set(keys)) != len(keys):
            raise ValueError(f"indicators listed twice: {', '.join(sorted({k for k in keys if keys.count(k) > 1}))}")
        return self

    @property
    def live_feed(self) -> FeedConfig:
        """The feed of a live session: the file's section, or its defaults."""
        return self.feed if self.feed is not None else FeedConfig()

    @property
    def base_interval(self) -> Interval:
        """The finest stream: what the clock steps by."""
        return min(self.streams)

    def full_intervals(self) -> list[Interval]:
        """Every interval a full symbol carries: streams, derived and indicator intervals."""
        seen: list[Interval] = []
        for interval in [*self.streams, *self.derived, *(s.interval for s in self.indicators)]:
            if interval not in seen:
                seen.append(interval)
        return sorted(seen)

    @property
    def trailing_days(self) -> int:
        return self.historical.trailing_days if self.historical.enabled else 0

    def to_yaml_dict(self) -> dict[str, Any]:
        """A plain dict that dumps to a session file this model reads back equal."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        data["indicators"] = [spec.model_dump(mode="json", exclude_none=True) for spec in self.indicators]
        return data
