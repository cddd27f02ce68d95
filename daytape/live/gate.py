"""The minute gate: when a live session's step for minute m runs, from bars arriving one at a time.

Pure and clock-driven: nothing here reads a clock or waits. The caller offers each minute frame with its
arrival time (`received_at`, daytape's clock) and calls `advance(now)` when its timer fires at
`next_release()`; both return what is due, in order. The same frames at the same arrival times give the
same steps, which is what lets `verify` re-run a live day from its tape.

The rules:

- The session's minutes run from the calendar's open to its close (early closes included); minute m is the
  bar opening at m, and it ends at m + 1 minute.
- Steps run in minute order, each exactly once, never before its minute has ended. Minute m's step runs as
  soon as every symbol expected in it has its bar (at the arrival of the last one), or at its deadline,
  m's end + `grace`, whichever is first, and never before the step of the minute before it. Symbols
  without a bar at that point are the step's `gaps`.
- A frame arriving exactly at a deadline comes after it: the minute has already stepped.
- A second `bar` for a symbol and minute is a duplicate: ignored and counted.
- A `bar` for a minute that has stepped is a `late` input if that symbol was a gap in that step (the first
  one only; later copies are duplicates), else a duplicate. It never re-steps a minute.
- An `updated_bar` (a correction) for a minute not yet stepped replaces the symbol's bar of that minute (or
  stands in for it if none came); for a stepped minute it is a `correction`: it corrects the bar for later
  steps, and what that step's plugins saw stays what they saw.
- `add(symbol, at)` first runs the steps due by `at`, then expects the symbol from the first minute that
  neither has stepped nor ended before `at` (a subscription made at `at` brings the bars of minutes ending
  after it); `remove(symbol, at)` runs the steps due by `at`, then expects it in no minute that has not
  stepped, and drops its waiting bars.
- Frames of minutes outside the session, and of symbols not subscribed for that minute, are ignored and
  counted. Daily bars and trading statuses do not pass the gate (they are recorded on the tape only).
- Arrival times never go back: a frame or an `advance` earlier than the gate's time is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Literal, Protocol, TypeVar

from daytape.errors import CheckFailed

MINUTE = timedelta(minutes=1)


class GateError(CheckFailed, ValueError):
    """A frame or a time the gate cannot take (time going back, a frame kind that does not step): the live
    path is not as it must be (exit 1)."""


class MinuteFrame(Protocol):
    """What the gate reads of a frame (`marketdata.live.frames.LiveFrame` is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def ts(self) -> datetime: ...
    @property
    def received_at(self) -> datetime: ...


F = TypeVar("F", bound=MinuteFrame)


@dataclass(frozen=True)
class Step(Generic[F]):
    """Minute `minute`'s step, run `at`: the bar of each symbol that has one, and the symbols without."""

    minute: datetime
    at: datetime
    bars: Mapping[str, F]
    gaps: tuple[str, ...]
    by_deadline: bool


@dataclass(frozen=True)
class LateInput(Generic[F]):
    """A frame for a minute that has stepped: a `late` bar (its symbol was a gap in that step) or a
    `correction` (an updated bar). It corrects the bar for later steps; it never re-steps its minute."""

    frame: F
    kind: Literal["late", "correction"]


@dataclass
class GateCounts:
    duplicates: int = 0
    late: int = 0
    corrections: int = 0
    outside_session: int = 0
    unsubscribed: int = 0
    steps: int = 0
    gaps: int = 0


@dataclass
class _Minute(Generic[F]):
    bars: dict[str, F] = field(default_factory=dict)


def minute_of(t: datetime) -> datetime:
    """The open time of the minute that holds `t`."""
    return t.replace(second=0, microsecond=0)


class MinuteGate(Generic[F]):
    def __init__(
        self, symbols: Iterable[str], open: datetime, close: datetime, grace: timedelta, start: datetime | None = None
    ) -> None:
        if open.tzinfo is None or close.tzinfo is None:
            raise GateError("the session's open and close must carry a timezone")
        if close <= open or (close - open) % MINUTE:
            raise GateError(f"the session {open} .. {close} is not a whole number of minutes")
        if grace <= timedelta(0):
            raise GateError(f"the grace must be above 0, got {grace}")
        self.open, self.close, self.grace = open, close, grace
        #: the gate's time: the latest arrival or advance it saw (None before the first)
        self.now: datetime | None = start
        #: the first minute that has not stepped (== close once the day has stepped through)
        self.next_minute = open
        #: each subscribed symbol's first expected minute
        self._first: dict[str, datetime] = {symbol: open for symbol in symbols}
        self._pending: dict[datetime, _Minute[F]] = {}
        #: the minutes each symbol was a gap in that no late bar has filled yet
        self._gaps: dict[str, set[datetime]] = {}
        self._last_at = open
        #: how many symbols each minute expects (cached: a minute's bars are counted, not looked up, as they come)
        self._expected_counts: dict[datetime, int] = {}
        self.counts = GateCounts()

    # --- what is subscribed ------------------------------------------------------------------------------

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(self._first)

    @property
    def done(self) -> bool:
        return self.next_minute >= self.close

    def add(self, symbol: str, at: datetime) -> list[Step[F]]:
        """Subscribe `symbol` at `at`; the steps due by `at` run first (returned), without it."""
        steps = self.advance(at)
        if symbol not in self._first:
            self._first[symbol] = max(self.next_minute, minute_of(at))
            self._expected_counts.clear()
        return steps

    def first_minute(self, symbol: str) -> datetime | None:
        """The first minute `symbol` is expected in (None when it is not subscribed)."""
        return self._first.get(symbol)

    def remove(self, symbol: str, at: datetime) -> list[Step[F]]:
        """Unsubscribe `symbol` at `at`; the steps due by `at` run first (returned), with it."""
        steps = self.advance(at)
        if self._first.pop(symbol, None) is not None:
            self._expected_counts.clear()
            for minute in self._pending.values():
                if minute.bars.pop(symbol, None) is not None:
                    self.counts.unsubscribed += 1
        return steps

    def _expected(self, minute: datetime) -> list[str]:
        return [symbol for symbol, first in self._first.items() if first <= minute]

    # --- time ---------------------------------------------------------------------------------------------

    def _move_to(self, now: datetime) -> None:
        if self.now is not None and now < self.now:
            raise GateError(f"time went back: {now.isoformat()} is before the gate's {self.now.isoformat()}")
        self.now = now

    def next_release(self) -> datetime | None:
        """When the next step runs if no frame arrives before: its minute's end when it is complete, else its
        deadline; None once the day has stepped through."""
        if self.done:
            return None
        end = self.next_minute + MINUTE
        return end if self._complete(self.next_minute) else end + self.grace

    def _complete(self, minute: datetime) -> bool:
        """Every symbol expected in `minute` has its bar: a minute holds bars of its expected symbols only
        (`offer` takes no other, `remove` drops the removed symbol's), so counting them is enough."""
        held = self._pending.get(minute)
        count = self._expected_counts.get(minute)
        if count is None:
            count = self._expected_counts[minute] = len(self._expected(minute))
        return (len(held.bars) if held is not None else 0) == count

    def advance(self, now: datetime) -> list[Step[F]]:
        """The steps due by `now`, in minute order."""
        self._move_to(now)
        return self._release()

    def _release(self) -> list[Step[F]]:
        steps: list[Step[F]] = []
        while not self.done:
            minute = self.next_minute
            end = minute + MINUTE
            if self.now is None or self.now < end:
                break
            if self._complete(minute):
                steps.append(self._step(minute, max(end, self._completed_at(minute), self._last_at), False))
            elif self.now >= end + self.grace:
                steps.append(self._step(minute, max(end + self.grace, self._last_at), True))
            else:
                break
        return steps

    def _completed_at(self, minute: datetime) -> datetime:
        held = self._pending.get(minute)
        if held is None or not held.bars:
            return minute
        return max(frame.received_at for frame in held.bars.values())

    def _step(self, minute: datetime, at: datetime, by_deadline: bool) -> Step[F]:
        held = self._pending.pop(minute, None)
        bars = held.bars if held is not None else {}
        expected = self._expected(minute)
        gaps = tuple(sorted(symbol for symbol in expected if symbol not in bars))
        for symbol in gaps:
            self._gaps.setdefault(symbol, set()).add(minute)
        self.next_minute = minute + MINUTE
        self._expected_counts.pop(minute, None)
        self._last_at = at
        self.counts.steps += 1
        self.counts.gaps += len(gaps)
        return Step(minute, at, dict(bars), gaps, by_deadline)

    # --- frames -------------------------------------------------------------------------------------------

    def offer(self, frame: F) -> list[Step[F] | LateInput[F]]:
        """What is due once `frame` has arrived: the steps whose deadline passed before it, then what it
        completes or the late input it is."""
        if frame.kind not in ("bar", "updated_bar"):
            raise GateError(f"a {frame.kind} frame does not pass the minute gate (it is recorded on the tape)")
        out: list[Step[F] | LateInput[F]] = list(self.advance(frame.received_at))
        minute = frame.ts
        if minute < self.open or minute >= self.close or minute != minute_of(minute):
            self.counts.outside_session += 1
            return out
        first = self._first.get(frame.symbol)
        if first is None or minute < first:
            self.counts.unsubscribed += 1
            return out
        if minute < self.next_minute:
            out.extend(self._late(frame, minute))
            return out
        held = self._pending.setdefault(minute, _Minute())
        if frame.kind == "updated_bar" or frame.symbol not in held.bars:
            held.bars[frame.symbol] = frame
        else:
            self.counts.duplicates += 1
        out.extend(self._release())
        return out

    def _late(self, frame: F, minute: datetime) -> list[Step[F] | LateInput[F]]:
        if frame.kind == "updated_bar":
            self.counts.corrections += 1
            return [LateInput(frame, "correction")]
        gaps = self._gaps.get(frame.symbol)
        if gaps is not None and minute in gaps:
            gaps.discard(minute)
            self.counts.late += 1
            return [LateInput(frame, "late")]
        self.counts.duplicates += 1
        return []
