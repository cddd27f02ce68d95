"""What a live feed delivers: plain frozen records, one per received message, with no library types in them.

`LiveFrame` is a bar (`bar`), an updated bar (`updated_bar`, a late correction of a minute already
sent), a daily bar (`daily_bar`, the day so far) or a trading status (`status`). `ts` is the exchange's
timestamp (a bar's open time); `received_at` is when daytape took it off the socket, on daytape's clock.
`StreamNotice` says what happened to the connection, in the same queue and order as the frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

FrameKind = Literal["bar", "updated_bar", "daily_bar", "status"]
NoticeKind = Literal["connected", "reconnected", "disconnected", "silent", "failed", "stopped"]

#: The stream's message type (`T`) for each frame kind.
KIND_OF_TYPE: dict[str, FrameKind] = {"b": "bar", "u": "updated_bar", "d": "daily_bar", "s": "status"}


@dataclass(frozen=True, slots=True)
class LiveFrame:
    kind: FrameKind
    symbol: str
    ts: datetime
    received_at: datetime
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None
    volume: float | None = None
    trade_count: float | None = None
    vwap: float | None = None
    status_code: str | None = None
    status_message: str | None = None
    reason_code: str | None = None
    reason_message: str | None = None
    tape: str | None = None
    #: True for a bar fetched from the REST history to fill a minute the stream missed
    backfilled: bool = False

    @property
    def is_bar(self) -> bool:
        return self.kind != "status"


@dataclass(frozen=True, slots=True)
class StreamNotice:
    """A change of the connection: `connected` (the first time), `reconnected` (after a drop or a silence,
    subscriptions sent again), `disconnected` (the socket closed under us), `silent` (no frame for the
    configured time: the socket is closed and a new one opened), `failed` (the stream gave up: `error`
    says why), `stopped` (stop() was called)."""

    kind: NoticeKind
    at: datetime
    detail: str = ""
    error: Exception | None = None
