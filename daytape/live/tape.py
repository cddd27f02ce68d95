"""The tape: what a live day received, as events of its stream, and back.

`TapeRecorder` turns each `LiveFrame` and `StreamNotice` (marketdata.live.frames), and each mid-session
subscription, into the tape's input event (specs.events: BarReceived, BarUpdated, DailyBarReceived,
TradingStatusReceived, FeedConnected, FeedDisconnected, FeedReconnected, FeedBackfilled, FeedSubscribed), to be
appended before the frame can affect any state. It keeps what a notice needs to say: the last minute received
before a drop, and so the minutes a reconnection missed.

`play_tape` reads a recorded day's events back into the frames and notices the live path takes, setting a
`SimulatedClock` to each one's recorded arrival time before yielding it: the input `verify` feeds through the
live path. Frames come back identical to the ones recorded; a notice comes back with its kind, time and
detail (an exception object is not recorded, only its text). A FeedBackfilled yields nothing: the backfilled
bars follow it as frames with `backfilled` set, so a replaying loop takes them instead of asking the REST
history. A FeedSubscribed yields nothing either: the replaying loop subscribes itself, and the replay feed
plays the subscription's recorded time then (daytape.live.replayfeed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Literal

from daytape.errors import CheckFailed
from marketdata.clock import SimulatedClock
from marketdata.live.frames import FrameKind, LiveFrame, NoticeKind, StreamNotice
from specs import events as ev

MINUTE = timedelta(minutes=1)

#: How each stream notice that ends a connection is recorded, and back.
_REASON_OF_NOTICE: dict[NoticeKind, Literal["dropped", "silent", "failed", "stopped"]] = {
    "disconnected": "dropped",
    "silent": "silent",
    "failed": "failed",
    "stopped": "stopped",
}
_NOTICE_OF_REASON: dict[str, NoticeKind] = {reason: kind for kind, reason in _REASON_OF_NOTICE.items()}

_BAR_EVENTS: dict[str, type[ev.BarReceived] | type[ev.BarUpdated] | type[ev.DailyBarReceived]] = {
    "bar": ev.BarReceived,
    "updated_bar": ev.BarUpdated,
    "daily_bar": ev.DailyBarReceived,
}
_FRAME_KIND_OF_EVENT = {"BarReceived": "bar", "BarUpdated": "updated_bar", "DailyBarReceived": "daily_bar"}

TapeEvent = (
    ev.BarReceived
    | ev.BarUpdated
    | ev.DailyBarReceived
    | ev.TradingStatusReceived
    | ev.FeedConnected
    | ev.FeedDisconnected
    | ev.FeedReconnected
    | ev.FeedBackfilled
    | ev.FeedSubscribed
)


class TapeError(CheckFailed, ValueError):
    """A frame the tape cannot record (a bar without its prices), or an event that is not the tape's (exit 1)."""


def minute_of(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def frame_event(frame: LiveFrame) -> TapeEvent:
    """The input event of one frame, with its arrival time and its own fields."""
    if frame.kind == "status":
        return ev.TradingStatusReceived(
            symbol=frame.symbol,
            ts=frame.ts,
            received_at=frame.received_at,
            status_code=frame.status_code,
            status_message=frame.status_message,
            reason_code=frame.reason_code,
            reason_message=frame.reason_message,
            tape=frame.tape,
        )
    prices = (frame.open, frame.high, frame.low, frame.close, frame.volume)
    if any(value is None for value in prices):
        raise TapeError(f"a {frame.kind} frame of {frame.symbol} at {frame.ts.isoformat()} without its prices")
    fields = {
        "symbol": frame.symbol,
        "ts": frame.ts,
        "received_at": frame.received_at,
        "open": frame.open,
        "high": frame.high,
        "low": frame.low,
        "close": frame.close,
        "volume": frame.volume,
        "trade_count": frame.trade_count,
        "vwap": frame.vwap,
    }
    if frame.kind == "bar":
        return ev.BarReceived(**fields, backfilled=frame.backfilled)  # type: ignore[arg-type]
    if frame.backfilled:
        raise TapeError(f"a {frame.kind} frame of {frame.symbol} marked backfilled; only minute bars are backfilled")
    return _BAR_EVENTS[frame.kind](**fields)  # type: ignore[arg-type]


def event_frame(event: ev.EventBase) -> LiveFrame:
    """The frame an input event recorded."""
    if isinstance(event, ev.TradingStatusReceived):
        return LiveFrame(
            "status",
            event.symbol,
            event.ts,
            event.received_at,
            status_code=event.status_code,
            status_message=event.status_message,
            reason_code=event.reason_code,
            reason_message=event.reason_message,
            tape=event.tape,
        )
    if isinstance(event, ev.BarReceived | ev.BarUpdated | ev.DailyBarReceived):
        return LiveFrame(
            _FRAME_KIND_OF_EVENT[event.kind],  # type: ignore[arg-type]
            event.symbol,
            event.ts,
            event.received_at,
            event.open,
            event.high,
            event.low,
            event.close,
            event.volume,
            event.trade_count,
            event.vwap,
            backfilled=isinstance(event, ev.BarReceived) and event.backfilled,
        )
    raise TapeError(f"{event.kind} is not a frame of the tape")


class TapeRecorder:
    """Frames and notices of one live day to its tape events, in the order they arrive.

    `feed` is the stream's feed (`iex`, `sip`), `missed_minutes` the session file's policy for the minutes a
    dropped connection missed, and `open`/`close` the day's session: missed minutes outside it are not
    counted."""

    def __init__(
        self,
        feed: str,
        missed_minutes: Literal["backfill", "gap"] = "backfill",
        open: datetime | None = None,
        close: datetime | None = None,
    ) -> None:
        self.feed, self.policy, self.open, self.close = feed, missed_minutes, open, close
        #: the open time of the latest minute bar received from the stream (backfills do not count)
        self.last_minute: datetime | None = None
        self._down_since: datetime | None = None

    def frame(self, frame: LiveFrame) -> TapeEvent:
        event = frame_event(frame)
        if frame.kind == "bar" and not frame.backfilled and (self.last_minute is None or frame.ts > self.last_minute):
            self.last_minute = frame.ts
        return event

    def notice(self, notice: StreamNotice, symbols: Iterable[str] = ()) -> TapeEvent:
        """The event of a connection change; `symbols` are the subscribed ones (said when connected)."""
        if notice.kind == "connected":
            return ev.FeedConnected(at=notice.at, feed=self.feed, symbols=sorted(symbols), detail=notice.detail)
        if notice.kind == "reconnected":
            start, end, minutes = self.missed(notice.at)
            self._down_since = None
            return ev.FeedReconnected(
                at=notice.at,
                detail=notice.detail,
                missed_start=start,
                missed_end=end,
                missed_minutes=minutes,
                policy=self.policy,
            )
        detail = notice.detail or (f"{type(notice.error).__name__}: {notice.error}" if notice.error else "")
        if self._down_since is None:
            self._down_since = notice.at
        return ev.FeedDisconnected(
            at=notice.at, reason=_REASON_OF_NOTICE[notice.kind], detail=detail, last_minute=self.last_minute
        )

    def missed(self, back_at: datetime) -> tuple[datetime | None, datetime | None, int]:
        """The minutes whose bars a connection back at `back_at` missed: after the last minute received (or
        from the minute the connection went down) to the last minute that ended before `back_at`, clipped to
        the session."""
        if self.last_minute is not None:
            start = self.last_minute + MINUTE
        elif self._down_since is not None:
            start = minute_of(self._down_since)
        else:
            return None, None, 0
        end = minute_of(back_at) - MINUTE
        if self.open is not None:
            start = max(start, self.open)
        if self.close is not None:
            end = min(end, self.close - MINUTE)
        if end < start:
            return None, None, 0
        return start, end, (end - start) // MINUTE + 1

    def subscribed(self, at: datetime, symbols: Iterable[str], kinds: Iterable[FrameKind]) -> TapeEvent:
        """FeedSubscribed: `symbols` subscribed mid-session at `at`, the time their first minute follows from."""
        return ev.FeedSubscribed(at=at, symbols=list(symbols), kinds=list(kinds))

    def backfilled(self, at: datetime, start: datetime, end: datetime, frames: Iterable[LiveFrame]) -> list[TapeEvent]:
        """FeedBackfilled for the minutes `start`..`end`, then each backfilled bar (marked so) as BarReceived."""
        bars = [frame if frame.backfilled else _as_backfilled(frame) for frame in frames]
        minutes = (end - start) // MINUTE + 1 if end >= start else 0
        head: TapeEvent = ev.FeedBackfilled(at=at, start=start, end=end, minutes=minutes, bars=len(bars))
        return [head, *(frame_event(bar) for bar in bars)]


def _as_backfilled(frame: LiveFrame) -> LiveFrame:
    if frame.kind != "bar":
        raise TapeError(f"only minute bars are backfilled, not a {frame.kind} frame")
    return LiveFrame(
        frame.kind,
        frame.symbol,
        frame.ts,
        frame.received_at,
        frame.open,
        frame.high,
        frame.low,
        frame.close,
        frame.volume,
        frame.trade_count,
        frame.vwap,
        backfilled=True,
    )


def arrival_time(event: ev.EventBase) -> datetime | None:
    """When an input event's frame or notice arrived (None for an event that is not the tape's)."""
    if isinstance(event, ev.BarReceived | ev.BarUpdated | ev.DailyBarReceived | ev.TradingStatusReceived):
        return event.received_at
    if isinstance(
        event, ev.FeedConnected | ev.FeedDisconnected | ev.FeedReconnected | ev.FeedBackfilled | ev.FeedSubscribed
    ):
        return event.at
    return None


def play_tape(events: Iterable[ev.EventBase], clock: SimulatedClock) -> Iterator[LiveFrame | StreamNotice]:
    """The recorded day's frames and notices in their recorded order, each yielded once `clock` is set to its
    arrival time. Events that are not the tape's (the steps' own events) are skipped."""
    for event in events:
        at = arrival_time(event)
        if at is None or isinstance(event, ev.FeedBackfilled | ev.FeedSubscribed):
            continue
        clock.set(at)
        if isinstance(event, ev.FeedConnected):
            yield StreamNotice("connected", at, event.detail)
        elif isinstance(event, ev.FeedReconnected):
            yield StreamNotice("reconnected", at, event.detail)
        elif isinstance(event, ev.FeedDisconnected):
            yield StreamNotice(_NOTICE_OF_REASON[event.reason], at, event.detail)
        else:
            yield event_frame(event)
